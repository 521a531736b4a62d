"""What marketplace titles say that is not the artist or the title.

Sellers write "🔥 RARE Art Blakey Moanin' LP Blue Note BLP-4003 VG+ 1st press!!". The
matcher needs "art blakey moanin blue note blp 4003". This module knows the vocabulary:

* noise — grading, formats, sizes, pressing boasts, shipping talk: removed by `clean_title`;
* neutral words — genres, countries, edition words: kept in the text (an artist may be
  called "The Jazz Messengers") but never counted as evidence against a candidate;
* decoys — "lot of", "empty sleeve", "poster", "tribute to", "karaoke": the listing is
  not the record itself (unless the release's own name says so).

Pure functions over strings; no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "DECOY_PHRASES",
    "NEUTRAL_WORDS",
    "STOPWORDS",
    "clean_title",
    "decoy_phrases_in",
    "normalize_text",
]

# Grades: VG+, VG++, NM-, M-, EX+, G+, "VG/VG+", "M/M" (bare "G"/"P"/"M" are left alone).
_GRADE = r"(?:m|nm|ex|vg|g|f|p)(?:\+{1,2}|-)|(?:nm|ex|vg|mint|near\s+mint)"
# Each pattern below starts with a lookahead of the characters its matches can start with:
# the same matches, found without trying every alternative at every letter of a title.
_GRADES = re.compile(
    r"(?=[mnevgfp])(?:"
    rf"(?<![\w+])(?:{_GRADE})(?:\s*/\s*(?:{_GRADE}|m|g))*(?![\w+])|(?<![\w+])m\s*/\s*m(?![\w+])"
    r")"
)
_SIZES = re.compile(
    r"(?=[\d\srxlcm])(?:"
    r"(?<!\w)\d{1,2}\s*(?:\"|''|”|“|″|-?\s*inch(?:es)?\b|in\b)"
    r"|\b(?:33|45|78)(?:\s*1/3)?\s*(?:rpm)?\b(?=\s*(?:rpm|single|record|vinyl|$|\W))"
    r"|\brpm\b"
    r"|\b\d{2,3}\s*(?:g|gr|gm|gram|grams|gramm)\b"
    r"|\b\d{0,2}\s*x?\s*(?:lps?|cds?|mcs?)\b"
    r")"
)
_COLOURS = (
    "black|white|red|blue|green|yellow|orange|purple|pink|clear|gold|silver|grey|gray|"
    "transparent|translucent|smoke|smokey|coloured|colored|color|colour|splatter|marble|"
    "marbled|swirl|opaque|neon|glow|milky|bone|cream|violet|magenta|teal|aqua|ruby|amber"
)
_COLOURED_ENDS = ("vinyl", "wax", "lp", "pressing", "variant", "edition")
_COLOURED_VINYL = re.compile(
    rf"\b(?:(?:{_COLOURS})\s*(?:/|&|and|-)?\s*)+(?:{'|'.join(_COLOURED_ENDS)})\b"
)
_PHRASES = re.compile(
    r"\b(?:1st|first|2nd|second|early|orig(?:inal)?|og|us|uk)\s+(?:press(?:ing)?|pressed|issue)\b"
    r"|\bfree\s+(?:shipping|ship|post(?:age)?|p\s*&?\s*p)\b|\bfast\s+(?:shipping|ship|post)\b"
    r"|\bships?\s+(?:fast|free|quick(?:ly)?|same\s+day)\b"
    r"|\bw\s*/\s*(?:insert|inserts|inner|obi|poster|booklet|hype|shrink)\b"
    r"|\bin\s+shrink\b|\bplay\s*graded\b|\bl@@k\b|\bnew\s+and\s+sealed\b|\bbrand\s+new\b"
    r"|\bstill\s+sealed\b|\bfactory\s+sealed\b"
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_NOISE_WORDS = _words(
    """
    lp lps 2lp 3lp 2xlp 3xlp dlp ep vinyl vinyle vinilo schallplatte record records album
    cd cds cassette cassettes tape tapes mc single maxi wax
    vg nm ex mint sealed new unplayed rare htf oop scarce
    original orig og reissue repress remaster remastered reprint
    1st first press pressing pressed heavyweight audiophile gatefold gf insert inserts
    inner obi hype sticker shrink shrinkwrap promo wlp dj mono stereo
    free shipping ship ships fast post postage quick tested graded
    nice clean great beautiful superb excellent good condition cond lovely look wow hear
    copy ltd limited numbered deluxe edition anniversary expanded
    """
)
NEUTRAL_WORDS = _words(
    """
    jazz rock pop soul funk blues hard bop bebop hip hop rap punk metal psych psychedelic
    prog progressive folk country disco house techno electronic electronica classical
    reggae dub ska ambient experimental indie alternative gospel rnb latin world
    soundtrack ost spiritual modal cool vocal exotica lounge library krautrock garage wave
    synth northern groove breaks breakbeat funky boogie fusion avant garde free
    us usa uk japan japanese jp german germany france french canada canadian italy italian
    holland dutch euro europe european australia australian uk eu import
    label labels stamp rvg ear vanity deep dg nyc lexington
    colored coloured color colour splatter marble variant
    sleeve cover jacket inner booklet poster obi rpm
    s60 60s 70s 80s 90s sixties seventies eighties
    """
)
STOPWORDS = _words(
    "a an the of and or in on at to for by from with w is it its my your our de la le el "
    "les der die das und"
)
# A listing containing one of these is not the record itself, unless the release's own
# artist or title contains the same words ("Tribute" by Ozzy Osbourne, "Book of Dreams").
DECOY_PHRASES = (
    "lot",
    "lots",
    "job lot",
    "bundle",
    "collection of",
    "records collection",
    "empty sleeve",
    "sleeve only",
    "cover only",
    "jacket only",
    "case only",
    "no vinyl",
    "no record",
    "no disc",
    "no lp",
    "without vinyl",
    "without record",
    "poster",
    "t shirt",
    "tshirt",
    "shirt",
    "hoodie",
    "sweatshirt",
    "book",
    "songbook",
    "sheet music",
    "slipmat",
    "slip mat",
    "record cleaner",
    "cleaner",
    "cleaning",
    "brush",
    "stylus",
    "needle",
    "cartridge",
    "turntable",
    "frame",
    "framed",
    "mug",
    "patch",
    "pin badge",
    "magazine",
    "flyer",
    "ticket",
    "tickets",
    "tribute",
    "plays the music of",
    "plays the hits of",
    "sings the hits of",
    "the music of",
    "karaoke",
    "in the style of",
    "made famous by",
    "as made famous",
    "salute to",
    "string quartet",
    "lullaby",
    "rockabye",
    "backing track",
    "backing tracks",
    "soundalike",
    "sound alike",
    "cover band",
    "covers",
)
_DECOY_RE = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in DECOY_PHRASES) + r")\b")

_APOSTROPHES = re.compile(r"['’‘`´]")
# Any script's letters and digits are words ("Звуки Му", "深き森から"); the rest separates.
_NON_WORD = re.compile(r"[\W_]+")


def _fold(text: str) -> str:
    """Lower case without accents; "&" reads "and"; symbols and emoji become spaces."""
    if text.isascii():
        return text.casefold().replace("&", " and ")
    decomposed = unicodedata.normalize("NFKD", text)
    kept = []
    for ch in decomposed:
        category = unicodedata.category(ch)
        if category == "Mn":
            continue
        if category in ("So", "Sk", "Cs", "Co", "Cn"):
            kept.append(" ")
            continue
        kept.append(ch)
    return "".join(kept).casefold().replace("&", " and ")


@lru_cache(maxsize=65536)
def normalize_text(text: str) -> str:
    """`"Moanin' (Mono) & Más"` → `"moanin mono and mas"`: a comparable form of a name."""
    folded = _APOSTROPHES.sub("", _fold(text))
    return " ".join(_NON_WORD.sub(" ", folded).split())


def clean_title(title: str) -> str:
    """The listing title without seller noise, normalised (see `normalize_text`).

    Removes grades (VG+, NM, M-), formats and sizes (LP, 2LP, 12", 7", 45 rpm, vinyl, CD,
    cassette), weights (180g, 180 gram), coloured-vinyl phrases, pressing boasts (1st
    press, original, OG, RARE, sealed, new), shipping talk and emoji.
    """
    text = _APOSTROPHES.sub("", _fold(title))
    if any(word in text for word in _COLOURED_ENDS):
        text = _COLOURED_VINYL.sub(" ", text)
    text = _PHRASES.sub(" ", text)
    text = _GRADES.sub(" ", text)
    text = _SIZES.sub(" ", text)
    words = _NON_WORD.sub(" ", text).split()
    return " ".join(w for w in words if w not in _NOISE_WORDS)


def decoy_phrases_in(normalised: str) -> set[str]:
    """Decoy phrases found in an already normalised text."""
    return {m.group(0) for m in _DECOY_RE.finditer(normalised)}
