"""How well one catalog release fits a listing, and what refuses it outright.

Sellers pad titles with words that are neither artist nor title, so a symmetric ratio
(token_sort_ratio, WRatio) punishes honest listings and rewards short releases. Instead
each side is checked for *presence* — rapidfuzz `partial_ratio` of the name against the
listing text, padded with spaces so that it aligns on word boundaries and tolerates a typo —
and the listing's left-over informative words (not noise, not genre or country words, not
the release's label, catalog number or year) each cost points:
`score = (artist_presence + title_presence) / 2 - 5 × unexplained_words`, cutoff 85.
"Miles Davis Kind of Blue" therefore never becomes "Miles Davis – Sketches of Spain"
(title absent) nor "Miles Davis – Blue" (one-word title with a word left over).

A release is refused for decoy words its own names lack ("tribute to", "empty sleeve",
"lot of"), for another format than the listing's, or for words that make the listing
another record of the artist ("Live", "Vol. 2"); what the title says of other pressings
(catalog number, barcode, year) is kept as doubts (domain/pressing_evidence.py).
`detail_score` is how well the title's details (year, country, label, mono/stereo) agree
with a pressing, for choosing among pressings (domain/candidate_choice.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from vinyl_detective.domain.catalog_entry import CatalogEntry
from vinyl_detective.domain.listing_text import ListingText, evidence_of, format_family
from vinyl_detective.domain.match_trace import CandidateNote
from vinyl_detective.domain.normalize import strip_disambiguation
from vinyl_detective.domain.pressing_evidence import (
    contradictions,
    names_label,
    other_record_words,
)
from vinyl_detective.domain.title_noise import NEUTRAL_WORDS, STOPWORDS, normalize_text

__all__ = ["FUZZY_CUTOFF", "Fit", "detail_score", "fit"]

FUZZY_CUTOFF = 85.0  # tier-3 score (0..100) needed for a match
PRESENCE_CUTOFF = 88.0  # how well an artist or title must appear in the listing
UNEXPLAINED_PENALTY = 5.0  # points per informative listing word the release does not explain
ONE_NAME_UNEXPLAINED = 2  # identifier hit naming only the artist or the title: words left at most

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
_HAS_DIGIT = re.compile(r"\d")


@dataclass(frozen=True, slots=True)
class Fit:
    """How well one release fits one listing: `plausible` for a release carrying one of the
    listing's identifiers, `fuzzy_ok` for one found by its words, `score` to rank them."""

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
    title: str, artist_variant: str, artist_verbatim: bool, listing: ListingText
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
    entry: CatalogEntry, name_tokens: frozenset[str], listing: ListingText
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


def _decoy(entry_names: str, listing: ListingText) -> tuple[str, ...]:
    """Decoy phrases in the listing that the release's own artist/title does not contain."""
    if not listing.decoys:
        return ()
    padded = f" {entry_names} "
    return tuple(sorted(p for p in listing.decoys if f" {p} " not in padded))


def _format_conflict(entry: CatalogEntry, listing: ListingText) -> bool:
    if listing.format is None:
        return False
    family = format_family(entry.format)
    return family is not None and family != listing.format


def fit(entry: CatalogEntry, listing: ListingText) -> Fit:
    """How well `entry` fits `listing`; weighed once per listing and release."""
    cached = listing.fits.get(entry.release_id)
    if isinstance(cached, Fit):
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
        evidence = evidence_of(listing)
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
    result = Fit(
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
    listing.fits[entry.release_id] = result
    return result


def detail_score(entry: CatalogEntry, listing: ListingText) -> int:
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
