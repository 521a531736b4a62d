"""Identifying a listing as a Discogs release: catalog number ► barcode ► fuzzy artist+title.

Pure: the catalog is reached through the `CatalogLookup` port (storage/catalog_lookup.py's
`SqlCatalog` implements it over the database). A wrong match is worse than none, so every
tier refuses rather than guesses:

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

Scoring (tier 3), and why: sellers pad titles with words that are neither artist nor title,
so a symmetric ratio (token_sort_ratio, WRatio) punishes honest listings and rewards short
releases. Instead each side is checked for *presence* — rapidfuzz `partial_ratio` of the
name against the listing text, padded with spaces so that it aligns on word boundaries and
tolerates a typo — and the listing's left-over informative words (not noise, not genre or
country words, not the release's label, catalog number or year) each cost points:
`score = (artist_presence + title_presence) / 2 - 5 × unexplained_words`, cutoff 85.
"Miles Davis Kind of Blue" therefore never becomes "Miles Davis – Sketches of Spain"
(title absent) nor "Miles Davis – Blue" (one-word title with a word left over).

Several releases that fit equally well (pressings of one album in different countries or
years, or unrelated namesakes) give no match but `ambiguous=True`: item specifics (catalog
number, UPC) can settle it, details in the title (year, country, mono/stereo) sometimes
already do. So does a release refused only for its format that names the listing at least
as well as the best fit and is another album ("Moving Garden Stockholm" on CD when the
listing says LP and the vinyl candidate is "Garden Stockholm"): the listing is probably that
album in a format the catalog lacks. The catalog must therefore hand over namesakes: see
`SqlCatalog.fuzzy_candidates`, which puts the releases holding every listing word first.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from rapidfuzz import fuzz

from vinyl_detective.domain.match_trace import CandidateNote, MatchTrace, TierNote
from vinyl_detective.domain.models import Listing, Match, MatchMethod
from vinyl_detective.domain.normalize import (
    compact_catalog_no,
    is_placeholder_catalog_no,
    normalize_barcode,
    normalize_catalog_no,
    strip_disambiguation,
)
from vinyl_detective.domain.pressing_evidence import (
    barcodes_in,
    catalog_numbers_in,
    contradictions,
    cut_identifier,
    names_label,
    other_record_words,
    years_in,
)
from vinyl_detective.domain.title_noise import (
    NEUTRAL_WORDS,
    STOPWORDS,
    clean_title,
    decoy_phrases_in,
    normalize_text,
)

__all__ = [
    "FUZZY_CANDIDATES",
    "FUZZY_CUTOFF",
    "CatalogEntry",
    "CatalogLookup",
    "Identification",
    "barcode_candidates",
    "catalog_no_candidates",
    "clean_title",
    "format_family",
    "identify",
    "match_listing",
]

FUZZY_CUTOFF = 85.0  # tier-3 score (0..100) needed for a match
FUZZY_CANDIDATES = 15  # releases taken from the full-text prefilter
PRESENCE_CUTOFF = 88.0  # how well an artist or title must appear in the listing
UNEXPLAINED_PENALTY = 5.0  # points per informative listing word the release does not explain
NEAR_TIE = 3.0  # scores closer than this between two releases: the title cannot tell them apart
PLAUSIBLE_FLOOR = 70.0  # below the cutoff but above this, with artist and title present
ONE_NAME_UNEXPLAINED = 2  # identifier hit naming only the artist or the title: words left at most
MAX_QUERY_WORDS = 10  # words sent to the full-text prefilter
_MAX_CATNO_WINDOW = 4  # "CDP 7 46516 2"

# eBay's music categories: Records, CDs, Cassettes.
_CATEGORY_FORMATS = {"176985": "vinyl", "176984": "cd", "176983": "cassette"}
_FORMAT_FAMILIES = {
    "vinyl": "vinyl",
    "lathe cut": "vinyl",
    "flexi disc": "vinyl",
    "flexi": "vinyl",
    "shellac": "vinyl",
    "acetate": "vinyl",
    "lp": "vinyl",
    "record": "vinyl",
    "records": "vinyl",
    "cd": "cd",
    "cds": "cd",
    "cdr": "cd",
    "sacd": "cd",
    "hdcd": "cd",
    "cdv": "cd",
    "minidisc": "minidisc",
    "compact disc": "cd",
    "cassette": "cassette",
    "cassettes": "cassette",
    "microcassette": "cassette",
    "tape": "cassette",
    "dvd": "video",
    "dvdr": "video",
    "blu ray": "video",
    "vhs": "video",
    "file": "file",
    "8 track cartridge": "8-track",
    "reel to reel": "reel",
}
_VINYL_TITLE_WORDS = frozenset({"lp", "lps", "2lp", "3lp", "vinyl", "45rpm", "33rpm", "wax"})
_VINYL_TITLE_RE = re.compile(r"(?<!\w)(?:7|10|12)\s*(?:\"|''|”|″|inch\b)|\b(?:33|45)\s*rpm\b", re.I)
_CD_TITLE_WORDS = frozenset({"cd", "cds", "2cd", "3cd"})
_TAPE_TITLE_WORDS = frozenset({"cassette", "cassettes", "tape", "mc"})

_COUNTRY_WORDS = {
    "us": "us",
    "usa": "us",
    "uk": "uk",
    "england": "uk",
    "japan": "japan",
    "japanese": "japan",
    "jp": "japan",
    "germany": "germany",
    "german": "germany",
    "canada": "canada",
    "canadian": "canada",
    "france": "france",
    "french": "france",
    "italy": "italy",
    "italian": "italy",
    "holland": "netherlands",
    "dutch": "netherlands",
    "netherlands": "netherlands",
    "europe": "europe",
    "eu": "europe",
    "euro": "europe",
    "australia": "australia",
}
_DESCRIPTION_WORDS = {
    "mono": "mono",
    "stereo": "stereo",
    "reissue": "reissue",
    "repress": "reissue",
    "remastered": "remastered",
    "remaster": "remastered",
    "promo": "promo",
    "limited": "limited edition",
    "ltd": "limited edition",
}
_OPPOSITES = {"mono": "stereo", "stereo": "mono"}

_ARTIST_SPLIT = re.compile(r"\s+(?:and|with|feat|featuring|ft|vs|versus|x|presents)\s+|\s*,\s*")
_ARTIST_SUFFIX = re.compile(
    r"\s+(?:and\s+(?:his|her|the)\s+\w+(?:\s+\w+)?|trio|quartet|quintet|sextet|septet|octet|"
    r"orchestra|big band|band|group|ensemble|all stars|allstars|experience)$"
)
_CREDIT_SPLIT = re.compile(
    r"\s+[/\-–—•∙·:+]\s+|\s*[,&/]\s*|\s+(?:and|with|feat\.?|featuring|ft\.?|vs\.?|versus|"
    r"presents|meets|con|conducted by|directed by)\s+",
    re.IGNORECASE,
)
_BRACKETS = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]")
_VARIOUS = frozenset({"various", "various artists", "va"})
_SELF_TITLED = frozenset({"s t", "self titled", "selftitled", "st"})
_VARIOUS_MARKERS = re.compile(r"\b(?:various|va|v a|compilation|sampler)\b")
_CATNO_NOISE = re.compile(
    r"^(?:\d{1,3}(?:LP|LPS|XLP|CD|CDS|XCD|X|G|GR|GRAM|GRAMS|RPM|ST|ND|RD|TH|S|INCH|IN|\"|'')?"
    r"|(?:19|20)\d\d|(?:33|45|78)(?:RPM)?|\d{12,13})$"
)
_EDGE_PUNCTUATION = "()[]{}<>,;:!?#\"'*|~"
_BARCODE_RUN = re.compile(r"(?<![\d])\d[\d \-]{10,20}\d(?![\d])")
_YEAR = re.compile(r"^(?:19[0-9]\d|20[0-4]\d)$")
_HAS_DIGIT = re.compile(r"\d")


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


_NO_MATCH = Identification(match=None)


# ---------------------------------------------------------------- the listing, prepared once


@dataclass(frozen=True, slots=True)
class _Evidence:
    catalog_numbers: tuple[str, ...]  # what reads as a catalog number
    barcodes: tuple[str, ...]  # what reads as a barcode
    years: frozenset[int]  # years written as words of their own


def _evidence(listing: _ListingText) -> _Evidence:
    if listing._evidence is None:
        title = listing.title
        listing._evidence = _Evidence(
            catalog_numbers=tuple(catalog_numbers_in(title)),
            barcodes=tuple(barcodes_in(title)),
            years=years_in(title),
        )
    return listing._evidence


@dataclass(slots=True)
class _ListingText:
    title: str  # as the seller wrote it
    raw: str  # normalised, noise kept: for presence of names containing noise words
    clean: str  # normalised without noise
    clean_tokens: tuple[str, ...]
    raw_tokens: frozenset[str]
    decoys: frozenset[str]
    format: str | None
    years: frozenset[int]
    countries: frozenset[str]
    descriptions: frozenset[str]
    catnos: tuple[str, ...] = ()  # catalog-number candidates read from the title
    # What the title says of the pressing (see domain/pressing_evidence.py), read when a
    # candidate is first weighed: most listings never get that far.
    _evidence: _Evidence | None = None
    barcodes: tuple[str, ...] = ()  # barcodes read from the title
    _cache: dict[int, _Fit] = field(default_factory=dict)


def _prepare(listing: Listing) -> _ListingText:
    raw = normalize_text(listing.title)
    clean = clean_title(listing.title)
    raw_tokens = frozenset(raw.split())
    return _ListingText(
        title=listing.title,
        raw=raw,
        clean=clean,
        clean_tokens=tuple(clean.split()),
        raw_tokens=raw_tokens,
        decoys=frozenset(decoy_phrases_in(raw)),
        format=_listing_format(listing),
        years=frozenset(int(t) for t in raw_tokens if _YEAR.match(t)),
        countries=frozenset(_COUNTRY_WORDS[t] for t in raw_tokens if t in _COUNTRY_WORDS),
        descriptions=frozenset(
            _DESCRIPTION_WORDS[t] for t in raw_tokens if t in _DESCRIPTION_WORDS
        ),
        catnos=tuple(catalog_no_candidates(listing.title)),
        barcodes=tuple(barcode_candidates(listing.title)),
    )


def format_family(name: str | None) -> str | None:
    """ "Vinyl", "LP", "12\"" → "vinyl"; "CD", "CDr" → "cd"; "Cassette" → "cassette".

    None for unknown or mixed formats ("Box Set", "All Media"), which are never refused.
    """
    if not name:
        return None
    key = normalize_text(name)
    if key in _FORMAT_FAMILIES:
        return _FORMAT_FAMILIES[key]
    if key in _CATEGORY_FORMATS:
        return _CATEGORY_FORMATS[key]
    if _VINYL_TITLE_RE.search(name):
        return "vinyl"
    return None


def _listing_format(listing: Listing) -> str | None:
    """The listing's format: its hint, else its eBay category, else what its title says."""
    if listing.format_hint:
        family = format_family(listing.format_hint)
        if family:
            return family
    if listing.category_id and listing.category_id in _CATEGORY_FORMATS:
        return _CATEGORY_FORMATS[listing.category_id]
    tokens = set(normalize_text(listing.title).split())
    found = set()
    if tokens & _VINYL_TITLE_WORDS or _VINYL_TITLE_RE.search(listing.title):
        found.add("vinyl")
    if tokens & _CD_TITLE_WORDS:
        found.add("cd")
    if tokens & _TAPE_TITLE_WORDS:
        found.add("cassette")
    return found.pop() if len(found) == 1 else None


# ---------------------------------------------------------------- identifiers in the title


def catalog_no_candidates(title: str) -> list[str]:
    """Normalised catalog numbers a title may contain, in order of appearance.

    Every run of 1–4 consecutive tokens with a digit in it: "BLP 4003", "ST-8406",
    "CDP 7 46516 2". Sizes, weights, years and the like are left out.
    """
    # Seller noise ("LP", "VG+", '12"', "180g") ends a run; edge punctuation goes.
    # A lone dash joins its neighbours ("BR - 01").
    words = [t for t in title.split() if t.strip("-–—")]
    tokens = ["" if _is_noise(t) else t.strip(_EDGE_PUNCTUATION) for t in words]
    parts = [_catno_part(t) for t in tokens]
    digits = [any(ch.isdigit() for ch in t) for t in tokens]
    compact = [compact_catalog_no(t) if part else "" for t, part in zip(tokens, parts, strict=True)]
    found: dict[str, None] = {}
    count = len(tokens)
    for start in range(count):
        has_digit = False
        for end in range(start + 1, min(start + _MAX_CATNO_WINDOW, count) + 1):
            if not parts[end - 1]:
                break
            has_digit = has_digit or digits[end - 1]
            if not has_digit or not (digits[start] or digits[end - 1]):
                continue
            value = "".join(compact[start:end])
            if is_placeholder_catalog_no(value) or len(value) < 3 or _CATNO_NOISE.match(value):
                continue
            found.setdefault(value, None)
    return list(found)


@lru_cache(maxsize=16384)
def _is_noise(token: str) -> bool:
    return not clean_title(token)


def _catno_part(token: str) -> bool:
    """A token that can be part of a catalog number: not noise (blanked), not a long word."""
    return bool(token) and (len(token) <= 5 or _HAS_DIGIT.search(token) is not None)


def barcode_candidates(title: str) -> list[str]:
    """13-digit EANs written in a title ("0 7777-46516-1 6", "602557123456")."""
    found: dict[str, None] = {}
    for run in _BARCODE_RUN.finditer(title):
        value = normalize_barcode(run.group(0))
        if value is not None:
            found.setdefault(value, None)
    return list(found)


# ---------------------------------------------------------------- how well a release fits


@dataclass(frozen=True, slots=True)
class _Fit:
    entry: CatalogEntry
    artist: float  # presence 0..100
    title: float  # presence 0..100
    unexplained: int
    short_title: bool  # the title is one word: any unexplained word is fatal
    refused: bool  # decoy, wrong format, or another record of the artist ("Live", "Vol. 2")
    wrong_format: bool = False  # refused for its format alone
    # A self-titled release ("Budgie – Budgie") named once in the listing: the one name
    # stands for artist and title only if the listing says nothing else.
    self_titled_once: bool = False
    doubts: tuple[str, ...] = ()  # why the title says it is another pressing of the album
    unexplained_words: tuple[str, ...] = ()
    decoys: tuple[str, ...] = ()  # decoy phrases the release's names lack
    other_record: tuple[str, ...] = ()  # words that make the listing another record

    def note(self, kept: bool) -> CandidateNote:
        """This fit in words, for the trace."""
        entry = self.entry
        name = f"{entry.artist} – {entry.title}"
        details = [entry.format or "format unknown"]
        if entry.catalog_nos:
            details.append(", ".join(entry.catalog_nos[:2]))
        if entry.year:
            details.append(str(entry.year))
        name += f" [{'; '.join(details)}]"
        reasons: list[str] = []
        if self.decoys:
            reasons.append(f"not the record itself ({', '.join(self.decoys)})")
        if self.wrong_format:
            reasons.append("another format than the listing's")
        if self.other_record:
            reasons.append(f"another record ({', '.join(self.other_record)})")
        presence = f"artist {self.artist:.0f}, title {self.title:.0f}"
        if self.unexplained_words and self.unexplained < 99:
            presence += f", unexplained: {' '.join(self.unexplained_words)}"
        if self.self_titled_once:
            presence += ", self-titled and named once"
        reasons.append(presence)
        reasons.extend(self.doubts)
        return CandidateNote(entry.release_id, name, kept, "; ".join(reasons))

    @property
    def plausible(self) -> bool:
        """The release's artist or title appears in the listing, and when only one of them
        does, the listing names little else (a catalog number shared by an unrelated record
        whose one-word title happens to be in the listing is no evidence)."""
        if self.refused or max(self.artist, self.title) < PRESENCE_CUTOFF:
            return False
        if self.self_titled_once and self.unexplained:
            return False
        return self.both_present or self.unexplained <= ONE_NAME_UNEXPLAINED

    @property
    def both_present(self) -> bool:
        return min(self.artist, self.title) >= PRESENCE_CUTOFF

    @property
    def score(self) -> float:
        return (self.artist + self.title) / 2 - UNEXPLAINED_PENALTY * self.unexplained

    @property
    def fuzzy_ok(self) -> bool:
        if self.refused or not self.both_present:
            return False
        if (self.short_title or self.self_titled_once) and self.unexplained:
            return False
        return self.score >= FUZZY_CUTOFF


def _presence(phrase: str, text: str) -> float:
    """How well `phrase` appears as whole words in `text` (100 = verbatim).

    A typo is tolerated, a different number is not: "Horserie 01" is absent from a listing
    of "Horserie 05", "Vol 1" from one of "Vol 2".
    """
    if not phrase:
        return 0.0
    return _padded_presence(phrase, f" {phrase} ", f" {text} ")


def _padded_presence(phrase: str, padded_phrase: str, padded_text: str) -> float:
    """`_presence` of a non-empty `phrase`, both already padded with a space each side."""
    if padded_phrase in padded_text:
        return 100.0
    if len(phrase) < 5:
        return 0.0
    if _HAS_DIGIT.search(phrase):
        words = padded_text.split()
        if any(t not in words for t in phrase.split() if _HAS_DIGIT.search(t)):
            return 0.0
    if len(padded_text) < len(padded_phrase):
        # A text shorter than the phrase would be found *inside* it by partial_ratio
        # ("adriano celentano" in "poet adriano celentano"): compare the two whole.
        return float(fuzz.ratio(padded_phrase, padded_text))
    return float(fuzz.partial_ratio(padded_phrase, padded_text))


@lru_cache(maxsize=65536)
def _artist_variants(artist: str) -> tuple[str, ...]:
    name = strip_disambiguation(artist)
    full = normalize_text(name)
    variants = [full]
    without_the = full.removeprefix("the ")
    variants.append(without_the)
    # The first of several credits, as sellers write it: "Marcia Bassett / Carlos Giffoni",
    # "Ennio Morricone, Orchestra dell'Accademia ...", "Bach - I Musici, Félix Ayo, ...".
    first_credit = normalize_text(_CREDIT_SPLIT.split(name)[0]).removeprefix("the ")
    primary = _ARTIST_SPLIT.split(without_the)[0].strip()
    for candidate in (first_credit, primary, _ARTIST_SUFFIX.sub("", primary).strip()):
        # A lone first name of a duo ("simon") is too weak to stand for the artist; one
        # longer word ("kuffdam" of "Kuffdam & Plant") is a name of its own.
        words = candidate.split()
        if candidate and (len(words) >= 2 or len(candidate) >= 6 or candidate == without_the):
            variants.append(candidate)
    return tuple(dict.fromkeys(v for v in variants if v))


@lru_cache(maxsize=65536)
def _title_variants(title: str) -> tuple[str, ...]:
    variants = [normalize_text(title), normalize_text(_BRACKETS.sub("", title))]
    # Sellers drop a leading article: "Dark Side of the Moon".
    variants += [v.removeprefix("the ").removeprefix("a ") for v in variants]
    return tuple(dict.fromkeys(v for v in variants if v))


def _best_presence(variants: Iterable[str], texts: Sequence[str]) -> tuple[float, str]:
    """The variant that appears best in any of `texts`, and how well (the first of equals)."""
    if len(texts) == 2 and texts[0] == texts[1]:
        texts = texts[:1]  # the clean text is often the raw one
    padded_texts = [f" {text} " for text in texts]
    best, best_variant = 0.0, ""
    for variant in variants:
        if not variant:
            continue  # absent from any text
        padded = f" {variant} "
        for padded_text in padded_texts:
            value = _padded_presence(variant, padded, padded_text)
            if value > best:
                best, best_variant = value, variant
                if best >= 100.0:
                    return best, best_variant  # verbatim: nothing does better
    return best, best_variant


def _without(text: str, phrase: str) -> str:
    """`text` with the first whole-word occurrence of `phrase` taken out."""
    padded = f" {text} "
    at = padded.find(f" {phrase} ")
    if at < 0:
        return text
    return (padded[:at] + " " + padded[at + len(phrase) + 2 :]).strip()


def _title_presence(
    title: str, artist_variant: str, artist_verbatim: bool, listing: _ListingText
) -> tuple[float, str, bool]:
    """How well the release title appears in the listing *besides* the artist's name.

    The artist's own occurrence cannot also stand for the title ("Mario Lanza" names no
    record "Lanza"; "Artist - Some Title" no record "Artist – Artist") unless the title
    holds the whole artist name ("The Velvet Underground & Nico"). A self-titled release
    named once is reported as such (third value): it fits only a listing with nothing else.
    """
    variants = _title_variants(title)
    texts: Sequence[str] = (listing.clean, listing.raw)
    if not artist_verbatim:
        value, variant = _best_presence(variants, texts)
        return value, variant, False
    rest = [_without(listing.clean, artist_variant), _without(listing.raw, artist_variant)]
    value, variant = _best_presence(variants, rest)
    if value >= PRESENCE_CUTOFF:
        artist_words = set(artist_variant.split())
        if set(variant.split()) < artist_words:
            # A title made of the artist's words ("Lanza" by Mario Lanza): a listing that
            # names the whole artist twice ("Mario Lanza - Mario Lanza") is another record.
            others = artist_words - set(variant.split())
            if any(others & set(_without(r, variant).split()) for r in rest):
                return 0.0, variant, False
        return value, variant, False
    padded_artist = f" {artist_variant} "
    for holding in (v for v in variants if padded_artist in f" {v} " and v != artist_variant):
        # The title holds the artist's name ("The Velvet Underground & Nico"): one
        # occurrence serves both, and the rest of the title must be there too.
        extra = _without(holding, artist_variant)
        if max(_presence(extra, r) for r in rest) >= PRESENCE_CUTOFF:
            return max(_presence(holding, t) for t in texts), holding, False
    if artist_variant in variants or normalize_text(title) in _SELF_TITLED:
        return 100.0, artist_variant, True
    return value, variant, False


def _explains(token: str, vocabulary: frozenset[str]) -> bool:
    if token in vocabulary:
        return True
    if len(token) < 5:
        return False
    return any(len(word) >= 4 and fuzz.ratio(token, word) >= PRESENCE_CUTOFF for word in vocabulary)


def _unexplained(
    entry: CatalogEntry, name_tokens: frozenset[str], listing: _ListingText
) -> tuple[str, ...]:
    """The listing's informative words that the release does not explain."""
    context = set(name_tokens)
    for extra in (*entry.labels, *entry.format_descriptions, entry.country or ""):
        context.update(normalize_text(extra).split())
    context.update(c.lower() for c in entry.catalog_nos)
    words: list[str] = []
    for token in listing.clean_tokens:
        if (
            token in STOPWORDS
            or token in NEUTRAL_WORDS
            or len(token) == 1
            or _HAS_DIGIT.search(token)
            or token in context
        ):
            continue
        if not _explains(token, frozenset(name_tokens)):
            words.append(token)
    return tuple(words)


def _decoy(entry_names: str, listing: _ListingText) -> tuple[str, ...]:
    """Decoy phrases in the listing that the release's own artist/title does not contain."""
    if not listing.decoys:
        return ()
    padded = f" {entry_names} "
    return tuple(sorted(p for p in listing.decoys if f" {p} " not in padded))


def _format_conflict(entry: CatalogEntry, listing: _ListingText) -> bool:
    if listing.format is None:
        return False
    family = format_family(entry.format)
    return family is not None and family != listing.format


def _fit(entry: CatalogEntry, listing: _ListingText) -> _Fit:
    cached = listing._cache.get(entry.release_id)
    if cached is not None:
        return cached
    artist_norm = normalize_text(strip_disambiguation(entry.artist))
    title_norm = normalize_text(entry.title)
    names = f"{artist_norm} {title_norm}"
    texts = (listing.clean, listing.raw)
    if artist_norm in _VARIOUS:
        artist = 100.0 if _VARIOUS_MARKERS.search(listing.raw) else 0.0
        artist_variant = ""
        name_tokens = frozenset(title_norm.split()) | {"various", "artists", "va"}
    else:
        artist, artist_variant = _best_presence(_artist_variants(entry.artist), texts)
        name_tokens = frozenset(names.split())
    title, title_variant, self_titled_once = _title_presence(
        entry.title, artist_variant, artist >= 100.0, listing
    )
    relevant = max(artist, title) >= PRESENCE_CUTOFF  # else nothing more is worth computing
    decoy = _decoy(names, listing)
    wrong_format = _format_conflict(entry, listing)
    unexplained = _unexplained(entry, name_tokens, listing) if relevant else ()
    other_record = (
        tuple(other_record_words(listing.clean_tokens, listing.raw, names, entry.catalog_nos))
        if relevant
        else ()
    )
    doubts: tuple[str, ...] = ()
    if relevant:
        evidence = _evidence(listing)
        doubts = tuple(
            contradictions(
                title_catnos=evidence.catalog_numbers,
                title_barcodes=evidence.barcodes,
                title_years=evidence.years,
                catalog_nos=entry.catalog_nos,
                barcodes=entry.barcodes,
                year=entry.year,
                names=names,
                labels=entry.labels,
            )
        )
    fit = _Fit(
        entry=entry,
        artist=artist,
        title=title,
        unexplained=len(unexplained) if relevant else 99,
        unexplained_words=unexplained,
        decoys=decoy,
        other_record=other_record,
        short_title=len((title_variant or title_norm).split()) <= 1,
        refused=bool(decoy) or wrong_format or bool(other_record),
        wrong_format=wrong_format and not decoy and not other_record,
        self_titled_once=self_titled_once,
        doubts=doubts,
    )
    listing._cache[entry.release_id] = fit
    return fit


def _detail_score(entry: CatalogEntry, listing: _ListingText) -> int:
    """Agreement of the title's details (year, country, label, mono/stereo, reissue) with a
    pressing."""
    score = 0
    if entry.year is not None and entry.year in listing.years:
        score += 1
    if entry.country and normalize_text(entry.country) in listing.countries:
        score += 1
    if entry.labels and names_label(entry.labels, listing.raw):
        score += 1
    descriptions = {normalize_text(d) for d in entry.format_descriptions}
    for wanted in listing.descriptions:
        if wanted in descriptions:
            score += 1
        elif _OPPOSITES.get(wanted) in descriptions:
            score -= 1
    return score


# ---------------------------------------------------------------- choosing among candidates


@dataclass(frozen=True, slots=True)
class _Choice:
    """One release (`fit`); or one album whose pressing the title does not settle (`album`,
    best first; `outside`: the title names a pressing none of them is); or near-equal fits
    of different records (`ambiguous`)."""

    fit: _Fit | None
    ambiguous: tuple[int, ...] = ()
    settled_by_details: bool = False
    album: tuple[_Fit, ...] = ()
    outside: bool = False


def _by_details(fits: Sequence[_Fit], listing: _ListingText) -> _Fit | None:
    """The one fit the title's details agree with best, if one stands out."""
    if len(fits) == 1:
        return fits[0]
    details = sorted(((_detail_score(f.entry, listing), f) for f in fits), key=lambda p: -p[0])
    if details[0][0] > 0 and details[0][0] > details[1][0]:
        return details[0][1]
    return None


def _choose(fits: Sequence[_Fit], listing: _ListingText, *, weigh_doubts: bool = True) -> _Choice:
    """The one best fit; or the album when only its pressing is in doubt; or the ids of
    near-equal fits of different records when the title cannot tell them apart."""
    if not fits:
        return _Choice(None)
    ranked = sorted(fits, key=lambda f: (-f.score, f.entry.release_id))
    best = ranked[0]
    near = [f for f in ranked if f.score >= best.score - NEAR_TIE]
    if not all(_same_record(f.entry, best.entry) for f in near):
        chosen = _by_details(near, listing)
        if chosen is None:
            return _Choice(None, ambiguous=tuple(f.entry.release_id for f in near))
        near = [f for f in near if _same_record(f.entry, chosen.entry)]
        near.sort(key=lambda f: f is not chosen)
    # One album. The pressings the title contradicts (another catalog number, barcode,
    # year) are out; of the rest, one the details single out is the release.
    consistent = [f for f in near if not (weigh_doubts and f.doubts)]
    if not consistent:
        return _Choice(None, album=tuple(near), outside=True)
    chosen = _by_details(consistent, listing)
    if chosen is not None:
        return _Choice(chosen, settled_by_details=len(near) > 1)
    return _Choice(None, album=tuple(consistent))


def _same_record(a: CatalogEntry, b: CatalogEntry) -> bool:
    """Pressings of one album: one master, or the same artist and title (two masters are
    two albums, however alike their names)."""
    if a.master_id is not None and b.master_id is not None:
        return a.master_id == b.master_id
    return normalize_text(strip_disambiguation(a.artist)) == normalize_text(
        strip_disambiguation(b.artist)
    ) and normalize_text(a.title) == normalize_text(b.title)


def _better_named_elsewhere(chosen: _Fit, fits: Iterable[_Fit]) -> tuple[int, ...]:
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


def _guarded(choice: _Choice, fits: Sequence[_Fit]) -> _Choice:
    """`choice`, unless a release refused for its format names the listing as well."""
    lead = choice.fit or (choice.album[0] if choice.album else None)
    if lead is None:
        return choice
    rivals = _better_named_elsewhere(lead, fits)
    if rivals:
        return _Choice(None, ambiguous=(lead.entry.release_id, *rivals))
    return choice


def _identifier_choice(
    entries: Iterable[CatalogEntry],
    listing: _ListingText,
    *,
    need_names: bool,
    provided: bool,
    note: TierNote | None = None,
) -> _Choice:
    """The release among those carrying an identifier. One the seller gave in the item
    specifics (`provided`) outweighs what the title says of other pressings."""
    unique = {e.release_id: e for e in entries}
    fits = [_fit(e, listing) for e in unique.values()]
    usable = [f for f in fits if (f.plausible if need_names else not f.refused)]
    choice = _guarded(_choose(usable, listing, weigh_doubts=not provided), fits)
    if note is not None:
        note.candidates.extend(f.note(f in usable) for f in fits)
        note.outcome = _choice_words(choice)
    return choice


def _identifier_confidence(choice: _Choice, method: MatchMethod) -> float:
    lead = choice.fit or choice.album[0]
    exact = method is MatchMethod.BARCODE or lead.both_present
    confidence = 1.0 if exact else 0.95
    if choice.settled_by_details or choice.album:
        confidence -= 0.05
    return confidence


def _album_identification(choice: _Choice, confidence: float) -> Identification:
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


# ---------------------------------------------------------------- the tiers


def identify(
    listing: Listing, catalog: CatalogLookup, trace: MatchTrace | None = None
) -> Identification:
    """Which release `listing` is, how it was found and how sure we are — or why not.

    With a `trace`, every tier tried and every candidate weighed is written into it.
    """
    text = _prepare(listing)
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

    def settle(choice: _Choice, method: MatchMethod) -> Identification | None:
        if choice.fit is not None:
            release_id = choice.fit.entry.release_id
            if ambiguous and release_id not in ambiguous:
                return None  # identifiers disagree: no guess
            return Identification(
                Match(release_id, method, _identifier_confidence(choice, method)),
                candidates=(release_id,),
            )
        if choice.album and not album:
            album.append(_album_identification(choice, _identifier_confidence(choice, method)))
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
        choice = _identifier_choice(
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


def _choice_words(choice: _Choice) -> str:
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


def _query_words(text: _ListingText) -> list[str]:
    words: dict[str, None] = {}
    for token in text.clean_tokens:
        if token in STOPWORDS or len(token) < 2:
            continue
        words.setdefault(token, None)
    return list(words)[:MAX_QUERY_WORDS]


def _fuzzy(
    text: _ListingText, catalog: CatalogLookup, trace: MatchTrace | None = None
) -> Identification:
    words = _query_words(text)
    note = trace.tier("artist + title", tuple(words)) if trace is not None else None
    if not words:
        if note is not None:
            note.outcome = "nothing left of the title to look for"
        return _NO_MATCH
    fits = [_fit(e, text) for e in catalog.fuzzy_candidates(words, FUZZY_CANDIDATES)]
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
    choice = _guarded(_choose(accepted, text), fits)
    lead = choice.fit or (choice.album[0] if choice.album else None)
    if lead is None:
        return Identification(None, ambiguous=True, candidates=choice.ambiguous)
    confidence = min(lead.score, 100.0) / 100 * 0.95
    if choice.settled_by_details or choice.album:
        confidence -= 0.05
    if choice.album:
        return _album_identification(choice, confidence)
    release_id = lead.entry.release_id
    return Identification(
        Match(release_id, MatchMethod.FUZZY, round(confidence, 3)), candidates=(release_id,)
    )


def match_listing(listing: Listing, catalog: CatalogLookup) -> Match | None:
    """The release `listing` is, or None when no release is certain enough."""
    return identify(listing, catalog).match
