"""A local fake of eBay's OAuth token endpoint and Browse API, as an ASGI app.

It speaks the real paths, headers, JSON shapes and errors (REFERENCE.md, API-FACTS.md
§1), including the traps: search without a `buyingOptions` filter shows fixed-price
listings only, only the first `category_ids` value is honoured, `offset` must be a
multiple of `limit` and `offset + limit` cannot pass 10,000, `itemSummaries` is absent
from an empty page, `itemAffiliateWebUrl` appears only when the request carries an
`affiliateCampaignId`. Tests mount it with `httpx.ASGITransport(app=fake.app)`; the demo
serves it on loopback (fakes/server.py) and adds listings while it runs:

    fake = FakeEbay([make_item(1, "Art Blakey Moanin' LP Blue Note BLP 4003", "45.00",
                               listed_at=now)])
    fake.add_items([...])            # a new listing appears
    fake.fail_next(503, times=2)     # the next two Browse calls fail
    fake.calls, fake.token_requests  # what the client spent

Items are dicts in eBay's item-detail shape; search returns them as item summaries
(detail-only keys dropped).

What lives where:

- `fake.py`: `FakeEbay`, the object tests and the demo make, and its routes.
- `oauth.py`: the token endpoint, the gate every Browse call passes (bearer token,
  daily quota) and getRateLimits.
- `browse.py`: item summary search and the item lookups.
- `state.py`: what the fake holds and what tests change in it (`add_items`,
  `remove_item`, `fail_next`, `expire_tokens`, `quota_used`).
- `listings.py`: the listing store and the search result sets kept over it.
- `query.py`: how search selects and orders listings (`q`, `category_ids`, `filter`,
  `sort`).
- `items.py`: `make_item` and how a listing is shown to a request.
- `errors.py`: eBay's error bodies (`ebay_error`, `canned_error`, `invalid_token`).

Who may import it: tests, benchmarks, the demo and the CLI (the `fakes` layer and
above), through this package; faults.py uses `errors.py`. The modules inside import each
other, never this `__init__`.
"""

from vinyl_detective.fakes.ebay.errors import canned_error, ebay_error, invalid_token
from vinyl_detective.fakes.ebay.fake import FakeEbay
from vinyl_detective.fakes.ebay.items import ebay_time, make_item
from vinyl_detective.fakes.ebay.state import RecordedRequest

__all__ = [
    "FakeEbay",
    "RecordedRequest",
    "canned_error",
    "ebay_error",
    "ebay_time",
    "invalid_token",
    "make_item",
]
