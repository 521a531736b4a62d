"""Settings: clear errors that name the variable, demo mode without keys, no secrets shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from vinyl_detective.config import MARKETPLACES, load_settings, parse_settings
from vinyl_detective.domain.currency import APPROXIMATE_USD_RATES
from vinyl_detective.domain.ebay_sites import MARKETPLACE_CURRENCIES, MARKETPLACE_HOSTS
from vinyl_detective.errors import ConfigError

LIVE = {
    "DISCOGS_TOKEN": "discogs-secret-token",
    "EBAY_APP_ID": "app-id",
    "EBAY_CERT_ID": "cert-secret",
    "TELEGRAM_TOKEN": "123:telegram-secret",
    "TELEGRAM_ALLOWED_CHAT_IDS": "42, -100123",
}


def test_no_keys_at_all_means_demo_mode() -> None:
    settings = parse_settings({})
    assert settings.is_demo
    assert settings.database_url == "sqlite:///vinyl_detective.db"
    assert settings.ebay_daily_call_budget == 5000


def test_complete_keys_mean_live_mode_with_parsed_values() -> None:
    settings = parse_settings({**LIVE, "POLL_MINUTES": "15", "EBAY_MARKETPLACE": "ebay_gb"})
    assert not settings.is_demo
    assert settings.telegram_allowed_chat_ids == frozenset({42, -100123})
    assert settings.poll_minutes == 15
    assert settings.ebay_marketplace == "EBAY_GB"


def test_a_missing_key_is_named_with_where_to_get_it() -> None:
    values = {k: v for k, v in LIVE.items() if k != "EBAY_CERT_ID"}
    settings = parse_settings(values)  # local commands (import-dump, status) work without
    with pytest.raises(ConfigError) as caught:
        settings.require_live()  # running against eBay does not
    message = str(caught.value)
    assert "EBAY_CERT_ID is missing" in message
    assert "developer.ebay.com" in message


def test_every_malformed_value_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(
            {
                **LIVE,
                "POLL_MINUTES": "often",
                "EBAY_DAILY_CALL_BUDGET": "-5",
                "TELEGRAM_ALLOWED_CHAT_IDS": "me",
                "DISCOGS_API_BASE_URL": "ftp://x",
            }
        )
    message = str(caught.value)
    for name in (
        "POLL_MINUTES",
        "EBAY_DAILY_CALL_BUDGET",
        "TELEGRAM_ALLOWED_CHAT_IDS",
        "DISCOGS_API_BASE_URL",
    ):
        assert name in message


def test_errors_and_repr_never_show_secrets() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({**LIVE, "TELEGRAM_ALLOWED_CHAT_IDS": ""})
    assert "telegram-secret" not in str(caught.value)
    settings = parse_settings({**LIVE, "DATABASE_URL": "postgresql://bob:pw@db/vd"})
    shown = repr(settings)
    for secret in ("discogs-secret-token", "cert-secret", "telegram-secret", "pw@"):
        assert secret not in shown


def test_dotenv_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("POLL_MINUTES=12\nDISCOGS_REFRESH_DAYS=3\n")
    settings = load_settings({"POLL_MINUTES": "20"}, env_file=env_file)
    assert settings.poll_minutes == 20
    assert settings.discogs_refresh_days == 3


def test_apprise_alone_is_enough_to_go_live_without_telegram() -> None:
    values = {k: v for k, v in LIVE.items() if not k.startswith("TELEGRAM")}
    parse_settings({**values, "APPRISE_URLS": "ntfy://my-topic"}).require_live()
    with pytest.raises(ConfigError, match="TELEGRAM_TOKEN is missing"):
        parse_settings(values).require_live()


def test_a_broken_global_rule_and_log_level_are_refused_at_start() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({"GLOBAL_RULE": "price <", "LOG_LEVEL": "LOUD"})
    assert "GLOBAL_RULE" in str(caught.value)
    assert "LOG_LEVEL" in str(caught.value)


def test_an_unsupported_database_is_named() -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        parse_settings({"DATABASE_URL": "mysql://x/y"})


def test_configured_exchange_rates_replace_the_built_in_ones() -> None:
    from decimal import Decimal

    from vinyl_detective.daemon import Daemon

    settings = parse_settings({**LIVE, "FX_RATES": "gbp=1.27, EUR=1.08 NOK=0.094"})
    assert settings.fx_rates == {
        "GBP": Decimal("1.27"),
        "EUR": Decimal("1.08"),
        "NOK": Decimal("0.094"),
    }
    rates = Daemon(settings).rates
    assert rates.convert(Decimal("100"), "GBP", "USD") == Decimal("127.00")
    assert rates.convert(Decimal("100"), "NOK", "USD") == Decimal("9.40")  # new currency
    assert rates.convert(Decimal("100"), "CAD", "USD") == Decimal("72.00")  # built in


@pytest.mark.parametrize(
    "raw", ["GBP:1.27", "GBP=abc", "GBP=-1", "POUND=1.3", "GBP=nan", "USD=1.1"]
)
def test_a_malformed_exchange_rate_is_refused_with_what_to_write(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({**LIVE, "FX_RATES": raw})
    assert f"FX_RATES={raw!r} is malformed" in str(caught.value)
    assert "GBP=1.27 EUR=1.08" in str(caught.value)


def test_the_api_listens_on_loopback_unless_told_and_a_bad_port_is_named() -> None:
    default = parse_settings({})
    assert (default.api_host, default.api_port) == ("127.0.0.1", None)
    container = parse_settings({"API_HOST": "0.0.0.0", "API_PORT": "8600"})
    assert (container.api_host, container.api_port) == ("0.0.0.0", 8600)
    with pytest.raises(ConfigError) as caught:
        parse_settings({"API_PORT": "86000", "API_HOST": "my host; rm -rf"})
    message = str(caught.value)
    assert "API_PORT='86000' is malformed: expected a port number from 1 to 65535" in message
    assert "API_HOST=" in message


@pytest.mark.parametrize("marketplace", MARKETPLACES)
def test_every_marketplace_a_user_may_pick_has_a_site_and_a_priceable_currency(
    marketplace: str,
) -> None:
    # EBAY_MARKETPLACE accepts it, listing links point at its site, and its prices can be
    # compared with Discogs' (converted to USD).
    settings = parse_settings({**LIVE, "EBAY_MARKETPLACE": marketplace.lower()})
    assert settings.ebay_marketplace == marketplace
    assert MARKETPLACE_HOSTS[marketplace].startswith("www.")
    assert MARKETPLACE_CURRENCIES[marketplace] in APPROXIMATE_USD_RATES


def test_an_unknown_marketplace_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="EBAY_MARKETPLACE"):
        parse_settings({**LIVE, "EBAY_MARKETPLACE": "EBAY_XX"})
