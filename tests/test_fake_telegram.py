"""The fake Telegram Bot API behaves like the real one, as seen by a plain HTTP client."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from vinyl_detective.errors import ConfigError
from vinyl_detective.fakes.server import LoopbackServer
from vinyl_detective.fakes.telegram import FakeTelegram

TOKEN = "123456:DEMO-TOKEN"
KEYBOARD = {"inline_keyboard": [[{"text": "Track", "callback_data": "track:v1|286012345678|0"}]]}


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram(TOKEN, clock=lambda: 1_795_341_600.0)


@pytest.fixture
async def client(fake: FakeTelegram) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=fake.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://telegram.test") as c:
        yield c


async def call(client: httpx.AsyncClient, method: str, **params: Any) -> httpx.Response:
    """Post the way python-telegram-bot does: a form, nested values as JSON text."""
    form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    return await client.post(f"/bot{TOKEN}/{method}", data=form)


async def test_form_encoded_send_returns_a_real_message_and_is_recorded(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    response = await call(
        client, "sendMessage", chat_id=42, text="<b>Deal</b> &amp; more", parse_mode="HTML",
        reply_markup=KEYBOARD,
    )  # fmt: skip

    assert response.status_code == 200
    message = response.json()["result"]
    assert message["message_id"] == 1
    assert message["from"]["is_bot"] is True
    assert message["chat"] == {"id": 42, "type": "private", "first_name": "Ann"}
    assert message["date"] == 1_795_341_600
    assert message["text"] == "Deal & more"
    assert message["entities"] == [{"type": "bold", "offset": 0, "length": 4}]
    assert message["reply_markup"] == KEYBOARD
    [sent] = fake.messages_to(42)
    assert sent["text"] == "<b>Deal</b> &amp; more"
    assert sent["parse_mode"] == "HTML"
    assert sent["reply_markup"] == KEYBOARD


async def test_json_bodies_and_query_strings_work_too(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    by_json = await client.post(
        f"/bot{TOKEN}/sendMessage", json={"chat_id": 7, "text": "123", "reply_markup": KEYBOARD}
    )
    by_query = await client.get(f"/bot{TOKEN}/getMe")

    assert by_json.json()["result"]["text"] == "123"
    assert fake.messages_to(7)[0]["reply_markup"] == KEYBOARD
    assert by_query.json()["result"]["username"] == "VinylDetectiveDemoBot"


async def test_numeric_looking_form_text_stays_text(client: httpx.AsyncClient) -> None:
    response = await call(client, "sendMessage", chat_id="42", text="123")

    assert response.json()["result"]["text"] == "123"


@pytest.mark.parametrize(
    "bad_html",
    [
        "<script>alert(1)</script>",
        "<b>bold",
        "<b><i>crossed</b></i>",
        "fish & chips",
        "1 < 2",
        "<a>no href</a>",
        "<span>not a spoiler</span>",
        "stray </b>",
    ],
)
async def test_invalid_html_is_refused_like_telegram(
    client: httpx.AsyncClient, fake: FakeTelegram, bad_html: str
) -> None:
    response = await call(client, "sendMessage", chat_id=42, text=bad_html, parse_mode="HTML")

    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False
    assert body["error_code"] == 400
    assert body["description"].startswith("Bad Request: can't parse entities: ")
    assert fake.sent == []


async def test_every_documented_tag_is_accepted(client: httpx.AsyncClient) -> None:
    text = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>"
        '<strike>k</strike><del>d</del><a href="https://x.example/?a=1&amp;b=2">a</a>'
        '<code>c</code><pre><code class="language-python">p</code></pre>'
        '<blockquote>q</blockquote><tg-spoiler>t</tg-spoiler><span class="tg-spoiler">p</span>'
        " &lt;&gt;&quot;&#39;&#x1F3B5; >"
    )

    response = await call(client, "sendMessage", chat_id=42, text=text, parse_mode="HTML")

    message = response.json()["result"]
    assert message["text"].endswith(" <>\"'🎵 >")
    types = {e["type"] for e in message["entities"]}
    assert types >= {"bold", "italic", "underline", "strikethrough", "text_link", "code", "pre"}
    link = next(e for e in message["entities"] if e["type"] == "text_link")
    assert link["url"] == "https://x.example/?a=1&b=2"
    pre = next(e for e in message["entities"] if e["type"] == "pre")
    assert pre["language"] == "python"


async def test_length_limit_counts_visible_characters(client: httpx.AsyncClient) -> None:
    at_limit = await call(client, "sendMessage", chat_id=42, text="&amp;" * 4096, parse_mode="HTML")
    over = await call(client, "sendMessage", chat_id=42, text="x" * 4097)

    assert at_limit.status_code == 200
    assert over.status_code == 400
    assert over.json()["description"] == "Bad Request: message is too long"


async def test_empty_text_is_refused(client: httpx.AsyncClient) -> None:
    response = await call(client, "sendMessage", chat_id=42, text="<b> </b>", parse_mode="HTML")

    assert response.json()["description"] == "Bad Request: message text is empty"


async def test_callback_data_over_64_bytes_is_refused(client: httpx.AsyncClient) -> None:
    markup = {"inline_keyboard": [[{"text": "Track", "callback_data": "t" * 65}]]}

    response = await call(client, "sendMessage", chat_id=42, text="hi", reply_markup=markup)

    assert response.status_code == 400
    assert response.json()["description"] == "Bad Request: BUTTON_DATA_INVALID"


async def test_wrong_token_and_unknown_method_get_telegram_errors(
    client: httpx.AsyncClient,
) -> None:
    wrong_token = await client.post("/bot999:WRONG/getMe")
    unknown = await client.post(f"/bot{TOKEN}/sendTelepathy")
    no_bot_path = await client.get("/getMe")

    assert wrong_token.status_code == 401
    assert wrong_token.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert no_bot_path.status_code == 404


async def test_injected_429_has_telegrams_shape_then_sending_works_again(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    fake.fail_next("sendMessage", 429, retry_after=7)

    limited = await call(client, "sendMessage", chat_id=42, text="one")
    fine = await call(client, "sendMessage", chat_id=42, text="two")

    assert limited.status_code == 429
    assert limited.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    assert fine.status_code == 200
    assert [m["text"] for m in fake.sent] == ["two"]


async def test_fault_can_repeat(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    fake.fail_next("getMe", 502, times=2)

    statuses = [(await call(client, "getMe")).status_code for _ in range(3)]

    assert statuses == [502, 502, 200]


async def test_a_blocked_chat_gets_403_and_others_still_work(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    fake.block_chat(42)

    blocked = await call(client, "sendMessage", chat_id=42, text="deal")
    other = await call(client, "sendMessage", chat_id=43, text="deal")

    assert blocked.status_code == 403
    assert blocked.json()["description"] == "Forbidden: bot was blocked by the user"
    assert other.status_code == 200


async def test_user_commands_arrive_with_a_bot_command_entity(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    fake.push_message(42, "/add_search blue note", first_name="Ana")

    [update] = (await call(client, "getUpdates")).json()["result"]

    message = update["message"]
    assert message["text"] == "/add_search blue note"
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 11}]
    assert message["from"] == {
        "id": 42, "is_bot": False, "first_name": "Ana", "language_code": "en"
    }  # fmt: skip


async def test_offset_confirms_earlier_updates(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    fake.push_message(42, "/start")
    fake.push_message(42, "/help")

    first = (await call(client, "getUpdates")).json()["result"]
    again = (await call(client, "getUpdates")).json()["result"]
    last_id = first[-1]["update_id"]
    confirmed = (await call(client, "getUpdates", offset=last_id + 1)).json()["result"]

    assert [u["message"]["text"] for u in first] == ["/start", "/help"]
    assert again == first  # not confirmed yet: delivered again
    assert confirmed == []
    assert fake.pending_updates == 0


async def test_limit_and_allowed_updates_are_honoured(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    message_id = fake.push_message(42, "hello")
    fake.push_callback(42, message_id, "track:1")
    fake.push_message(42, "again")

    one = (await call(client, "getUpdates", limit=1)).json()["result"]
    callbacks = (await call(client, "getUpdates", allowed_updates=["callback_query"])).json()[
        "result"
    ]

    assert len(one) == 1
    assert [list(u)[1] for u in callbacks] == ["callback_query"]


async def test_long_poll_returns_as_soon_as_an_update_arrives(fake: FakeTelegram) -> None:
    async with (
        LoopbackServer(fake.app) as base,
        httpx.AsyncClient(base_url=f"{base}/bot{TOKEN}", timeout=15) as client,
    ):
        started = time.monotonic()
        poll = asyncio.create_task(client.get("/getUpdates", params={"timeout": 10}))
        assert await fake.wait_until_async(lambda: "getUpdates" in fake.calls)
        fake.push_message(42, "/start")
        response = await poll
        elapsed = time.monotonic() - started

    assert [u["message"]["text"] for u in response.json()["result"]] == ["/start"]
    assert elapsed < 5


async def test_long_poll_without_updates_waits_for_its_timeout_and_returns_nothing(
    client: httpx.AsyncClient,
) -> None:
    started = time.monotonic()
    response = await client.get(f"/bot{TOKEN}/getUpdates", params={"timeout": "0.2"})

    assert response.json() == {"ok": True, "result": []}
    assert 0.15 < time.monotonic() - started < 2


async def test_button_press_is_answered_once(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    sent = await call(client, "sendMessage", chat_id=42, text="deal", reply_markup=KEYBOARD)
    message_id = sent.json()["result"]["message_id"]
    query_id = fake.push_callback(42, message_id, "track:v1|286012345678|0")

    [update] = (await call(client, "getUpdates")).json()["result"]
    answer = await call(client, "answerCallbackQuery", callback_query_id=query_id, text="Saved")
    twice = await call(client, "answerCallbackQuery", callback_query_id=query_id, text="Saved")

    query = update["callback_query"]
    assert query["id"] == query_id
    assert query["data"] == "track:v1|286012345678|0"
    assert query["message"]["reply_markup"] == KEYBOARD
    assert "chat_instance" in query
    assert answer.json() == {"ok": True, "result": True}
    assert twice.status_code == 400
    assert fake.answered_callbacks[0]["text"] == "Saved"


async def test_edit_reply_markup_without_markup_removes_the_buttons(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    sent = await call(client, "sendMessage", chat_id=42, text="deal", reply_markup=KEYBOARD)
    message_id = sent.json()["result"]["message_id"]

    edited = await call(client, "editMessageReplyMarkup", chat_id=42, message_id=message_id)
    again = await call(client, "editMessageReplyMarkup", chat_id=42, message_id=message_id)
    missing = await call(client, "editMessageReplyMarkup", chat_id=42, message_id=999)

    assert "reply_markup" not in edited.json()["result"]
    assert fake.messages_to(42)[0]["reply_markup"] is None
    assert again.json()["description"].startswith("Bad Request: message is not modified")
    assert missing.json()["description"] == "Bad Request: message to edit not found"


async def test_edit_message_text_validates_and_replaces_the_text(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    sent = await call(client, "sendMessage", chat_id=42, text="old")
    message_id = sent.json()["result"]["message_id"]

    bad = await call(
        client, "editMessageText", chat_id=42, message_id=message_id, text="<p>x</p>",
        parse_mode="HTML",
    )  # fmt: skip
    good = await call(
        client, "editMessageText", chat_id=42, message_id=message_id, text="<i>new</i>",
        parse_mode="HTML",
    )  # fmt: skip

    assert bad.status_code == 400
    assert good.json()["result"]["text"] == "new"
    assert fake.messages_to(42)[0]["text"] == "<i>new</i>"


async def test_bot_commands_are_stored_and_validated(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    commands = [{"command": "add_search", "description": "Watch eBay for a record"}]

    ok = await call(client, "setMyCommands", commands=commands)
    bad = await call(
        client, "setMyCommands", commands=[{"command": "Bad Name", "description": "x"}]
    )
    listed = await call(client, "getMyCommands")

    assert ok.json()["result"] is True
    assert bad.status_code == 400
    assert listed.json()["result"] == commands


async def test_inbox_page_shows_sent_messages_formatted_and_escaped_once(
    client: httpx.AsyncClient,
) -> None:
    await call(client, "sendMessage", chat_id=42, text="<b>Moanin&#x27;</b> &lt;LP&gt;",
               parse_mode="HTML", reply_markup=KEYBOARD)  # fmt: skip
    await call(client, "sendMessage", chat_id=42, text="plain <b> & stuff")

    page = (await client.get("/")).text

    assert "<b>Moanin'</b> &lt;LP&gt;" in page
    assert "plain &lt;b&gt; &amp; stuff" in page
    assert "&amp;lt;" not in page
    assert 'value="track:v1|286012345678|0"' in page


async def test_inbox_forms_let_a_person_write_and_press_buttons(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    sent = await call(client, "sendMessage", chat_id=42, text="deal", reply_markup=KEYBOARD)
    message_id = sent.json()["result"]["message_id"]

    await client.post("/inbox/send", data={"chat_id": "42", "text": "/status"})
    await client.post(
        "/inbox/press", data={"chat_id": "42", "message_id": str(message_id), "data": "track:1"}
    )
    updates = (await call(client, "getUpdates")).json()["result"]

    assert updates[0]["message"]["text"] == "/status"
    assert updates[1]["callback_query"]["data"] == "track:1"


def test_loopback_server_stops_cleanly_even_with_a_long_poll_pending(
    fake: FakeTelegram,
) -> None:
    threads_before = threading.active_count()
    results: list[Any] = []

    server = LoopbackServer(fake.app)
    base = server.start()

    def poll() -> None:
        url = f"{base}/bot{TOKEN}/getUpdates"
        results.append(httpx.get(url, params={"timeout": 30}, timeout=40).json())

    poller = threading.Thread(target=poll)
    poller.start()
    assert fake.wait_until(lambda: "getUpdates" in fake.calls)
    started = time.monotonic()
    server.stop()
    poller.join(5)

    assert time.monotonic() - started < 3
    assert results == [{"ok": True, "result": []}]
    assert not server.running
    assert threading.active_count() == threads_before


def test_loopback_server_gives_each_app_its_own_free_port() -> None:
    with LoopbackServer(FakeTelegram().app) as one, LoopbackServer(FakeTelegram().app) as two:
        assert one != two
        assert httpx.get(f"{one}/bot{TOKEN}/getMe").json()["ok"] is True


def test_loopback_server_on_a_busy_port_says_so() -> None:
    with LoopbackServer(FakeTelegram().app) as base:
        busy_port = int(base.rsplit(":", 1)[1])
        with pytest.raises(ConfigError, match=f"cannot serve on 127.0.0.1:{busy_port}"):
            LoopbackServer(FakeTelegram().app, port=busy_port).start()
