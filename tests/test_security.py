"""Security checks, as an attacker or a curious onlooker would make them.

* Who may call what: every route of the app, found by walking the app itself (so a new
  route cannot slip past), is refused without the admin token and with a wrong one,
  and the refusal shows none of the data behind it.
* The dashboard's forms: every state-changing route refuses a request without the
  form's CSRF value (a cross-site form cannot read it), whatever cookie comes along;
  the session cookie is HttpOnly, SameSite=Strict, and Secure over https.
* Seller-written text (titles, seller names) and the user's own (search names, rules)
  holding `<script>`, `<b>`, `&` and `@everyone` arrive as text, never as markup: in
  the dashboard, the Telegram card (what the fake Telegram received), the e-mail, the
  Discord card, the Atom feed and the CSV export (where formulas are defused too).
* Secrets (eBay cert id, Discogs token, Telegram bot token, admin token, Apprise URLs'
  passwords and tokens, the events webhook's password and signing secret, a database
  password) appear nowhere: not in the daemon's log at DEBUG, not in `status`, error
  messages, job runs, events or any other row of the database.
* The API listens on 127.0.0.1 unless API_HOST says otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import html
import io
import logging
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import lxml.html
import pytest
from apprise.plugins.discord import NotifyDiscord
from apprise.plugins.email import NotifyEmail
from fastapi import FastAPI
from lxml import etree
from starlette.routing import Mount, Route
from tests.marketplace import CHAT_ID, RELEASES, Market, running_market
from tests.test_apprise_channels import MailBox, WebhookServer, smtp, webhook

from vinyl_detective.api.security import SESSION_COOKIE, csrf_value, session_value
from vinyl_detective.daemon import Daemon
from vinyl_detective.fakes.discogs import FakeDiscogs
from vinyl_detective.fakes.ebay import FakeEbay, make_item
from vinyl_detective.fakes.faults import FaultPlan, discogs_style, ebay_style, with_faults
from vinyl_detective.fakes.server import LoopbackServer
from vinyl_detective.fakes.telegram import FakeTelegram
from vinyl_detective.feeds import feed_name, feed_token
from vinyl_detective.sources.discogs import parse_release
from vinyl_detective.storage import catalog, job_runs, searches
from vinyl_detective.storage.db import open_database

__all__ = ["smtp", "webhook"]  # the local SMTP and webhook peers, used as fixtures here

ADMIN = "security-test-admin-token-4711"
SCRIPT = "<script>alert(1)</script>"
HOSTILE_TITLE = f"{SCRIPT} Art Blakey Moanin' LP Blue Note BLP 4003 & <b>VG+</b> @everyone"
HOSTILE_SELLER = "<script>alert(2)</script>&<b>co</b>"
HOSTILE_NAME = "<b>Blue</b> & <script>alert(3)</script>"
HOSTILE_RULE = 'NOT title contains "<img src=x onerror=alert(4)>"'
HOSTILE_JOB_ERROR = "eBay said: <script>alert(5)</script> & <b>try again</b>"
FORMULA_TITLE = "=cmd|' /C calc'!A0 Miles Davis Kind Of Blue LP Columbia CL 1355"
FORMULA_SELLER = "@SUM(1+1)*cmd|' /C calc'!A0"
HOSTILE_ITEM = "v1|286000000006|0"
FORMULA_ITEM = "v1|286000000007|0"
DISCORD_HOOK = "/api/webhooks/112233/discord-token-abcdef"


# --------------------------------------------------------------------------- a market


@dataclass
class Hostile:
    """A market whose sellers and user write markup, after one run of the daemon."""

    market: Market
    mail: MailBox
    hooks: WebhookServer

    @property
    def db_path(self) -> Path:
        return Path(self.market.settings.database_url.removeprefix("sqlite:///"))


@pytest.fixture
async def hostile(
    tmp_path: Path,
    smtp: tuple[MailBox, int],
    webhook: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Hostile]:
    box, port = smtp
    monkeypatch.setattr(NotifyDiscord, "notify_url", f"http://{webhook.url}/api/webhooks")
    # Apprise waits 5.5 s between two e-mails to spare the SMTP server: not here.
    monkeypatch.setattr(NotifyEmail, "request_rate_per_sec", 0)
    webhook.statuses[DISCORD_HOOK] = 204
    apprise_urls = (
        f"json://{webhook.url}/alerts",
        f"mailto://127.0.0.1:{port}?mode=insecure&from=bot@example.com&to=me@example.com",
        "discord://112233/discord-token-abcdef",
    )
    started = datetime.now(UTC)
    with running_market(tmp_path, started, admin_token=ADMIN, apprise_urls=apprise_urls) as market:
        market.ebay.add_items(
            [
                make_item(
                    6,
                    HOSTILE_TITLE,
                    "30.00",
                    listed_at=started,
                    shipping="5.00",
                    seller=HOSTILE_SELLER,
                ),
                make_item(
                    7,
                    FORMULA_TITLE,
                    "20.00",
                    listed_at=started,
                    shipping="5.00",
                    seller=FORMULA_SELLER,
                ),
            ]
        )
        engine = open_database(market.settings.database_url)
        with engine.begin() as conn:
            catalog.upsert_releases(conn, [parse_release(r) for r in RELEASES], started)
            searches.add_search(
                conn, query="lp", now=started, chat_id=CHAT_ID, name=HOSTILE_NAME, rule=HOSTILE_RULE
            )
            run = job_runs.start_job(conn, "poll", "search:1", started)
            job_runs.finish_job(conn, run, started, error=HOSTILE_JOB_ERROR)
        engine.dispose()
        await Daemon(market.settings).run(once=True)
        yield Hostile(market, box, webhook)


@contextlib.asynccontextmanager
async def served(
    settings: Any, *, base_url: str = "http://vd.test"
) -> AsyncIterator[httpx.AsyncClient]:
    """The daemon's own app (as `serve` wires it), reached in-process."""
    daemon = Daemon(settings, bot_commands=False)
    await daemon.open()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=daemon.api_app()), base_url=base_url
        ) as client:
            yield client
    finally:
        await daemon.close()


@pytest.fixture
async def web(hostile: Hostile) -> AsyncIterator[httpx.AsyncClient]:
    async with served(hostile.market.settings) as client:
        yield client


def signed_in(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.cookies.set(SESSION_COOKIE, session_value(ADMIN))
    return client


def snapshot(db: Path) -> list[str]:
    """Every row of the database, as SQL: equal snapshots, nothing changed."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return list(conn.iterdump())


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


# --------------------------------------------------------------------------- the routes


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # as declared, e.g. /admin/listings/{item_id}


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every route of the app, wherever it was included (mounts as GET of their root)."""

    def walk(routes: list[Any], prefix: str) -> Iterator[Endpoint]:
        for route in routes:
            inner = getattr(route, "original_router", None)  # FastAPI ≥ 0.16x includes lazily
            if inner is not None:
                yield from walk(inner.routes, prefix + route.include_context.prefix)
            elif isinstance(route, Mount):
                yield Endpoint("GET", prefix + route.path + "/")
            elif isinstance(route, Route):
                for method in sorted(route.methods or ()):
                    if method != "HEAD":
                        yield Endpoint(method, prefix + route.path)
            else:
                raise AssertionError(f"a kind of route this test does not know: {route!r}")

    return list(walk(app.routes, ""))


# Open to anyone, and why. Everything else needs the admin token (or a feed's own token).
PUBLIC = {
    Endpoint("GET", "/health"): "monitors; says ok/degraded and nothing about the data",
    Endpoint("GET", "/login"): "the sign-in form",
    Endpoint("POST", "/login"): "signing in (checks the token itself)",
    Endpoint("GET", "/docs"): "Swagger UI of the API (no data)",
    Endpoint("GET", "/docs/oauth2-redirect"): "part of Swagger UI",
    Endpoint("GET", "/openapi.json"): "the API's schema (no data)",
    Endpoint("GET", "/docs-assets/"): "Swagger UI's scripts and styles",
    Endpoint("GET", "/static/"): "the dashboard's stylesheet",
}
PATH_VALUES = {"item_id": HOSTILE_ITEM, "search_id": "1", "release_id": "1001"}
# A plausible body for each route that takes one: the token, not the body, is refused.
BODIES: dict[str, dict[str, Any]] = {
    "/admin/listings/{item_id}/transition": {"json": {"to": "CANCELLED"}},
    "/webhooks/listings": {
        "json": [
            {
                "item_id": "webhook-1",
                "title": "Art Blakey Moanin' LP BLP 4003",
                "price": {"value": "10.00", "currency": "USD"},
            }
        ]
    },
    "/board/{item_id}/transition": {"content": b"to=CANCELLED", "headers": FORM},
}
# Strings only the stored data holds: none may show in a refusal.
PRIVATE = ("Moanin", "Blakey", "286000000006", "alert(2)", "alert(3)", "alert(5)", "Kind Of Blue")


def concrete(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    assert "{" not in path, f"{path}: a new path parameter; give it a value in PATH_VALUES"
    return path


async def call(client: httpx.AsyncClient, endpoint: Endpoint, **extra: Any) -> httpx.Response:
    body = BODIES.get(endpoint.path, {})
    headers = {**body.get("headers", {}), **extra.pop("headers", {})}
    return await client.request(
        endpoint.method,
        concrete(endpoint.path),
        json=body.get("json"),
        content=body.get("content"),
        headers=headers,
        **extra,
    )


def kind(endpoint: Endpoint) -> str:
    if endpoint.path.startswith(("/admin/", "/webhooks/")):
        return "bearer"
    if endpoint.path.startswith("/feeds/"):
        return "feed"
    return "dashboard"


def assert_refused(endpoint: Endpoint, response: httpx.Response, *, statuses: set[int]) -> None:
    where = f"{endpoint.method} {endpoint.path}"
    if kind(endpoint) == "dashboard" and not statuses - {401, 403}:
        # A browser is sent to the sign-in form instead of a bare 401 (a form without
        # its CSRF value is refused before that).
        assert response.status_code in {303, 401, 403}, f"{where}: {response.status_code}"
        if response.status_code == 303:
            assert response.headers["location"].startswith("/login?next="), where
    else:
        assert response.status_code in statuses, f"{where}: {response.status_code}"
    for private in PRIVATE:
        assert private not in response.text, f"{where} shows {private!r} while refusing"
    assert "set-cookie" not in response.headers, where


async def test_every_route_but_the_public_ones_refuses_a_caller_without_the_token(
    hostile: Hostile, web: httpx.AsyncClient
) -> None:
    app = web._transport.app  # type: ignore[attr-defined]
    found = endpoints(app)
    assert set(PUBLIC) <= set(found), "a public route is gone: update PUBLIC"
    guarded = [e for e in found if e not in PUBLIC]
    # The walk sees the routers' routes, not only the app's own.
    assert Endpoint("POST", "/admin/listings/{item_id}/transition") in guarded
    assert Endpoint("POST", "/board/{item_id}/transition") in guarded
    before = snapshot(hostile.db_path)
    for endpoint in guarded:
        expected = {403} if kind(endpoint) == "feed" else {401, 403}
        assert_refused(endpoint, await call(web, endpoint), statuses=expected)
    assert snapshot(hostile.db_path) == before  # nothing changed, nothing ingested


@pytest.mark.parametrize(
    "credentials",
    [
        {"headers": {"Authorization": "Bearer wrong-token"}},
        {"headers": {"Authorization": f"Bearer {ADMIN}x"}},
        {"headers": {"Authorization": f"Bearer {session_value(ADMIN)}"}},  # the cookie's value
        {"headers": {"Authorization": f"Basic {ADMIN}"}},
        {"cookies": {SESSION_COOKIE: "wrong"}},
        {"cookies": {SESSION_COOKIE: ADMIN}},  # the token itself is not a session
        {"params": {"token": ADMIN}},  # nor is it a feed token
    ],
    ids=["wrong", "longer", "cookie-as-bearer", "basic", "bad-cookie", "token-cookie", "query"],
)
async def test_every_guarded_route_refuses_a_wrong_token(
    hostile: Hostile, web: httpx.AsyncClient, credentials: dict[str, Any]
) -> None:
    guarded = [e for e in endpoints(web._transport.app) if e not in PUBLIC]  # type: ignore[attr-defined]
    before = snapshot(hostile.db_path)
    for endpoint in guarded:
        cookies = credentials.get("cookies")
        web.cookies.clear()
        if cookies:
            web.cookies.update(cookies)
        response = await call(
            web,
            endpoint,
            headers=credentials.get("headers", {}),
            params=credentials.get("params"),
        )
        if kind(endpoint) == "bearer":
            has_bearer = "Bearer " in credentials.get("headers", {}).get("Authorization", "")
            expected = {403} if has_bearer else {401}
        elif kind(endpoint) == "feed":
            expected = {403}
        else:
            expected = {401, 403}
        assert_refused(endpoint, response, statuses=expected)
    assert snapshot(hostile.db_path) == before


async def test_a_feed_token_opens_its_feed_and_nothing_else(
    hostile: Hostile, web: httpx.AsyncClient
) -> None:
    engine = open_database(hostile.market.settings.database_url)
    with engine.begin() as conn:
        token = feed_token(conn, feed_name(None))
    engine.dispose()
    assert (await web.get("/feeds/deals.atom", params={"token": token})).status_code == 200
    for endpoint in endpoints(web._transport.app):  # type: ignore[attr-defined]
        if endpoint in PUBLIC or endpoint.path == "/feeds/deals.atom":
            continue
        as_bearer = await call(web, endpoint, headers={"Authorization": f"Bearer {token}"})
        as_query = await call(web, endpoint, params={"token": token})
        bearer_status = {403} if kind(endpoint) == "bearer" else {401, 403}
        assert_refused(endpoint, as_bearer, statuses=bearer_status)
        query_status = {401} if kind(endpoint) == "bearer" else {401, 403}
        assert_refused(endpoint, as_query, statuses=query_status)


async def test_without_an_admin_token_set_nothing_guarded_opens(hostile: Hostile) -> None:
    from dataclasses import replace

    settings = replace(hostile.market.settings, admin_token=None)
    async with served(settings) as client:
        for endpoint in endpoints(client._transport.app):  # type: ignore[attr-defined]
            if endpoint in PUBLIC:
                continue
            for auth in ({}, {"Authorization": f"Bearer {ADMIN}"}, {"Authorization": "Bearer "}):
                response = await call(client, endpoint, headers=auth)
                where = f"{endpoint.method} {endpoint.path}"
                expected = {403} if kind(endpoint) in ("feed", "dashboard") else set()
                assert response.status_code in {503} | expected, where
                assert not any(p in response.text for p in PRIVATE), where


async def test_the_public_routes_show_no_data(hostile: Hostile, web: httpx.AsyncClient) -> None:
    for endpoint in PUBLIC:
        if endpoint.method != "GET" or endpoint.path.endswith("/"):
            continue
        response = await web.get(endpoint.path)
        assert response.status_code == 200, endpoint
        for private in PRIVATE:
            assert private not in response.text, f"{endpoint.path} shows {private!r}"


# --------------------------------------------------------------------------- CSRF


# A valid form for every state-changing dashboard route (CSRF value added by the test).
DASHBOARD_FORMS = {
    "/logout": {},
    "/deals/{item_id}/track": {},
    "/board/{item_id}/transition": {"to": "CANCELLED", "reason": "csrf test"},
    "/searches/{search_id}/run": {},
}
FORM_ITEM = {"/deals/{item_id}/track": "v1|286000000002|0"}  # a listing nobody tracks yet


def dashboard_posts(app: FastAPI) -> list[Endpoint]:
    return [
        e
        for e in endpoints(app)
        if e.method != "GET" and kind(e) == "dashboard" and e not in PUBLIC
    ]


def form_path(endpoint: Endpoint) -> str:
    item = FORM_ITEM.get(endpoint.path)
    path = endpoint.path.replace("{item_id}", quote(item, safe="")) if item else endpoint.path
    return concrete(path)


async def test_every_state_changing_dashboard_route_needs_the_forms_csrf_value(
    hostile: Hostile, web: httpx.AsyncClient
) -> None:
    posts = dashboard_posts(web._transport.app)  # type: ignore[attr-defined]
    assert posts, "no dashboard form route found: the walk is broken"
    for endpoint in posts:
        assert endpoint.path in DASHBOARD_FORMS, f"{endpoint.path}: add a valid form here"
    signed_in(web)
    for endpoint in posts:
        fields = DASHBOARD_FORMS[endpoint.path]
        for csrf in (None, "", "0" * 64, csrf_value("another-token"), session_value(ADMIN)):
            before = snapshot(hostile.db_path)
            form = fields if csrf is None else {**fields, "csrf": csrf}
            response = await web.post(form_path(endpoint), content=urlencode(form), headers=FORM)
            where = f"POST {endpoint.path} with csrf={csrf!r}"
            assert response.status_code == 403, where
            assert "expired" in response.text, where
            assert "set-cookie" not in response.headers, where  # e.g. still signed in
            assert snapshot(hostile.db_path) == before, where
    # The same forms with the page's own value go through: the refusals were the CSRF's.
    for endpoint in sorted(posts, key=lambda e: e.path == "/logout"):
        form = {**DASHBOARD_FORMS[endpoint.path], "csrf": csrf_value(ADMIN)}
        response = await web.post(form_path(endpoint), content=urlencode(form), headers=FORM)
        assert response.status_code == 303, f"POST {endpoint.path}: {response.text[:300]}"


async def test_every_form_the_dashboard_shows_carries_the_csrf_value(
    hostile: Hostile, web: httpx.AsyncClient
) -> None:
    signed_in(web)
    pages = ["/", "/?show=all", "/board", "/jobs", "/searches", "/releases/1001"]
    pages.append(f"/listings/{quote(HOSTILE_ITEM, safe='')}/why")
    posts = {e.path for e in dashboard_posts(web._transport.app)}  # type: ignore[attr-defined]
    seen_actions = set()
    for page in pages:
        before = snapshot(hostile.db_path)
        response = await web.get(page)
        assert response.status_code == 200, page
        assert snapshot(hostile.db_path) == before, f"GET {page} changed something"
        document = lxml.html.fromstring(response.text)
        for form in document.iter("form"):
            if (form.get("method") or "get").lower() != "post":
                continue
            values = {i.get("name"): i.get("value") for i in form.iter("input")}
            assert values.get("csrf") == csrf_value(ADMIN), f"{page}: {form.get('action')}"
            seen_actions.add(form.get("action"))
    assert "/logout" in seen_actions
    shown = {a.split("/")[1] for a in seen_actions if a}
    assert shown <= {p.split("/")[1] for p in posts}  # every form posts to a checked route


async def test_the_session_cookie_is_http_only_strict_and_secure_over_https(
    hostile: Hostile,
) -> None:
    for scheme in ("http", "https"):
        async with served(hostile.market.settings, base_url=f"{scheme}://vd.test") as client:
            response = await client.post(
                "/login", content=urlencode({"token": ADMIN, "next": "/jobs"}), headers=FORM
            )
        assert response.status_code == 303
        cookie = response.headers["set-cookie"]
        attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert ADMIN not in cookie
        assert {"httponly", "samesite", "path", "max-age"} <= attributes
        assert "samesite=strict" in cookie.lower()
        assert ("secure" in attributes) is (scheme == "https"), scheme


async def test_a_wrong_sign_in_sets_no_cookie(hostile: Hostile, web: httpx.AsyncClient) -> None:
    response = await web.post(
        "/login", content=urlencode({"token": "guess", "next": "/"}), headers=FORM
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert "guess" not in response.text


# --------------------------------------------------------------------------- escaping


def flat(text: str) -> str:
    return " ".join(text.split())


def card_for(hostile: Hostile, legacy_id: str) -> dict[str, Any]:
    (card,) = [c for c in hostile.market.cards() if legacy_id in c["text"]]
    return card


def assert_no_markup_from_sellers(document: Any, where: str) -> None:
    """No element or attribute that seller or user text could have made."""
    assert not document.xpath("//script"), f"{where}: a <script> element"
    assert not document.xpath("//img[@src='x']"), f"{where}: an <img> from a rule"
    assert not document.xpath("//@*[starts-with(name(), 'on')]"), f"{where}: an on… handler"
    bold = [flat(b.text_content()) for b in document.xpath("//b | //strong")]
    for made in ("VG+", "co", "Blue", "try again"):
        assert made not in bold, f"{where}: {made!r} in bold, from someone's <b>"


def test_the_telegram_card_shows_seller_markup_as_text(hostile: Hostile) -> None:
    card = card_for(hostile, "286000000006")
    assert card["parse_mode"] == "HTML"
    # What the chat shows (Telegram parsed the HTML): the seller's text, character for
    # character; what was sent: that text escaped, never a tag of theirs.
    assert flat(HOSTILE_TITLE) in flat(card["plain_text"])
    assert HOSTILE_SELLER in card["plain_text"]
    assert "<script>" not in card["text"]
    assert "<b>VG+</b>" not in card["text"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card["text"]
    # How Telegram renders it (its own reading of the entities): no bold of theirs.
    rendered = lxml.html.fragment_fromstring(card["html"], create_parent="div")
    assert_no_markup_from_sellers(rendered, "Telegram")


def test_the_email_shows_seller_markup_as_text(hostile: Hostile) -> None:
    parts = [(m.get_body(("html",)), m.get_body(("plain",))) for m in hostile.mail.messages()]
    (html_part, plain_part) = next(
        (h, p) for h, p in parts if h is not None and "286000000006" in h.get_content()
    )
    assert plain_part is not None
    page = lxml.html.fromstring(html_part.get_content())
    assert_no_markup_from_sellers(page, "e-mail")
    assert flat(HOSTILE_TITLE) in flat(page.text_content())
    assert HOSTILE_SELLER in page.text_content()
    assert flat(HOSTILE_TITLE) in flat(html.unescape(plain_part.get_content()))


def test_the_discord_and_webhook_cards_show_seller_text_as_text(hostile: Hostile) -> None:
    (discord,) = [
        r.json()["content"]
        for r in hostile.hooks.at(DISCORD_HOOK)
        if "286000000006" in r.json()["content"]
    ]
    assert "@everyone" not in discord  # no mass mention from a title
    assert "@\u200beveryone" in discord
    assert "\\<script\\>alert\\(1\\)" in discord  # Discord shows it as typed
    (posted,) = [
        r.json() for r in hostile.hooks.at("/alerts") if "286000000006" in r.json()["message"]
    ]
    assert flat(HOSTILE_TITLE) in flat(posted["message"])  # plain text: the text itself


DASHBOARD_PAGES = (
    "/",
    "/board",
    "/searches",
    "/jobs",
    f"/listings/{quote(HOSTILE_ITEM, safe='')}/why",
    "/releases/1001",
)


async def test_the_dashboard_shows_seller_and_user_markup_as_text(
    hostile: Hostile, web: httpx.AsyncClient
) -> None:
    signed_in(web)
    texts = {}
    for page in DASHBOARD_PAGES:
        response = await web.get(page)
        assert response.status_code == 200, page
        assert "<script" not in response.text.lower(), page
        document = lxml.html.fromstring(response.text)
        assert_no_markup_from_sellers(document, page)
        texts[page] = flat(document.text_content())
    for page in ("/", DASHBOARD_PAGES[4], "/releases/1001", "/board"):
        assert flat(HOSTILE_TITLE) in texts[page], page
    assert HOSTILE_SELLER in texts["/"]
    assert flat(HOSTILE_NAME) in texts["/searches"]
    assert flat(HOSTILE_RULE) in texts["/searches"]
    assert flat(HOSTILE_JOB_ERROR) in texts["/jobs"]


async def test_the_atom_feed_shows_seller_markup_as_text(
    hostile: Hostile, web: httpx.AsyncClient
) -> None:
    engine = open_database(hostile.market.settings.database_url)
    with engine.begin() as conn:
        tokens = [feed_token(conn, feed_name(None)), feed_token(conn, feed_name(1))]
    engine.dispose()
    atom = "{http://www.w3.org/2005/Atom}"
    for path, token in zip(("/feeds/deals.atom", "/feeds/searches/1.atom"), tokens, strict=True):
        response = await web.get(path, params={"token": token})
        assert response.status_code == 200, path
        feed = etree.fromstring(response.content)  # well-formed XML
        (entry,) = [
            e
            for e in feed.iter(f"{atom}entry")
            if "286000000006" in (e.findtext(f"{atom}id") or "")
            or "286000000006" in etree.tostring(e).decode()
        ]
        shown = " ".join(entry.findtext(f"{atom}{tag}") or "" for tag in ("title", "summary"))
        assert flat(HOSTILE_TITLE) in flat(shown), path
        content = entry.find(f"{atom}content")
        assert content is not None
        assert content.get("type") == "html"
        body = lxml.html.fragment_fromstring(content.text or "", create_parent="div")
        assert_no_markup_from_sellers(body, path)
        assert flat(HOSTILE_TITLE) in flat(body.text_content()), path


async def test_the_csv_export_keeps_text_and_defuses_formulas(
    hostile: Hostile, web: httpx.AsyncClient
) -> None:
    signed_in(web)
    response = await web.get("/export/deals.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    by_item = {row["item_id"]: row for row in rows}
    assert by_item[HOSTILE_ITEM]["listing_title"] == HOSTILE_TITLE
    assert by_item[FORMULA_ITEM]["listing_title"] == "'" + FORMULA_TITLE
    assert by_item[FORMULA_ITEM]["seller"] == "'" + FORMULA_SELLER
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), (column, cell)
    flips = await web.get("/export/flips.csv")
    assert flips.status_code == 200


async def test_bot_replies_show_user_markup_as_text(hostile: Hostile) -> None:
    market = hostile.market
    daemon = Daemon(market.settings, tick_seconds=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    try:
        before = len(market.telegram.messages_to(CHAT_ID))
        market.telegram.push_message(
            CHAT_ID, '/add_search <b>miles</b> & <script>x</script> | NOT title contains "<i>"'
        )
        market.telegram.push_message(CHAT_ID, "/my_searches")
        market.telegram.push_message(CHAT_ID, "/why 286000000006")
        replies = await market.telegram.wait_for_sent_async(before + 3, chat_id=CHAT_ID, timeout=20)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    shown = [flat(r["plain_text"]) for r in replies[before:]]
    assert shown[0].startswith("Saved search #2: <b>miles</b> & <script>x</script>")
    assert 'Rule: NOT title contains "<i>"' in shown[0]
    assert f"#1 lp | {HOSTILE_RULE}" in shown[1]
    assert '#2 <b>miles</b> & <script>x</script> | NOT title contains "<i>"' in shown[1]
    assert flat(HOSTILE_TITLE) in shown[2]
    assert f"seller {HOSTILE_SELLER}" in shown[2]
    for reply in replies[before:]:
        assert "<script>" not in reply["text"]


# --------------------------------------------------------------------------- secrets

# Every secret holds "hush": none may show anywhere, however it is cut or wrapped.
MARK = "hush"
TELEGRAM_SECRET = "123456:AAhush-telegram-bot-6621"
SECRET_ENV = {
    "EBAY_APP_ID": "app-id-4242",  # an identifier, not a secret
    "EBAY_CERT_ID": "cert-hush-ebay-8841",
    "DISCOGS_TOKEN": "discogs-hush-token-7731",
    "TELEGRAM_TOKEN": TELEGRAM_SECRET,
    "ADMIN_TOKEN": "admin-hush-5511",
    "EVENTS_WEBHOOK_SECRET": "events-hush-signing-8811",
}
FAST_FAULTS = ("server_error", "bad_gateway", "unavailable", "dropped", "truncated", "not_json")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def console(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """The console script in its own process: its exit code and everything it printed."""
    script = Path(sys.executable).with_name("vinyl-detective")
    done = subprocess.run(  # noqa: S603 - our own console script, arguments from the test
        [str(script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def rows_of(db: Path, *, skip: set[tuple[str, str]]) -> str:
    """Every text value in every table of the database, but the columns in `skip`."""
    out = []
    with contextlib.closing(sqlite3.connect(db)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            names = [d[0] for d in cursor.description]
            for row in cursor:
                out += [str(v) for n, v in zip(names, row, strict=True) if (table, n) not in skip]
    return "\n".join(out)


@pytest.fixture
def failing_world(tmp_path: Path, webhook: WebhookServer) -> Iterator[dict[str, str]]:
    """Fakes that fail a quarter of their requests, a Telegram that will not take alerts,
    an Apprise webhook and an events webhook answering 500: every error path runs. The
    environment of a live install with secrets everywhere."""
    started = datetime.now(UTC)
    plan = FaultPlan(rate=0.25, seed=11, kinds=FAST_FAULTS)
    ebay = FakeEbay(
        [
            make_item(
                1, "Art Blakey Moanin' LP Blue Note BLP 4003 VG+", "45.00", listed_at=started
            ),
            make_item(3, "Miles Davis - Kind of Blue LP 6-eye VG+", "40.00", listed_at=started),
        ],
        app_id=SECRET_ENV["EBAY_APP_ID"],
        cert_id=SECRET_ENV["EBAY_CERT_ID"],
    )
    from tests.marketplace import PRICES

    discogs = FakeDiscogs(RELEASES, price_suggestions=PRICES, token=SECRET_ENV["DISCOGS_TOKEN"])
    telegram = FakeTelegram(TELEGRAM_SECRET)
    telegram.fail_next("sendMessage", 502, times=1000)
    servers = [
        LoopbackServer(with_faults(ebay.app, plan, ebay_style(ebay))),
        LoopbackServer(with_faults(discogs.app, plan, discogs_style())),
        LoopbackServer(telegram.app),
    ]
    urls = [server.start() for server in servers]
    for path in ("/alerts/path-hush-3311", "/chan", "/events"):
        webhook.statuses[path] = 500
    db = tmp_path / "vd.db"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "200",
        "DATABASE_URL": f"sqlite:///{db}",
        "EBAY_API_BASE_URL": urls[0],
        "DISCOGS_API_BASE_URL": urls[1],
        "TELEGRAM_API_BASE_URL": urls[2],
        "TELEGRAM_ALLOWED_CHAT_IDS": str(CHAT_ID),
        "APPRISE_URLS": " ".join(
            (
                f"json://hookuser:hook-hush-pw-4411@{webhook.url}/alerts/path-hush-3311",
                f"mailtos://mailuser:mail-hush-pw-2211@127.0.0.1:{free_port()}?to=me@example.com&from=bot@example.com",
                "discord://112233/discord-hush-token-1111",
            )
        ),
        "EVENTS_URL": f"http://eventuser:events-hush-pw-9911@{webhook.url}/events",
        "LOG_LEVEL": "DEBUG",
        "USER_AGENT": "VinylDetectiveSecurityTests/1.0",
        **SECRET_ENV,
    }
    engine = open_database(env["DATABASE_URL"])
    with engine.begin() as conn:
        catalog.upsert_releases(conn, [parse_release(r) for r in RELEASES], started)
    engine.dispose()
    try:
        yield env
    finally:
        for server in servers:
            server.stop()


def test_no_secret_shows_in_the_log_status_errors_job_runs_or_events(
    tmp_path: Path, failing_world: dict[str, str], webhook: WebhookServer
) -> None:
    env = failing_world
    channel = f"json://chanuser:chan-hush-pw-7711@{webhook.url}/chan"
    code, added = console("search", "add", "lp", "--notify", channel, env=env, cwd=tmp_path)
    assert code == 0, added
    code, ran = console("run", "--once", env=env, cwd=tmp_path)
    assert code == 0, ran[-3000:]
    # The run went through the error paths this test is about.
    assert "will be retried" in ran  # alerts to Telegram and the webhooks failed
    assert "events:" in ran  # the events webhook failed
    assert webhook.at("/alerts/path-hush-3311")  # Apprise did post (and got a 500)
    code, status = console("status", env=env, cwd=tmp_path)
    assert code == 0, status
    code, listed = console("search", "list", env=env, cwd=tmp_path)
    assert code == 0, listed
    for name, shown in (("search add", added), ("run", ran), ("status", status)):
        assert MARK not in shown.lower(), f"{name} shows a secret:\n" + "\n".join(
            line for line in shown.splitlines() if MARK in line.lower()
        )
    assert MARK not in listed.lower()
    # The database keeps what the daemon needs (a search's own channel URL), nothing else:
    # not in job runs, alert errors, events, their delivery errors, or anywhere.
    db = Path(env["DATABASE_URL"].removeprefix("sqlite:///"))
    stored = rows_of(db, skip={("saved_searches", "channels")})
    leaks = [line for line in stored.splitlines() if MARK in line.lower()]
    assert not leaks, leaks[:5]
    assert "502" in stored or "Bad Gateway" in stored  # the failed alerts' errors are there


@pytest.mark.parametrize("command", [("status",), ("run", "--once"), ("search", "list")])
def test_a_database_password_never_shows_in_what_a_command_prints(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"postgresql+psycopg://vd:db-hush-pw-6611@127.0.0.1:{free_port()}/vd",
        "TELEGRAM_ALLOWED_CHAT_IDS": str(CHAT_ID),
        **SECRET_ENV,
    }
    code, shown = console(*command, env=env, cwd=tmp_path)
    assert code != 0
    assert "127.0.0.1" in shown  # it says which database it could not reach
    assert MARK not in shown.lower(), shown


def test_a_secret_in_an_error_is_masked_in_the_logged_traceback_too(
    capfd: pytest.CaptureFixture[str],
) -> None:
    from vinyl_detective.logs import setup_logging

    setup_logging("INFO", secrets=(SECRET_ENV["DISCOGS_TOKEN"], TELEGRAM_SECRET))
    log = logging.getLogger("vinyl_detective.test")
    try:
        raise RuntimeError(f"GET https://api.telegram.org/bot{TELEGRAM_SECRET}/getMe failed")
    except RuntimeError:
        log.exception("refresh failed with token %s", SECRET_ENV["DISCOGS_TOKEN"])
    log.warning("retrying", exc_info=ValueError(f"token={SECRET_ENV['DISCOGS_TOKEN']}"))
    printed = capfd.readouterr().err
    assert "refresh failed with token ***" in printed
    assert "RuntimeError: GET https://api.telegram.org/bot***/getMe failed" in printed
    assert MARK not in printed.lower(), printed


# --------------------------------------------------------------------------- listening


def outward_address() -> str | None:
    """This machine's address on its network (not loopback), if it has one."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))  # UDP: nothing is sent, a route is only chosen
        address = str(s.getsockname()[0])
        return None if address.startswith("127.") else address
    return None


@contextlib.asynccontextmanager
async def serving(market: Market, caplog: pytest.LogCaptureFixture) -> AsyncIterator[int]:
    """`serve` on a free port, as the daemon runs it; yields the port it announced."""
    caplog.set_level(logging.INFO, logger="vinyl_detective")
    caplog.clear()
    stop = asyncio.Event()
    daemon = Daemon(market.settings, bot_commands=False)
    task = asyncio.create_task(daemon.run(stop, api_port=0, poll=False))
    try:
        for _ in range(200):
            announced = [r.getMessage() for r in caplog.records if "admin API" in r.getMessage()]
            if announced or task.done():
                break
            await asyncio.sleep(0.05)
        assert announced, "the daemon never said where it serves"
        yield int(announced[0].rstrip("/").rsplit(":", 1)[1])
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


async def test_the_api_listens_on_loopback_only_unless_api_host_says_otherwise(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outside = outward_address()
    with running_market(tmp_path, datetime.now(UTC), admin_token=ADMIN) as market:
        assert market.settings.api_host == "127.0.0.1"  # the default
        async with serving(market, caplog) as port, httpx.AsyncClient() as http:
            assert "on http://127.0.0.1:" in caplog.text
            assert (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 200
            if outside is not None:
                with pytest.raises(httpx.ConnectError):
                    await http.get(f"http://{outside}:{port}/health")
            # Behind a TLS proxy on this machine (X-Forwarded-Proto from 127.0.0.1), the
            # session cookie is marked Secure.
            signed = await http.post(
                f"http://127.0.0.1:{port}/login",
                content=urlencode({"token": ADMIN, "next": "/"}),
                headers={**FORM, "X-Forwarded-Proto": "https"},
            )
            assert signed.status_code == 303
            assert "secure" in signed.headers["set-cookie"].lower()
        if outside is None:
            pytest.skip("no address besides loopback here: the 0.0.0.0 half cannot be seen")
    from dataclasses import replace

    with running_market(tmp_path / "all", datetime.now(UTC), admin_token=ADMIN) as market:
        market.settings = replace(market.settings, api_host="0.0.0.0")
        async with serving(market, caplog) as port, httpx.AsyncClient() as http:
            assert (await http.get(f"http://{outside}:{port}/health")).status_code == 200
