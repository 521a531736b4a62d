"""The catalog as the matcher sees it: the `CatalogLookup` port and what crosses it.

`CatalogEntry` is one release as the matcher needs it; `CatalogLookup` is how `identify`
(domain/matching.py) reaches the catalog (storage/catalog_lookup.py's `SqlCatalog`
implements it over the database); `Identification` is the matcher's answer.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from vinyl_detective.domain.models import Match

__all__ = ["CatalogEntry", "CatalogLookup", "Identification"]


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """What the matcher needs to know about one release of the local catalog.

    `catalog_nos` and `barcodes` are normalised (see domain/normalize.py).
    """

    release_id: int
    artist: str
    title: str
    format: str | None = None
    catalog_nos: tuple[str, ...] = ()
    barcodes: tuple[str, ...] = ()
    year: int | None = None
    master_id: int | None = None
    format_descriptions: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    country: str | None = None


class CatalogLookup(Protocol):
    """The catalog as the matcher sees it (implemented by storage.catalog_lookup.SqlCatalog)."""

    def by_catalog_nos(self, normalised: Collection[str]) -> dict[str, list[CatalogEntry]]:
        """Releases carrying each of these normalised catalog numbers (absent keys: none)."""
        ...

    def by_barcode(self, ean13: str) -> list[CatalogEntry]:
        """Releases carrying this 13-digit EAN."""
        ...

    def fuzzy_candidates(self, words: Sequence[str], limit: int) -> list[CatalogEntry]:
        """Up to `limit` releases sharing words with `words`, best first."""
        ...

    def by_identifier_prefix(
        self, kind: str, prefix: str, limit: int
    ) -> dict[str, list[CatalogEntry]]:
        """Releases whose normalised identifier of `kind` ("catno" or "barcode") starts with
        `prefix`, for at most `limit` distinct identifiers."""
        ...


@dataclass(frozen=True, slots=True)
class Identification:
    """The matcher's answer.

    `match` is None when no release is certain enough. `ambiguous` is True when plausible
    releases exist but the title alone cannot settle which (typically pressings of the
    same album): fetching the listing's item specifics (catalog number, UPC) and calling
    `identify` again with them filled in can settle it — the one case where an extra
    marketplace call is worth it. `candidates` are the release ids considered plausible.

    A match by `MatchMethod.ALBUM` says "this album, pressing unknown": every candidate is
    a pressing of one album and the title cannot say which (see `Match.pressings`);
    `reasons` then says what in the title spoke against the pressings it names.
    """

    match: Match | None
    ambiguous: bool = False
    candidates: tuple[int, ...] = ()
    reasons: tuple[str, ...] = ()
