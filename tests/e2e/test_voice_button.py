"""The chat's voice button in chromium with fake media devices: the token request names the
conversation on screen, the button shows it is connecting and then a clear error (no LiveKit
server exists here, so the room cannot be reached), and on a platform without voice the API's
503 turns the button into "not configured"."""

from __future__ import annotations

import json
import re

import httpx
from playwright.sync_api import Route, expect

from tests.e2e.conftest import DEMO_PASSWORD, LiveServer, Web

_RECORD_STATES = """
window.__voiceStates = [];
new MutationObserver(() => {
  const line = document.querySelector(".voice [role=status]");
  const state = line && line.getAttribute("data-state");
  const seen = window.__voiceStates;
  if (state && seen[seen.length - 1] !== state) seen.push(state);
}).observe(document, { subtree: true, childList: true, attributes: true });
"""


def _borrower_with_thread(server: LiveServer, email: str) -> str:
    registered = httpx.post(
        f"{server.url}/api/v1/auth/register",
        json={"email": email, "password": DEMO_PASSWORD, "full_name": "Vera Voice"},
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    token = httpx.post(
        f"{server.url}/api/v1/auth/token",
        json={"email": email, "password": DEMO_PASSWORD},
        timeout=10,
    ).json()["access_token"]
    created = httpx.post(
        f"{server.url}/api/v1/chat/threads",
        json={"channel": "web"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    thread_id: str = created.json()["id"]
    return thread_id


def test_voice_button_asks_for_this_thread_then_says_the_room_cannot_be_reached(
    voice_web: Web,
) -> None:
    web = voice_web
    thread_id = _borrower_with_thread(web.server, "vera@example.com")
    # The room's address is a closed port: chromium reports the refused WebSocket (and LiveKit
    # its failed attempt) as console errors.
    web.allow_console_error(r"WebSocket|websocket|rtc|signal|could not establish|ConnectionError")
    web.allow_console_error(r"Failed to load resource")
    page = web.page
    # Every state the button's status line passes through, in order (connecting may be brief).
    page.add_init_script(_RECORD_STATES)
    page.goto("/login")
    web.sign_in("vera@example.com")
    expect(page).to_have_url(re.compile(r"/assistant$"))  # a borrower's landing
    page.goto(f"/assistant/{thread_id}")
    button = page.get_by_role("button", name="Voice")
    expect(button).to_be_enabled()
    status = page.locator(".voice").get_by_role("status")

    with page.expect_request("**/api/v1/voice/sessions") as asked:
        with page.expect_response("**/api/v1/voice/sessions") as answered:
            button.click()
    request = asked.value
    assert request.method == "POST"
    assert json.loads(request.post_data or "{}") == {"thread_id": thread_id}
    response = answered.value
    assert response.status == 201
    grant = response.json()
    assert grant["room"] == f"omnifin-thread-{thread_id}"
    assert grant["thread_id"] == thread_id
    assert grant["url"].startswith("ws://127.0.0.1:")

    expect(status).to_have_text(
        "Could not reach the voice service. Please try again later.", timeout=30_000
    )
    expect(status).to_have_attribute("data-state", "error")
    expect(button).to_be_enabled()
    expect(page.get_by_role("button", name="Hang up")).to_have_count(0)
    states = page.evaluate("window.__voiceStates")
    assert states == ["idle", "starting", "connecting", "error"], states
    web.check("voice-unreachable")


def test_voice_button_says_voice_is_not_configured(web: Web) -> None:
    """The platform without voice: /me is made to offer the button (it would not), and the
    server's real 503 for the token turns it into a disabled "not configured"."""
    thread_id = _borrower_with_thread(web.server, "nova@example.com")
    web.allow_console_error(r"status of 503")

    def offer_voice(route: Route) -> None:
        answer = route.fetch()
        body = answer.json()
        body["voice_enabled"] = True
        route.fulfill(response=answer, json=body)

    page = web.page
    page.route("**/api/v1/me", offer_voice)
    page.goto("/login")
    web.sign_in("nova@example.com")
    expect(page).to_have_url(re.compile(r"/assistant$"))  # a borrower's landing
    page.goto(f"/assistant/{thread_id}")
    button = page.get_by_role("button", name="Voice")
    with page.expect_response("**/api/v1/voice/sessions") as answered:
        button.click()
    assert answered.value.status == 503
    status = page.locator(".voice").get_by_role("status")
    expect(status).to_have_text("Voice is not configured on this platform.")
    expect(button).to_be_disabled()
    web.check("voice-not-configured")
