"""Choosing among the releases that fit a listing: one release, one album, or none.

Several releases that fit equally well (pressings of one album in different countries or
years, or unrelated namesakes) give no match but `ambiguous=True`: item specifics (catalog
number, UPC) can settle it, details in the title (year, country, mono/stereo) sometimes
already do. So does a release refused only for its format that names the listing at least
as well as the best fit and is another album ("Moving Garden Stockholm" on CD when the
listing says LP and the vinyl candidate is "Garden Stockholm"): the listing is probably that
album in a format the catalog lacks. The catalog must therefore hand over namesakes: see
`SqlCatalog.fuzzy_candidates`, which puts the releases holding every listing word first.

`choose` and `guarded` decide among fits (domain/release_fit.py); `identifier_choice` and
`identifier_confidence` do it for the releases carrying one identifier (catalog number,
barcode), and `album_identification` is the answer "this album, pressing unknown".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vinyl_detective.domain.catalog_entry import CatalogEntry, Identification
from vinyl_detective.domain.listing_text import ListingText
from vinyl_detective.domain.match_trace import TierNote
from vinyl_detective.domain.models import Match, MatchMethod
from vinyl_detective.domain.normalize import strip_disambiguation
from vinyl_detective.domain.release_fit import Fit, detail_score, fit
from vinyl_detective.domain.title_noise import normalize_text

__all__ = [
    "NEAR_TIE",
    "Choice",
    "album_identification",
    "choose",
    "guarded",
    "identifier_choice",
    "identifier_confidence",
]

NEAR_TIE = 3.0  # scores closer than this between two releases: the title cannot tell them apart


@dataclass(frozen=True, slots=True)
class Choice:
    """One release (`fit`); or one album whose pressing the title does not settle (`album`,
    best first; `outside`: the title names a pressing none of them is); or near-equal fits
    of different records (`ambiguous`)."""

    fit: Fit | None
    ambiguous: tuple[int, ...] = ()
    settled_by_details: bool = False
    album: tuple[Fit, ...] = ()
    outside: bool = False


def _by_details(fits: Sequence[Fit], listing: ListingText) -> Fit | None:
    """The one fit the title's details agree with best, if one stands out."""
    if len(fits) == 1:
        return fits[0]
    details = sorted(((detail_score(f.entry, listing), f) for f in fits), key=lambda p: -p[0])
    if details[0][0] > 0 and details[0][0] > details[1][0]:
        return details[0][1]
    return None


def choose(fits: Sequence[Fit], listing: ListingText, *, weigh_doubts: bool = True) -> Choice:
    """The one best fit; or the album when only its pressing is in doubt; or the ids of
    near-equal fits of different records when the title cannot tell them apart."""
    if not fits:
        return Choice(None)
    ranked = sorted(fits, key=lambda f: (-f.score, f.entry.release_id))
    best = ranked[0]
    near = [f for f in ranked if f.score >= best.score - NEAR_TIE]
    if not all(_same_record(f.entry, best.entry) for f in near):
        chosen = _by_details(near, listing)
        if chosen is None:
            return Choice(None, ambiguous=tuple(f.entry.release_id for f in near))
        near = [f for f in near if _same_record(f.entry, chosen.entry)]
        near.sort(key=lambda f: f is not chosen)
    # One album. The pressings the title contradicts (another catalog number, barcode,
    # year) are out; of the rest, one the details single out is the release.
    consistent = [f for f in near if not (weigh_doubts and f.doubts)]
    if not consistent:
        return Choice(None, album=tuple(near), outside=True)
    chosen = _by_details(consistent, listing)
    if chosen is not None:
        return Choice(chosen, settled_by_details=len(near) > 1)
    return Choice(None, album=tuple(consistent))


def _same_record(a: CatalogEntry, b: CatalogEntry) -> bool:
    """Pressings of one album: one master, or the same artist and title (two masters are
    two albums, however alike their names)."""
    if a.master_id is not None and b.master_id is not None:
        return a.master_id == b.master_id
    return normalize_text(strip_disambiguation(a.artist)) == normalize_text(
        strip_disambiguation(b.artist)
    ) and normalize_text(a.title) == normalize_text(b.title)


def _better_named_elsewhere(chosen: Fit, fits: Iterable[Fit]) -> tuple[int, ...]:
    """Releases refused only for their format that name the listing at least as well as
    `chosen` and are another album: the listing is likely that album, in a format the
    catalog does not hold (or the seller got the format wrong) — `chosen` would be a guess.
    """
    return tuple(
        f.entry.release_id
        for f in fits
        if f.wrong_format
        and f.both_present
        and f.score >= chosen.score - NEAR_TIE
        and not _same_record(f.entry, chosen.entry)
    )


def guarded(choice: Choice, fits: Sequence[Fit]) -> Choice:
    """`choice`, unless a release refused for its format names the listing as well."""
    lead = choice.fit or (choice.album[0] if choice.album else None)
    if lead is None:
        return choice
    rivals = _better_named_elsewhere(lead, fits)
    if rivals:
        return Choice(None, ambiguous=(lead.entry.release_id, *rivals))
    return choice


def identifier_choice(
    entries: Iterable[CatalogEntry],
    listing: ListingText,
    *,
    need_names: bool,
    provided: bool,
    note: TierNote | None = None,
) -> Choice:
    """The release among those carrying an identifier. One the seller gave in the item
    specifics (`provided`) outweighs what the title says of other pressings."""
    unique = {e.release_id: e for e in entries}
    fits = [fit(e, listing) for e in unique.values()]
    usable = [f for f in fits if (f.plausible if need_names else not f.refused)]
    choice = guarded(choose(usable, listing, weigh_doubts=not provided), fits)
    if note is not None:
        note.candidates.extend(f.note(f in usable) for f in fits)
        note.outcome = _choice_words(choice)
    return choice


def identifier_confidence(choice: Choice, method: MatchMethod) -> float:
    """How sure a match by catalog number or barcode is (`choice` has a fit or an album)."""
    lead = choice.fit or choice.album[0]
    exact = method is MatchMethod.BARCODE or lead.both_present
    confidence = 1.0 if exact else 0.95
    if choice.settled_by_details or choice.album:
        confidence -= 0.05
    return confidence


def album_identification(choice: Choice, confidence: float) -> Identification:
    """The answer "this album, pressing unknown" for `choice`'s album."""
    pressings = tuple(f.entry.release_id for f in choice.album)
    doubts = tuple(dict.fromkeys(d for f in choice.album for d in f.doubts))
    return Identification(
        Match(
            pressings[0],
            MatchMethod.ALBUM,
            round(confidence, 3),
            pressings=pressings,
            pressing_outside_catalog=choice.outside,
        ),
        candidates=pressings,
        reasons=doubts,
    )


def _choice_words(choice: Choice) -> str:
    if choice.fit is not None:
        how = " (settled by the title's details)" if choice.settled_by_details else ""
        return f"release {choice.fit.entry.release_id}{how}"
    if choice.album:
        ids = ", ".join(str(f.entry.release_id) for f in choice.album)
        if choice.outside:
            return f"the album, but the title names a pressing none of {ids} is"
        return f"the album; its pressing is one of {ids}"
    if choice.ambiguous:
        return "several records fit as well: " + ", ".join(map(str, choice.ambiguous))
    return "no candidate fits"
