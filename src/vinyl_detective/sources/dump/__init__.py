"""Reading the Discogs monthly releases dump (`discogs_YYYYMMDD_releases.xml.gz`).

The dump is one `<releases>` root holding millions of `<release>` elements (10+ GB
gzipped). `iter_dump_releases` reads it in fixed-size chunks, feeds lxml's pull parser,
turns every complete `<release>` into a `Release` and throws the element away, so memory
stays flat however big the file is.

Decisions worth knowing:

* Only releases whose `status` is "Accepted" (or that carry no status at all, as some newer
  dumps do) are kept; "Draft", "Deleted" and "Rejected" releases are counted as filtered.
  Nobody sells a deleted release, and a draft is not a catalog entry yet.
* `artist` is the credit line as Discogs displays it: each name without its " (2)"
  disambiguation or "*" name-variation marker, joined with its join word ("A, B & C",
  "A Feat. B"); the `anv` (name as credited) is ignored.
* `format` is the first format's name ("Vinyl"); `format_descriptions` gathers the
  descriptions of every format. The format filter matches any of the release's formats.
* `catalog_nos` keep the spelling printed by Discogs (trimmed, "none" dropped);
  `barcodes` are normalised 13-digit EANs (invalid ones are dropped).
* Corrupt or truncated input raises `DumpError` saying how far the read got.
* Speed: the file is inflated in a background thread (zlib releases the GIL); sub-trees
  the catalog never reads (tracklist, videos, credits, companies, notes, images) are cut
  out of the bytes before lxml sees them; `iter_dump_releases_in_worker` and
  `iter_dump_batches` run the parse in child processes (two by default) so that the
  caller's database writes overlap it, and `iter_dump_batches` also runs the caller's
  `build` there (the bulk importer builds its database rows in the workers).

Where things live: `stream.py` opens, inflates and counts the file and checks it is a
releases dump; `fields.py` turns a `<release>` element into a `Release`'s values and holds
the filters and the byte cut; `reader.py` is the in-process reader (`iter_dump_releases`);
`pool.py` the worker-process readers (`iter_dump_batches`, `iter_dump_releases_in_worker`)
and `worker.py` what each parser process does.
Import from this package; its modules import only each other and the layers below.
"""

from vinyl_detective.sources.dump.pool import (
    DEFAULT_WORKERS,
    iter_dump_batches,
    iter_dump_releases_in_worker,
)
from vinyl_detective.sources.dump.reader import iter_dump_releases
from vinyl_detective.sources.dump.stream import DumpStats

__all__ = [
    "DEFAULT_WORKERS",
    "DumpStats",
    "iter_dump_batches",
    "iter_dump_releases",
    "iter_dump_releases_in_worker",
]
