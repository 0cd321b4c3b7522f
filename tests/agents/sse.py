"""Read Server-Sent Events the way a browser does, for the chat tests."""

from __future__ import annotations

from typing import Any

import httpx
import orjson


def parse_sse(body: str) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    for frame in body.split("\n\n"):
        kind, data = None, []
        for line in frame.splitlines():
            if line.startswith("event:"):
                kind = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data.append(line.removeprefix("data:").strip())
        if kind is not None:
            events.append((kind, orjson.loads("\n".join(data))))
    return events


async def send(
    client: httpx.AsyncClient, token: str, thread_id: str, message: str
) -> list[tuple[str, dict[str, Any]]]:
    response = await client.post(
        f"/api/v1/chat/threads/{thread_id}/runs",
        json={"message": message},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.text)


def reply_text(events: list[tuple[str, dict[str, Any]]]) -> str:
    return " ".join(data["text"] for kind, data in events if kind == "message.completed")
