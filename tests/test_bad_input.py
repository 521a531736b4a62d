"""Bad input, the rest of issue 11's part 3: what test_fuzz_inputs.py does not cover.

- A rule over the 4,000-character limit, wherever a user can type one (`rules check`,
  `search add --rule`, `search rule`, `rules global`, GLOBAL_RULE, the bot's
  /add_search and /global_rule): one clear error that says how long it is and what to
  do, never the rule repeated back.
- The bot's commands, answered by the real backend (bot_backend.BotCommands over a real
  database), with any text: a reply, or an error the bot shows as the reply (ValueError,
  VinylDetectiveError); never another exception (the bot's "Sorry, that failed on our
  side"). The same for the deal buttons with any payload, and the purchase price typed
  after "bought".
- Request bodies over the size limit are refused with 413 before they are read, with or
  without the token (an unauthenticated 1 GB POST used to be read and parsed in full).
- Every CLI error is one line, with a non-zero exit code and no traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from tests.marketplace import CHAT_ID, running_market

from vinyl_detective.api.app import create_app
from vinyl_detective.api.limits import MAX_BODY_BYTES
from vinyl_detective.bot_backend import BotCommands
from vinyl_detective.cli import root as cli_module
from vinyl_detective.config import Settings, load_settings
from vinyl_detective.daemon import Daemon
from vinyl_detective.domain.currency import ExchangeRates
from vinyl_detective.domain.models import Listing
from vinyl_detective.domain.rules import parse_rule
from vinyl_detective.errors import (
    ConfigError,
    RuleSyntaxError,
    RuleTooLongError,
    VinylDetectiveError,
)
from vinyl_detective.notify.cards import deal_buttons, parse_callback_data
from vinyl_detective.service import GlobalRule, SearchService
from vinyl_detective.storage import listings
from vinyl_detective.storage.db import open_database
from vinyl_detective.storage.usage import DbCallBudget

Cli = Callable[..., tuple[int, str]]
NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
LONG_RULE = " OR ".join(f'artist = "Artist number {n}"' for n in range(160))  # 4,600 chars
TOO_LONG = f"{len(LONG_RULE):,} characters long, over the limit of 4,000: shorten it"
FUZZ = settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_the_long_rule_is_long() -> None:
    assert len(LONG_RULE) > 4000


# -- a rule over the limit ------------------------------------------------------------


def test_the_parser_says_how_long_the_rule_is_and_what_to_do_without_repeating_it() -> None:
    with pytest.raises(RuleTooLongError) as refused:
        parse_rule(LONG_RULE)
    shown = str(refused.value)
    assert TOO_LONG in shown
    assert "`field in [...]`" in shown  # one way to make it shorter
    assert "Artist number 17" not in shown
    assert len(shown) < 300


def test_a_mistake_deep_in_a_long_rule_is_shown_where_it_is() -> None:
    rule = " AND ".join(["price < 30"] * 100) + " AND pryce < 3"
    with pytest.raises(RuleSyntaxError) as refused:
        parse_rule(rule)
    lines = str(refused.value).splitlines()
    assert len(lines) == 3
    excerpt, pointer = lines[1], lines[2]
    assert len(excerpt) < 90
    assert excerpt[pointer.index("^") :].startswith("pryce")


@pytest.mark.parametrize(
    "args",
    [
        ("rules", "check", LONG_RULE),
        ("search", "add", "miles davis", "--rule", LONG_RULE),
        ("search", "rule", "1", LONG_RULE),
        ("rules", "global", LONG_RULE),
    ],
    ids=["rules check", "search add --rule", "search rule", "rules global"],
)
def test_every_command_taking_a_rule_refuses_a_long_one_in_one_line(
    cli: Cli, args: tuple[str, ...]
) -> None:
    assert cli("search", "add", "kind of blue")[0] == 0  # search #1, for `search rule`
    code, shown = cli(*args)
    assert code != 0
    assert TOO_LONG in shown
    assert len(shown.strip().splitlines()) == 1, shown
    assert "Artist number 17" not in shown
    assert "Traceback" not in shown


def test_a_long_global_rule_in_the_environment_is_refused_saying_why(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"GLOBAL_RULE": LONG_RULE}, env_file=tmp_path / "none.env")
    shown = str(refused.value)
    assert TOO_LONG in shown
    assert f"({len(LONG_RULE):,} characters)" in shown  # the value, cut
    assert "Artist number 17" not in shown


async def test_the_bot_refuses_a_long_rule_saying_what_to_fix(tmp_path: Path) -> None:
    with running_market(tmp_path, NOW) as market:
        daemon = Daemon(market.settings, tick_seconds=0.2)
        stop = asyncio.Event()
        task = asyncio.create_task(daemon.run(stop))
        try:
            before = len(market.telegram.messages_to(CHAT_ID))
            market.telegram.push_message(
                CHAT_ID, f"/add_search miles davis | {LONG_RULE[:4000]} OR x"
            )
            market.telegram.push_message(CHAT_ID, f"/global_rule {LONG_RULE[:4050]}")
            market.telegram.push_message(CHAT_ID, "/my_searches")
            replies = await market.telegram.wait_for_sent_async(
                before + 3, chat_id=CHAT_ID, timeout=20
            )
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=10)
    shown = [str(r["plain_text"]) for r in replies[before:]]
    assert "characters long, over the limit of 4,000: shorten it" in shown[0]
    assert "characters long, over the limit of 4,000: shorten it" in shown[1]
    assert all(len(text) < 400 for text in shown[:2])
    assert shown[2].startswith("No saved searches yet")  # nothing was saved


# -- the bot's commands and buttons, fuzzed, against the real backend -------------------


@dataclass
class Context:
    """The narrow view of the daemon the bot's commands get (bot_backend.BotContext)."""

    settings: Settings
    engine: Engine
    clock: Callable[[], datetime]
    searches: SearchService
    budget: DbCallBudget
    rates: ExchangeRates
    paused_until: datetime | None = None

    def global_rule(self) -> str | None:
        return GlobalRule(self.engine, self.settings.global_rule).get()


ITEM = "v1|286000000001|0"


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotCommands]:
    url = f"sqlite:///{tmp_path_factory.mktemp('bot') / 'vd.db'}"
    engine = open_database(url)
    with engine.begin() as conn:
        listings.insert_new(
            conn,
            Listing(
                item_id=ITEM,
                title="Art Blakey Moanin' LP Blue Note BLP 4003",
                price=Decimal("45.00"),
                currency="USD",
                url="https://www.ebay.com/itm/286000000001",
            ),
            search_id=None,
            now=NOW,
        )
    settings_ = Settings(database_url=url, telegram_allowed_chat_ids=frozenset({CHAT_ID}))
    clock = lambda: NOW  # noqa: E731
    yield BotCommands(
        Context(
            settings=settings_,
            engine=engine,
            clock=clock,
            searches=SearchService(engine, clock),
            budget=DbCallBudget(engine, "ebay", 5000, clock),
            rates=ExchangeRates(),
        )
    )
    engine.dispose()


def answered(call: Callable[[], str]) -> str:
    """What the bot would reply: the text, or the message of an error meant for the user.
    Any other exception fails the test (the bot would apologise for an internal error)."""
    try:
        return call()
    except (VinylDetectiveError, ValueError) as exc:
        return str(exc) or f"an empty {type(exc).__name__}"


ARG = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        [
            "#",
            "#0",
            "-1",
            "99999999999999999999999",
            "1e400",
            "nan",
            "inf",
            "0.3 0.3 0.3",
            "3 nan",
            "| price < 3",
            "blue note |",
            "'; DROP TABLE saved_searches; --",
            'NEAR("blue" "note")',
            "x" * 5000,
        ]
    ),
)


@FUZZ
@given(command=st.sampled_from(["add", "remove", "threshold", "global", "why"]), arg=ARG)
def test_any_command_text_gets_a_reply_or_a_clear_refusal(
    bot: BotCommands, command: str, arg: str
) -> None:
    call = {
        "add": lambda: bot.add_search(CHAT_ID, arg),
        "remove": lambda: bot.remove_search(CHAT_ID, arg),
        "threshold": lambda: bot.set_threshold(CHAT_ID, arg),
        "global": lambda: bot.global_rule(CHAT_ID, arg),
        "why": lambda: bot.why(CHAT_ID, arg),
    }[command]
    assert answered(call)
    with contextlib.suppress(VinylDetectiveError, ValueError):
        bot.global_rule(CHAT_ID, "off")  # the next example starts without one


@FUZZ
@given(data=st.one_of(st.text(max_size=64), st.sampled_from([d for _, d in deal_buttons(ITEM)[0]])))
def test_any_button_payload_gets_an_answer(bot: BotCommands, data: str) -> None:
    parsed = parse_callback_data(data)
    if parsed is None:
        return  # not one of ours: the bot ignores it
    action, ref = parsed
    assert answered(lambda: bot.deal_action(CHAT_ID, action, ref))


@FUZZ
@given(
    price=st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            ["ok", "0", "-5", "1e400", "99999999999999999999999999", "1.2.3", "$42,50", "€ 3"]
        ),
    )
)
def test_any_price_typed_after_bought_gets_an_answer(bot: BotCommands, price: str) -> None:
    asked = answered(lambda: bot.deal_action(CHAT_ID, "bought", ITEM))
    answer = answered(lambda: bot.text_reply(CHAT_ID, price))
    assert asked
    assert answer


# -- request bodies over the limit ------------------------------------------------------


@pytest.fixture
def api(tmp_path: Path) -> Iterator[httpx.AsyncClient]:
    engine = open_database(f"sqlite:///{tmp_path / 'api.db'}")
    app = create_app(engine=engine, admin_token="the-admin-token")
    yield httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://vd")
    engine.dispose()


@pytest.mark.parametrize("token", [None, "the-admin-token"], ids=["no token", "the token"])
async def test_a_body_over_the_limit_is_refused_before_it_is_read(
    api: httpx.AsyncClient, token: str | None
) -> None:
    read = 0

    async def endless() -> object:
        nonlocal read
        chunk = b"[" + b" " * (1 << 20)
        for _ in range(64):  # 64 MiB, sent without a Content-Length
            read += len(chunk)
            yield chunk

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    streamed = await api.post(
        "/webhooks/listings",
        content=endless(),
        headers=headers | {"Content-Type": "application/json"},
    )
    declared = await api.post(
        "/webhooks/listings",
        content=b"[]",
        headers=headers | {"Content-Length": str(MAX_BODY_BYTES + 1)},
    )
    form = await api.post("/login", content=b"token=" + b"x" * (MAX_BODY_BYTES + 10))

    for response in (streamed, declared, form):
        assert response.status_code == 413, response.text
        assert "500 listings a request" in response.json()["detail"]
    assert read <= MAX_BODY_BYTES + 2 * (1 << 20)  # stopped soon after the limit


async def test_a_body_within_the_limit_is_still_read(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/webhooks/listings",
        content=b"[" + b" " * (MAX_BODY_BYTES - 10) + b"]",
        headers={"Authorization": "Bearer the-admin-token", "Content-Type": "application/json"},
    )
    assert response.status_code != 413


# -- every CLI error is one line ----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("search", "add", ""),
        ("search", "remove", "abc"),
        ("search", "remove", "999"),
        ("search", "rule", "999", "price < 3"),
        ("search", "pause", "999"),
        ("search", "schedule", "999", "--min", "5"),
        ("transition", "v1|1|0", "NOT_A_STATE"),
        ("import-dump", "no-such-file.xml.gz"),
        ("import-history", "no-such-export.zip"),
        ("restore", "no-such-backup.db"),
        ("deals", "--state", "nonsense"),
        ("search", "add", "x" * 5000),
    ],
)
def test_a_cli_error_is_one_line_without_a_traceback(cli: Cli, args: tuple[str, ...]) -> None:
    code, shown = cli(*args)
    assert code != 0, shown
    assert "Traceback" not in shown
    assert len(shown.strip().splitlines()) == 1, shown


@pytest.mark.parametrize(
    "args",
    [
        ("search", "add", "miles", "--rule", "price <<< 3"),
        ("rules", "check", ""),
        ("rules", "check", "(" * 100 + "price < 3" + ")" * 100),
        ("rules", "check", " AND ".join(["price < 30"] * 200) + " AND pryce < 3"),
    ],
    ids=["bad operator", "empty", "too deep", "mistake near the end of a long rule"],
)
def test_a_rule_error_is_one_line_and_the_place_it_points_at(
    cli: Cli, args: tuple[str, ...]
) -> None:
    code, shown = cli(*args)
    assert code != 0, shown
    assert "Traceback" not in shown
    message, excerpt, pointer = shown.strip("\n").splitlines()
    assert " at position " in message
    assert len(excerpt) <= 80
    assert pointer.strip() == "^"


def test_garbage_files_given_to_the_importers_are_one_line(cli: Cli, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 64)
    for args in (
        ("import-dump", str(garbage)),
        ("import-history", str(garbage)),
        ("restore", str(garbage)),
    ):
        code, shown = cli(*args)
        assert code != 0, (args, shown)
        assert "Traceback" not in shown, args
        assert len(shown.strip().splitlines()) == 1, (args, shown)


# -- SIGTERM before a command has set its own handling ------------------------------------


@pytest.mark.parametrize("after", [0.0, 0.05, 0.3, 1.5])
def test_a_sigterm_at_any_moment_of_the_start_stops_run_cleanly(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after: float
) -> None:
    # The daemon sets its own handling once its loop runs; before that a SIGTERM used to
    # kill the process where it stood (mid-start: loading, migrating, asking Telegram).
    with running_market(tmp_path, datetime.now(UTC)) as market:
        s = market.settings
        env = {
            "DATABASE_URL": s.database_url,
            "EBAY_API_BASE_URL": s.ebay_api_base_url,
            "EBAY_APP_ID": s.ebay_app_id,
            "EBAY_CERT_ID": s.ebay_cert_id,
            "DISCOGS_API_BASE_URL": s.discogs_api_base_url,
            "DISCOGS_TOKEN": s.discogs_token,
            "TELEGRAM_API_BASE_URL": s.telegram_api_base_url,
            "TELEGRAM_TOKEN": s.telegram_token,
            "TELEGRAM_ALLOWED_CHAT_IDS": str(CHAT_ID),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        timer = threading.Timer(after, os.kill, (os.getpid(), signal.SIGTERM))
        before = signal.getsignal(signal.SIGTERM)
        installed = cli_module._stop_cleanly_on_sigterm

        def then_signal() -> None:  # the clock starts once the command is in charge
            installed()
            timer.start()

        monkeypatch.setattr(cli_module, "_stop_cleanly_on_sigterm", then_signal)
        try:
            code, shown = cli("run")
        finally:
            timer.cancel()
            timer.join()
    assert code == 0, shown
    assert "Traceback" not in shown
    assert signal.getsignal(signal.SIGTERM) == before  # put back as it was
