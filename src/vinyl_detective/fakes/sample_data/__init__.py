"""The demo marketplace's sample data: a Discogs catalog and noisy eBay listings, with the truth.

`build_sample_market(seed, now=...)` makes, deterministically and in well under a second:

- `releases`: Discogs `GET /releases/{id}` JSON dicts. Every curated album has an original
  pressing, and most have more pressings under the same `master_id` (stereo issues,
  represses that keep the catalog number, foreign pressings, 80s reissues, Japanese, CD,
  cassette, 180 g and audiophile reissues), as on Discogs.
- `price_suggestions`: Discogs `GET /marketplace/price_suggestions/{id}` bodies (USD) keyed by
  release id; a few releases are unpriced and have no entry.
- `items`: eBay Browse `GET /item/{id}` JSON dicts (a search summary is the same dict without
  `DETAIL_ONLY_FIELDS`), titled the way sellers write, about a quarter of them decoys.
- `truth` / `truth_master`: what each listing really is (None for decoys), and `deals`: the
  listings that are, by construction, bargains.

What "deal" means here, exactly: the listing is matched, its release is priced, it is in USD,
its shipping is known (FIXED or free), its media grade is stated (title or "Record
Grading"), its grade is VG or better, its seller has at least 98% positive feedback, and
price + shipping is at least 35% under the Discogs suggestion for that grade (`grades` holds
every listing's true media grade). Every other matched, priced listing costs at least 90% of
its grade's suggestion (listings that state no grade are priced against the Near Mint
suggestion), so a correct scorer with a 25% threshold finds exactly `deals`, with room to
spare for seller and auction modifiers. Listings in GBP/EUR are never deals: comparing their
amounts with USD prices without converting would invent bargains.

Some listings cannot be told apart at the release level from their text (a repress with the
original's catalog number, a title with no catalog number): compare those at the master level
with `truth_master`.

What lives where (the data in modules that hold only data):

- `market.py`: `build_sample_market`, `arrivals`, `arrivals_with_truth`, `SampleMarket`.
- `catalog.py`: the pressings of each album, their numbers, prices and the sellers.
- `releases.py`: a pressing as Discogs release JSON.
- `listings.py`: `ItemMaker`, a listing of a pressing (priced as a deal or not) with
  its truth; `decoys.py`: listings that match nothing; `item_shell.py`: what every
  listing has (price, shipping, seller, location, dates); `titles.py`: how sellers
  write titles; `names.py`: artist credits, ASCII, a stable hash.
- Data: `albums.py` (the curated albums), `families.py` (how each label numbered its
  reissues), `decoy_data.py` (what decoys are made of), `vocabulary.py` (grades,
  categories, price curves, sellers' words).

Who may import it: tests, benchmarks, the demo and the CLI (the `fakes` layer and
above), through this package; the modules inside import each other, never this
`__init__`.
"""

from vinyl_detective.fakes.sample_data.listings import SampleArrival
from vinyl_detective.fakes.sample_data.market import (
    SampleMarket,
    arrivals,
    arrivals_with_truth,
    build_sample_market,
)
from vinyl_detective.fakes.sample_data.vocabulary import (
    CATEGORIES,
    DEAL_MAX_RATIO,
    DETAIL_ONLY_FIELDS,
    GRADES,
    NORMAL_MIN_RATIO,
)

__all__ = [
    "CATEGORIES",
    "DEAL_MAX_RATIO",
    "DETAIL_ONLY_FIELDS",
    "GRADES",
    "NORMAL_MIN_RATIO",
    "SampleArrival",
    "SampleMarket",
    "arrivals",
    "arrivals_with_truth",
    "build_sample_market",
]
