"""eBay's record categories and marketplace sites (hosts, currencies): plain facts, no
HTTP client.

The one list of marketplaces: `config` checks EBAY_MARKETPLACE against it, the planner,
the services and `status` use it without loading the client (and httpx), and
sources/ebay.py, the client, sends its ids and currencies.
"""

from __future__ import annotations

from collections.abc import Mapping

# Music leaf categories on eBay (EBAY_US; the same ids are seen on GB/DE).
MUSIC = "11233"
RECORDS = "176985"
CDS = "176984"
CASSETTES = "176983"
RECORD_CATEGORIES: tuple[str, ...] = (RECORDS, CDS, CASSETTES)

# Web hosts, for a listing URL when eBay did not send `itemWebUrl`.
MARKETPLACE_HOSTS: Mapping[str, str] = {
    "EBAY_US": "www.ebay.com",
    "EBAY_GB": "www.ebay.co.uk",
    "EBAY_DE": "www.ebay.de",
    "EBAY_FR": "www.ebay.fr",
    "EBAY_IT": "www.ebay.it",
    "EBAY_ES": "www.ebay.es",
    "EBAY_CA": "www.ebay.ca",
    "EBAY_AU": "www.ebay.com.au",
    "EBAY_AT": "www.ebay.at",
    "EBAY_CH": "www.ebay.ch",
    "EBAY_IE": "www.ebay.ie",
    "EBAY_NL": "www.ebay.nl",
    "EBAY_BE": "www.benl.ebay.be",
    "EBAY_PL": "www.ebay.pl",
}

# The currency a marketplace prices in, used for the `priceCurrency` filter.
MARKETPLACE_CURRENCIES: Mapping[str, str] = {
    "EBAY_US": "USD",
    "EBAY_GB": "GBP",
    "EBAY_DE": "EUR",
    "EBAY_FR": "EUR",
    "EBAY_IT": "EUR",
    "EBAY_ES": "EUR",
    "EBAY_AT": "EUR",
    "EBAY_BE": "EUR",
    "EBAY_IE": "EUR",
    "EBAY_NL": "EUR",
    "EBAY_AU": "AUD",
    "EBAY_CA": "CAD",
    "EBAY_CH": "CHF",
    "EBAY_PL": "PLN",
}
