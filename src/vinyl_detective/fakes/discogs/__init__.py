"""A fake Discogs API server: the real paths, shapes, errors and rate-limit headers.

    fake = FakeDiscogs(releases, price_suggestions={2825456: {...}}, wants={"ann": [2825456]})
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app),
                             base_url="https://api.discogs.test")

or served on loopback by the demo (`LoopbackServer(fake.app)`). What it imitates:

* `GET /releases/{id}` — the stored dict, exactly as given (the real body's shape), with
  `lowest_price`/`num_for_sale` filled in from the marketplace stats when absent.
* `GET /marketplace/stats/{id}` — `lowest_price` and `num_for_sale` derived
  deterministically from the release's VG+ (or best) suggestion, unless the release dict
  carries its own; both null when there are no suggestions (nothing for sale).
* `GET /marketplace/price_suggestions/{id}` — the given suggestions, `{}` for a release
  without any (as Discogs answers when it has no suggestion); with
  `seller_settings=False` (an account that has not filled in its seller settings) 404
  "You must fill out your seller settings first." for every release.
* `GET /database/search` — authentication required; `q` words must all appear in the
  artist, title, catalog numbers or labels; `artist`, `release_title`, `label` word-wise,
  `catno` normalised, `barcode` by digits, `format`, `year`, `country`, `genre`, `style`,
  `type`; results in the real search-result shape, with every identifier in `barcode[]`
  and companies in `label[]` (as the real API pollutes them); real pagination.
* `GET /users/{username}/wants` — paginated, from `basic_information`.
* Every response carries X-Discogs-Ratelimit, -Used and -Remaining over a moving 60 s
  window on the injected clock; beyond the limit 429 "You are making requests too
  quickly.". A missing or wrong token (where one is needed) gives 401, a missing or
  generic User-Agent 403, an unknown release 404 "Release not found.".

`fail_next(status, times, path_contains)` makes the next matching requests fail (5xx,
429, anything; `body` replaces the JSON body, e.g. to send malformed JSON).

What lives where:

- `fake.py`: `FakeDiscogs`, its data (releases, price suggestions, wantlists) and the
  routes: releases, marketplace stats, price suggestions, search, wantlists.
- `gate.py`: what every request passes first (counting, the rate-limit window, queued
  failures, User-Agent, token), and `fail_next`.
- `marketplace.py`: the marketplace stats derived from the price suggestions.
- `search.py`: which releases a search matches, and the search-result shape.
- `paging.py`: `page`/`per_page` and the `pagination` object.
- `errors.py`: the `{"message": ...}` error bodies and their wording.

Who may import it: tests, benchmarks, the demo and the CLI (the `fakes` layer and
above), through this package (`FakeDiscogs`); the modules inside import each other,
never this `__init__`.
"""

from vinyl_detective.fakes.discogs.fake import FakeDiscogs

__all__ = ["FakeDiscogs"]
