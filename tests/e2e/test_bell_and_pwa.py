"""The live bell and the installable app in a real browser against the real server: a borrower's
bell counts up when their broker firm withdraws their application (no reload), the list marks
read; the manifest and icons are served, the service worker is registered, controls the page, and
holds the app shell and never an API response."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_PASSWORD, Web

_CACHED_URLS = """async () => {
  const urls = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) urls.push(request.url);
  }
  return urls;
}"""


def _token(server_url: str, email: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    answer = httpx.post(
        f"{server_url}/api/v1/auth/token",
        json={"email": email, "password": password},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _harbor_borrower_with_a_draft(server_url: str, email: str) -> str:
    """A borrower who joined Harbor through the manager's referral link, with a draft
    application; its id."""
    manager = _token(server_url, "manager@harbor.demo")
    referral = httpx.get(f"{server_url}/api/v1/me/referral", headers=manager, timeout=10)
    code = referral.json()["url"].rsplit("ref=", 1)[-1]
    registered = httpx.post(
        f"{server_url}/api/v1/auth/register",
        json={
            "email": email,
            "password": DEMO_PASSWORD,
            "full_name": "Nell Notified",
            "referral_code": code,
        },
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    started = httpx.post(
        f"{server_url}/api/v1/applications",
        json={"product_type": "personal", "amount": "7000.00", "term_months": 24},
        headers=_token(server_url, email),
        timeout=10,
    )
    assert started.status_code == 201, started.text
    application_id: str = started.json()["id"]
    return application_id


def test_the_bell_counts_a_status_change_live_and_the_list_marks_it_read(web: Web) -> None:
    server = web.server.url
    application_id = _harbor_borrower_with_a_draft(server, "nell@example.com")
    page = web.page
    page.goto("/login")
    web.sign_in("nell@example.com")
    expect(page).to_have_url(re.compile(r"/assistant$"))  # a borrower's landing
    bell = page.get_by_role("link", name=re.compile(r"^Notifications: \d+ unread$"))
    expect(bell).to_have_accessible_name("Notifications: 0 unread")
    web.check("bell-quiet")

    # Another person (the firm's manager) moves the application: no reload on this page.
    withdrawn = httpx.post(
        f"{server}/api/v1/applications/{application_id}/withdraw",
        json={"reason": "The client asked us to stop"},
        headers=_token(server, "manager@harbor.demo"),
        timeout=10,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    expect(bell).to_have_accessible_name("Notifications: 1 unread")
    expect(page.get_by_test_id("bell-count")).to_have_text("1")
    expect(page).to_have_url(re.compile(r"/assistant$"))
    web.check("bell-counted")

    bell.click()
    expect(page).to_have_url(re.compile(r"/notifications$"))
    item = page.get_by_role("listitem").filter(has_text="status now “Withdrawn”")
    expect(item).to_be_visible()
    web.check("notifications")
    item.get_by_role("button", name="Mark read").click()
    expect(bell).to_have_accessible_name("Notifications: 0 unread")
    expect(page.get_by_test_id("bell-count")).to_have_count(0)
    expect(item.get_by_role("button", name="Mark read")).to_have_count(0)

    # In Chinese, the same notification is written from its data.
    page.get_by_label("Language").select_option("zh")
    expect(page.get_by_role("link", name=re.compile(r"状态已更新为“已撤回”"))).to_be_visible()
    page.get_by_label("语言").select_option("en")


def test_the_app_is_installable_and_its_service_worker_keeps_only_the_shell(phone: Web) -> None:
    server = phone.server.url
    manifest = httpx.get(f"{server}/manifest.webmanifest", timeout=10)
    assert manifest.status_code == 200
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body: dict[str, Any] = manifest.json()
    assert body["display"] == "standalone"
    assert body["start_url"] == "/"
    sizes = {icon["sizes"] for icon in body["icons"] if icon["type"] == "image/png"}
    assert {"192x192", "512x512"} <= sizes
    for icon in body["icons"]:
        answer = httpx.get(f"{server}{icon['src']}", timeout=10)
        assert answer.status_code == 200, icon
        assert answer.headers["content-type"] == icon["type"]
    worker = httpx.get(f"{server}/sw.js", timeout=10)
    assert worker.headers["cache-control"] == "no-cache"  # a new build's worker is found at once

    page = phone.page
    page.goto("/login")
    expect(page.locator('link[rel="manifest"]')).to_have_attribute("href", "/manifest.webmanifest")
    script = page.evaluate("async () => (await navigator.serviceWorker.ready).active.scriptURL")
    assert script == f"{server}/sw.js"
    page.reload()
    assert page.evaluate("navigator.serviceWorker.controller !== null")

    # Chromium's own verdict on installability (manifest, icons, a controlling worker). The test
    # browser's contexts are incognito ones, which chromium never installs from: that one reason
    # is the browser's, every other would be the app's.
    cdp = page.context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert [e for e in errors if e["errorId"] != "in-incognito"] == [], errors

    phone.sign_in("referred@harbor.demo")
    expect(page).to_have_url(re.compile(r"/assistant$"))
    phone.check("signed-in-375")
    page.get_by_role("link", name=re.compile(r"^Notifications")).click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    phone.check("notifications-375")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the notifications page scrolls sideways by {overflow}px at 375 px"

    # The person's data went through the worker's page and stayed out of its caches.
    cached = page.evaluate(_CACHED_URLS)
    assert any("/assets/" in url for url in cached), cached
    assert f"{server}/index.html" in cached
    assert not [url for url in cached if "/api/" in url or "/v1/" in url], cached

    # Offline, the shell still opens (and says it cannot reach the server).
    page.context.set_offline(True)
    phone.allow_console_error(r"Failed to load resource|ERR_INTERNET_DISCONNECTED|Failed to fetch")
    page.reload()
    expect(page.get_by_role("link", name="Omnifin")).to_be_visible()
    page.context.set_offline(False)
