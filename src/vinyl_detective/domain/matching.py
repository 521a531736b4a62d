"""Identifying a listing as a Discogs release: catalog number ► barcode ► fuzzy artist+title.

Pure: the catalog is reached through the `CatalogLookup` port (domain/catalog_entry.py;
storage/catalog_lookup.py's `SqlCatalog` implements it over the database). A wrong match is
worse than none, so every tier refuses rather than guesses:

1. Catalog number — the listing's own (item specifics) first, then numbers found in the
   title (runs of 1–4 tokens with a digit, looked up in one batch). A hit counts only when
   the release's artist or title appears in the listing title and the formats agree; when
   only one of them appears, the listing may hold at most two other informative words (a
   number shared by another label's record whose one-word title is in the listing is no
   evidence).
2. Barcode — the listing's own, then a 12/13-digit run in the title; UPC-A ⇔ EAN-13.
3. Fuzzy — the cleaned title's words pick candidates from the full-text index; each one
   must have its artist AND its title present in the listing, few unexplained words left,
   the right format and no decoy words ("tribute to", "empty sleeve", "lot of").

This module runs the tiers (`identify`) and the fuzzy tier's lookup; beside it:

- domain/catalog_entry.py: the port and the answer (`CatalogEntry`, `CatalogLookup`,
  `Identification`);
- domain/listing_text.py: the listing read once (its title's words, format and details);
- domain/title_identifiers.py: the catalog numbers and barcodes a title may carry;
- domain/release_fit.py: how well one release fits the listing (the scoring, and why);
- domain/candidate_choice.py: choosing among the fits: one release, one album ("pressing
  unknown") or ambiguous, and why.
"""

from __future__ import annotations

from vinyl_detective.domain.candidate_choice import (
    Choice,
    album_identification,
    choose,
    guarded,
    identifier_choice,
    identifier_confidence,
)
from vinyl_detective.domain.catalog_entry import CatalogEntry, CatalogLookup, Identification
from vinyl_detective.domain.listing_text import ListingText, prepare
from vinyl_detective.domain.match_trace import MatchTrace
from vinyl_detective.domain.models import Listing, Match, MatchMethod
from vinyl_detective.domain.normalize import normalize_barcode, normalize_catalog_no
from vinyl_detective.domain.pressing_evidence import cut_identifier
from vinyl_detective.domain.release_fit import fit
from vinyl_detective.domain.title_noise import STOPWORDS

__all__ = ["FUZZY_CANDIDATES", "identify", "match_listing"]

FUZZY_CANDIDATES = 15  # releases taken from the full-text prefilter
PLAUSIBLE_FLOOR = 70.0  # below the cutoff but above this, with artist and title present
MAX_QUERY_WORDS = 10  # words sent to the full-text prefilter

_NO_MATCH = Identification(match=None)


# ---------------------------------------------------------------- the tiers


def identify(
    listing: Listing, catalog: CatalogLookup, trace: MatchTrace | None = None
) -> Identification:
    """Which release `listing` is, how it was found and how sure we are — or why not.

    With a `trace`, every tier tried and every candidate weighed is written into it.
    """
    text = prepare(listing)
    provided_catno = normalize_catalog_no(listing.catalog_no) if listing.catalog_no else None
    provided_barcode = normalize_barcode(listing.barcode) if listing.barcode else None
    title_catnos = [c for c in text.catnos if c != provided_catno]
    title_barcodes = [b for b in text.barcodes if b != provided_barcode]

    catno_hits: dict[str, list[CatalogEntry]] = {}
    wanted = ([provided_catno] if provided_catno else []) + title_catnos
    if wanted:
        catno_hits = catalog.by_catalog_nos(wanted)

    ambiguous: dict[int, None] = {}
    album: list[Identification] = []

    def settle(choice: Choice, method: MatchMethod) -> Identification | None:
        if choice.fit is not None:
            release_id = choice.fit.entry.release_id
            if ambiguous and release_id not in ambiguous:
                return None  # identifiers disagree: no guess
            return Identification(
                Match(release_id, method, identifier_confidence(choice, method)),
                candidates=(release_id,),
            )
        if choice.album and not album:
            album.append(album_identification(choice, identifier_confidence(choice, method)))
        ambiguous.update(dict.fromkeys(choice.ambiguous))
        return None

    # (tier, what it looked for, method, releases, names must appear, from item specifics)
    steps: list[tuple[str, tuple[str, ...], MatchMethod, list[CatalogEntry], bool, bool]] = []
    if provided_catno:
        hits = catno_hits.get(provided_catno, [])
        steps.append(
            (
                "catalog number (item specifics)",
                (provided_catno,),
                MatchMethod.CATALOG_NO,
                hits,
                True,
                True,
            )
        )
    if provided_barcode:
        hits = catalog.by_barcode(provided_barcode)
        steps.append(
            (
                "barcode (item specifics)",
                (provided_barcode,),
                MatchMethod.BARCODE,
                hits,
                False,
                True,
            )
        )
    if title_catnos:
        hits = [e for c in title_catnos for e in catno_hits.get(c, [])]
        steps.append(
            (
                "catalog numbers in the title",
                tuple(title_catnos),
                MatchMethod.CATALOG_NO,
                hits,
                True,
                False,
            )
        )
    for ean in title_barcodes[:2]:
        steps.append(
            (
                "barcode in the title",
                (ean,),
                MatchMethod.BARCODE,
                catalog.by_barcode(ean),
                False,
                False,
            )
        )
    cut = cut_identifier(listing.title, title_catnos, title_barcodes)
    if cut is not None and not any(catno_hits.get(c) for c in title_catnos):
        kind, prefix = cut
        entries = _one_identifier(catalog.by_identifier_prefix(kind, prefix, 2))
        method = MatchMethod.CATALOG_NO if kind == "catno" else MatchMethod.BARCODE
        steps.append(
            (f"{kind} cut at 80 characters", (prefix + "…",), method, entries, True, False)
        )

    for tier, looked_for, method, entries, need_names, provided in steps:
        note = trace.tier(tier, looked_for) if trace is not None else None
        if not entries:
            if note is not None:
                note.outcome = "not in the catalog"
            continue
        choice = identifier_choice(
            entries, text, need_names=need_names, provided=provided, note=note
        )
        found = settle(choice, method)
        if found is not None:
            return _traced(found, trace)
    if album:
        return _traced(album[0], trace)
    if ambiguous:
        return _traced(Identification(None, ambiguous=True, candidates=tuple(ambiguous)), trace)
    return _traced(_fuzzy(text, catalog, trace), trace)


def _traced(found: Identification, trace: MatchTrace | None) -> Identification:
    if trace is not None:
        match = found.match
        if match is None:
            trace.outcome = (
                "ambiguous: " + ", ".join(map(str, found.candidates))
                if found.ambiguous
                else "no match"
            )
        elif match.method is MatchMethod.ALBUM:
            trace.outcome = (
                f"album match, pressing unknown (one of {len(match.pressings)}); "
                f"{match.confidence:.0%} sure"
            )
        else:
            trace.outcome = (
                f"release {match.release_id} by {match.method.value}, {match.confidence:.0%} sure"
            )
    return found


def _one_identifier(found: dict[str, list[CatalogEntry]]) -> list[CatalogEntry]:
    """The releases of the one identifier found, or none when the prefix fits several."""
    return next(iter(found.values())) if len(found) == 1 else []


def _query_words(text: ListingText) -> list[str]:
    words: dict[str, None] = {}
    for token in text.clean_tokens:
        if token in STOPWORDS or len(token) < 2:
            continue
        words.setdefault(token, None)
    return list(words)[:MAX_QUERY_WORDS]


def _fuzzy(
    text: ListingText, catalog: CatalogLookup, trace: MatchTrace | None = None
) -> Identification:
    words = _query_words(text)
    note = trace.tier("artist + title", tuple(words)) if trace is not None else None
    if not words:
        if note is not None:
            note.outcome = "nothing left of the title to look for"
        return _NO_MATCH
    fits = [fit(e, text) for e in catalog.fuzzy_candidates(words, FUZZY_CANDIDATES)]
    accepted = [f for f in fits if f.fuzzy_ok]
    if note is not None:
        note.candidates.extend(f.note(f in accepted) for f in fits)
        note.outcome = "no candidate" if not fits else f"{len(accepted)} of {len(fits)} fit"
    if not accepted:
        plausible = [
            f.entry.release_id
            for f in fits
            if not f.refused
            and f.both_present
            and not (f.self_titled_once and f.unexplained)
            and f.score >= PLAUSIBLE_FLOOR
        ]
        if plausible:
            return Identification(None, ambiguous=True, candidates=tuple(plausible))
        return _NO_MATCH
    choice = guarded(choose(accepted, text), fits)
    lead = choice.fit or (choice.album[0] if choice.album else None)
    if lead is None:
        return Identification(None, ambiguous=True, candidates=choice.ambiguous)
    confidence = min(lead.score, 100.0) / 100 * 0.95
    if choice.settled_by_details or choice.album:
        confidence -= 0.05
    if choice.album:
        return album_identification(choice, confidence)
    release_id = lead.entry.release_id
    return Identification(
        Match(release_id, MatchMethod.FUZZY, round(confidence, 3)), candidates=(release_id,)
    )


def match_listing(listing: Listing, catalog: CatalogLookup) -> Match | None:
    """The release `listing` is, or None when no release is certain enough."""
    return identify(listing, catalog).match
