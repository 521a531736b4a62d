"""`vinyl-detective test-alert` as a user runs it: the fake Telegram and loopback webhooks
receive the sample card, and the command says per channel what worked and what to fix."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from tests.test_apprise_channels import WebhookServer, webhook  # noqa: F401  (fixture)

from vinyl_detective.fakes.server import LoopbackServer
from vinyl_detective.fakes.telegram import FakeTelegram
from vinyl_detective.storage.db import open_database
from vinyl_detective.storage.schema import alert_log

Cli = Callable[..., tuple[int, str]]
TOKEN = "123456:TEST-ALERT-TOKEN"
HOOK_SECRET = "Hk7q2ZpX9w"


@pytest.fixture
def telegram() -> Iterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram(TOKEN)
    with LoopbackServer(fake.app) as base_url:
        yield fake, base_url


@pytest.fixture
def cli(
    tmp_path: object, run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[int, str]]:
    monkeypatch.chdir(str(tmp_path))  # no .env here
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/vd.db")
    monkeypatch.setenv("COLUMNS", "200")
    return run_cli


def _no_alert_recorded(tmp_path: object) -> bool:
    engine = open_database(f"sqlite:///{tmp_path}/vd.db")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(alert_log)).scalar()
    engine.dispose()
    return rows == 0


def test_every_channel_gets_the_sample_card_and_is_reported_delivered(
    cli: Callable[..., tuple[int, str]],
    telegram: tuple[FakeTelegram, str],
    webhook: WebhookServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: object,
) -> None:
    fake, base_url = telegram
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", base_url)
    monkeypatch.setenv("TELEGRAM_ALLOWED_CHAT_IDS", "4242,555")
    monkeypatch.setenv("APPRISE_URLS", f"json://{webhook.url}/global/{HOOK_SECRET}")
    code, saved = cli(
        "search", "add", "blue note", "--notify", f"json://{webhook.url}/mine?vd_digest=daily"
    )
    assert code == 0, saved

    code, output = cli("test-alert")

    assert code == 0, output
    lines = output.splitlines()
    assert "✓ Telegram chat 555: delivered" in lines
    assert "✓ Telegram chat 4242: delivered" in lines
    assert any(
        line.startswith("✓ json://") and "(APPRISE_URLS): delivered" in line for line in lines
    )
    assert any("(search #1): delivered (a daily digest channel" in line for line in lines)
    assert "All 4 channel(s) got the test card." in output
    for chat_id in (4242, 555):
        (card,) = fake.messages_to(chat_id)
        assert "TEST ALERT from Vinyl Detective" in card["text"]
        assert not card.get("reply_markup")  # nothing to track or buy
    (global_hook,) = webhook.at(f"/global/{HOOK_SECRET}")
    (own_hook,) = webhook.at("/mine")  # a digest channel gets the test at once
    assert "TEST ALERT from Vinyl Detective" in global_hook.json()["message"]
    assert "TEST ALERT from Vinyl Detective" in own_hook.json()["message"]
    assert HOOK_SECRET not in output
    assert TOKEN not in output
    assert _no_alert_recorded(tmp_path)


def test_failing_channels_say_what_to_fix_without_secrets_and_the_others_still_get_it(
    cli: Callable[..., tuple[int, str]],
    telegram: tuple[FakeTelegram, str],
    webhook: WebhookServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, base_url = telegram
    fake.block_chat(555)
    webhook.statuses[f"/gone/{HOOK_SECRET}"] = 404
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", base_url)
    monkeypatch.setenv("TELEGRAM_ALLOWED_CHAT_IDS", "4242,555")
    monkeypatch.setenv(
        "APPRISE_URLS",
        f"json://{webhook.url}/gone/{HOOK_SECRET} json://{webhook.url}/fine "
        f"json://bot:{HOOK_SECRET}@127.0.0.1:1/down nonsense://{HOOK_SECRET}",
    )

    code, output = cli("test-alert")

    assert code == 1
    lines = output.splitlines()
    blocked = next(line for line in lines if "Telegram chat 555" in line)
    assert blocked.startswith("✗")
    assert "send /start" in blocked
    assert "✓ Telegram chat 4242: delivered" in lines
    gone = next(line for line in lines if "/gone/" in line)
    assert gone.startswith("✗")
    assert "refused the alert for good" in gone
    assert "404" in gone
    assert "correct it in APPRISE_URLS" in gone
    down = next(line for line in lines if "127.0.0.1:1" in line)
    assert down.startswith("✗")
    assert "could not be reached" in down
    assert any(line.startswith("✓") and "/fine (APPRISE_URLS): delivered" in line for line in lines)
    bad = next(line for line in lines if "nonsense://" in line)
    assert "not a notification URL Apprise understands" in bad
    assert "4 of 6 channel(s) did not get the test." in output
    assert HOOK_SECRET not in output
    assert len(webhook.at("/fine")) == 1


def test_a_rejected_bot_token_is_named_for_every_chat(
    cli: Callable[..., tuple[int, str]],
    telegram: tuple[FakeTelegram, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, base_url = telegram
    monkeypatch.setenv("TELEGRAM_TOKEN", "999999:WRONG-TOKEN")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", base_url)
    monkeypatch.setenv("TELEGRAM_ALLOWED_CHAT_IDS", "4242")

    code, output = cli("test-alert")

    assert code == 1
    assert "✗ Telegram chat 4242" in output
    assert "check TELEGRAM_TOKEN" in output
    assert "WRONG-TOKEN" not in output


def test_with_no_channel_at_all_it_says_how_to_configure_one(
    cli: Callable[..., tuple[int, str]],
) -> None:
    code, output = cli("test-alert")
    assert code == 1
    assert "No alert channel is configured" in output
    assert "APPRISE_URLS" in output
    assert "Traceback" not in output
