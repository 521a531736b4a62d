"""What a listing title says about *which pressing* it is, beyond the artist and title.

An original and its reissue can differ tenfold in price, so the matcher treats the title's
details as evidence for or against each candidate pressing:

* **against** — a catalog-number-like token or a barcode that is none of the pressing's
  identifiers, or a year that is not its year: the listing is probably another pressing
  (`contradictions`);
* **for** — the pressing's label named in the title ("Blue Note", "Harvest"), which can
  decide between pressings of one album (`names_label`);
* **a cut identifier** — eBay stops titles at 80 characters, so a catalog number or barcode
  at the very end may be only its beginning (`cut_identifier`).

And what says the listing is *another record* by the same artist altogether: a number after
"Vol."/"Part"/"No." that the release title does not carry, or an edition word ("Live",
"Remixes", "Versions") that neither its artist nor its title explains (`other_record_words`).

Pure functions over strings and `CatalogEntry`-like values; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from functools import lru_cache

from vinyl_detective.domain.normalize import strip_disambiguation
from vinyl_detective.domain.title_noise import clean_title, normalize_text

__all__ = [
    "EBAY_TITLE_LIMIT",
    "EDITION_WORDS",
    "barcodes_in",
    "catalog_number_like",
    "catalog_numbers_in",
    "contradictions",
    "cut_identifier",
    "names_label",
    "other_record_words",
    "years_in",
]


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


EBAY_TITLE_LIMIT = 80
"""eBay cuts titles here; a title this long (give or take trailing spaces) may be cut."""
_CUT_SLACK = 3

# Words that make a record another record than the album of the same name: a live album,
# a remix album, a demo collection. A listing word of these that the release's own names do
# not contain means the listing is not that release.
EDITION_WORDS = _word_set(
    """
    live remix remixes remixed versions instrumental instrumentals acoustic unplugged demo
    demos outtakes rarities bootleg greatest hits anthology megamix mixes edits reworks
    reworked sessions
    """
)
# "Vol. 2", "Part II", "No. 5", "Op. 27", "N°3", "Folge 1": a number that tells one record of
# a series from the next.
_SEQUENCE = re.compile(
    r"\b(?:vol|volume|part|pt|chapter|book|op|opus|folge|series|episode|no|nr|n)"
    r"\s+(\d{1,3}|[ivx]{1,5})\b"
)
# Catalog-number-like values (normalised, see domain/normalize.py) that are something else.
_NOT_CATNOS = frozenset({"MP3", "MP4", "FLAC", "WAV", "4K", "HD", "3D"})
_LABEL_SUFFIX = re.compile(
    r"\s+(?:records|recordings|record company|music|musique|schallplatten|disques|ltd|inc)$"
)
_YEAR = re.compile(r"^(?:19[0-9]\d|20[0-4]\d)$")
_ASCII_DIGIT = re.compile(r"[0-9]")


_EDGE = "()[]{}<>,;:!?#\"'*|~"
_SEPARATORS = re.compile(r"[\s\-_./:·]+")
_DIGITISH = re.compile(r"^[\d\-./]+$")
_SIZE_NUMBERS = frozenset({"7", "10", "12", "33", "45", "78"})
_SIZE_WORDS = frozenset({"inch", "in", "rpm", "''", '"'})
_SIZE = re.compile(r"^\(?\d{1,2}(?:\"|”|″|''|-?inch)\)?$", re.IGNORECASE)
# Sizes, weights, counts and the like, once normalised: "180G", "2LP", "45RPM", "1ST", "70S".
_NOISE = re.compile(
    r"^(?:\d{1,3}(?:LP|LPS|XLP|CD|CDS|XCD|X|G|GR|GRAM|GRAMS|RPM|ST|ND|RD|TH|S|INCH|IN|CM|MM)"
    r"|\d{1,3}X\d{1,3}|(?:LP|CD|EP)\d)$"
)
# Words that a number follows without making a catalog number ("Vol 12", "Op 27").
_NOT_PREFIXES = _word_set(
    """
    vol volume part pt chapter book op opus folge series episode no nr n bwv kv hob d
    mix take track tracks disc cd lp ep size top the a of by and in on at to for
    """
)


def _compact(value: str) -> str:
    return _SEPARATORS.sub("", value).upper()


def _is_year(digits: str) -> bool:
    return _YEAR.match(digits) is not None


@lru_cache(maxsize=16384)
def _seller_noise(token: str) -> bool:
    return not clean_title(token)


def _digit_count(token: str) -> int:
    """ASCII digits only: "²" of "Dark²" is no digit of a catalog number."""
    return len(_ASCII_DIGIT.findall(token))


def _number_group(token: str) -> bool:
    """A token that continues a number run: digits (with separators), not a year, not a
    size or speed ("12", "45")."""
    return (
        bool(token)
        and _DIGITISH.match(token) is not None
        and _digit_count(token) > 0
        and not _is_year(_compact(token))
        and token not in _SIZE_NUMBERS
    )


def _mixed_catalog_number(compact: str) -> bool:
    """Letters and digits in one token: "NM008", "D4L12007", "2MR071" — or one digit after
    two letters or more ("PFRLP8"); not "6EYE" (a Columbia label), "2DISC" or "8TRACK"."""
    digits = _digit_count(compact)
    if not digits or not any(ch.isalpha() for ch in compact):
        return False
    return digits >= 2 or (compact[-1].isdigit() and compact[:2].isalpha())


def catalog_numbers_in(title: str) -> list[str]:
    """Catalog numbers a title seems to carry, normalised ("WHK 3227" → "WHK3227").

    Stricter than the lookup candidates (`title_identifiers.catalog_no_candidates`, which
    try every run of tokens against the catalog): these are evidence *against* a pressing,
    so only what reads as a catalog number counts — a token mixing letters and digits
    ("PFRLP8", "NM-008"), a short capitalised prefix and a number ("SHVL 804", "MO 036"), or
    a number of four digits or more that is not a year ("5779", "558742-1", "849 020").
    """
    if not _ASCII_DIGIT.search(title):
        return []
    # A size ('7"', "12''", "12 inch", "45 rpm") is no part of a number: it becomes a gap.
    words = title.split()
    tokens = [
        ""
        if _SIZE.match(t)
        or (t in _SIZE_NUMBERS and i + 1 < len(words) and words[i + 1].lower() in _SIZE_WORDS)
        else t.strip(_EDGE)
        for i, t in enumerate(words)
    ]
    found: dict[str, None] = {}

    def add(value: str) -> None:
        if catalog_number_like(value) and not _NOISE.match(value):
            found.setdefault(value, None)

    i = 0
    while i < len(tokens):
        token = tokens[i]
        compact = _compact(token)
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if not token:
            i += 1
            continue
        if _DIGITISH.match(token) and _digit_count(token) > 0:
            # A run of number groups ("9 47555-2", "849 020"), ended by a year or a size.
            run = [token]
            j = i + 1
            while j < len(tokens) and _number_group(tokens[j]):
                run.append(tokens[j])
                j += 1
            if _is_year(_compact(token)):
                i += 1
                continue
            if len(run) > 1 and _digit_count(run[0]) < 3 and _digit_count(run[1]) < 4:
                run = run[:1]  # "4 12": a size or a count, then something else
            digits = _compact("".join(run))
            if len(digits) >= 4 and len(digits) not in (12, 13):
                add(digits)
            i = i + len(run)
            continue
        if compact.isalnum() and _mixed_catalog_number(compact):
            add(compact)
        elif (
            token.isalpha()
            and len(token) <= 6
            and token[0].isupper()
            and token.lower() not in _NOT_PREFIXES
            and not _seller_noise(token)  # "Album 924", "Vinyl 2740"
            and _DIGITISH.match(nxt)
            and _digit_count(nxt) >= 3
            and not _is_year(_compact(nxt))
        ):
            add(compact + _compact(nxt))
            i += 2
            continue
        i += 1
    return list(found)


def catalog_number_like(value: str) -> bool:
    """A normalised title token that reads as a catalog number: "WHK3227", "SHVL804",
    "558742" — letters and digits only, at least four, a digit among them, not a year."""
    if len(value) < 4 or not value.isalnum() or value in _NOT_CATNOS:
        return False
    if not _digit_count(value):
        return False
    return not _YEAR.match(value)


def _explained(value: str, identifiers: Iterable[str], labels: Iterable[str] = ()) -> bool:
    """The title token is (part of) one of the release's identifiers, or holds one whole:
    "3227" of "WHK3227", "NOTEBLP4003" around "BLP4003", "ASH157" of "ASH157LP"; also after
    the label's name, which sellers put in front ("GTO 2321" of "2321 106" on GTO). Another
    prefix is another pressing: "KCS 8163" is not "PC 8163"."""
    known = [k for k in identifiers if len(k) >= 3]
    if any(value in k or k in value for k in known):
        return True
    for label in labels:
        name = _compact(_label_phrase(label))
        if len(name) >= 2 and value.startswith(name) and len(value) - len(name) >= 3:
            rest = value[len(name) :]
            if any(rest in k for k in known):
                return True
    return False


def _name_digits(names: str) -> frozenset[str]:
    return frozenset(t for t in names.split() if _digit_count(t) > 0)


def contradictions(
    *,
    title_catnos: Collection[str],
    title_barcodes: Collection[str],
    title_years: Collection[int],
    catalog_nos: Collection[str],
    barcodes: Collection[str],
    year: int | None,
    names: str,
    labels: Collection[str] = (),
) -> list[str]:
    """Why the title says it is another pressing than this one (empty: nothing says so).

    `title_catnos` are the catalog numbers read from the title (`catalog_numbers_in`),
    `names` the release's normalised artist and title and `labels` its labels (a number
    that is part of them — "1999", "Deep4Life", "F-111 Records" — is no catalog number).
    """
    reasons: list[str] = []
    own_words = [_compact(n) for n in (names, *labels)]
    known = [*catalog_nos, *barcodes]
    for value in title_catnos:
        if _explained(value, known, labels) or any(value in words for words in own_words):
            continue
        reasons.append(f"catalog number {value} is not this pressing's")
        break
    unpadded = [c.lstrip("0") for c in known]
    for ean in title_barcodes:
        if not _explained(ean.lstrip("0"), unpadded):
            reasons.append(f"barcode {ean} is not this pressing's")
            break
    years = {y for y in title_years if str(y) not in _name_digits(names)}
    if years and year is not None and year not in years:
        reasons.append(f"year {min(years)} is not this pressing's ({year})")
    return reasons


def years_in(title: str) -> frozenset[int]:
    """Years written as words of their own ("1975", "(1975)", "'1975"), not inside a catalog
    number ("PRS-2046")."""
    years = set()
    for token in title.split():
        value = token.strip(_EDGE + ".")
        if _YEAR.match(value):
            years.add(int(value))
    return frozenset(years)


def barcodes_in(title: str) -> list[str]:
    """Barcodes written as one word of 12 or 13 digits ("0602557123456", "075678626654"):
    stricter than the lookup's reading, which joins spaced groups."""
    found: list[str] = []
    if not _ASCII_DIGIT.search(title):
        return found
    for token in title.split():
        value = token.strip(_EDGE).replace("-", "")
        if value.isascii() and value.isdigit() and len(value) in (12, 13):
            found.append(value.rjust(13, "0"))
    return found


def other_record_words(
    listing_tokens: Iterable[str], listing_text: str, names: str, identifiers: Iterable[str] = ()
) -> list[str]:
    """Words of the listing that make it another record than the one named `names`.

    An edition word ("live", "remixes") the names lack, or a series number ("vol 2") whose
    number is not in the names (nor in the release's catalog numbers: "Sr. No. 1048").
    `listing_text` and `names` are normalised.
    """
    name_tokens = frozenset(names.split())
    found = [
        t for t in dict.fromkeys(listing_tokens) if t in EDITION_WORDS and t not in name_tokens
    ]
    numbers = [n for n in _SEQUENCE.findall(listing_text) if n not in name_tokens]
    if numbers:
        known = [i.lower() for i in identifiers]
        found += [f"#{n}" for n in numbers if not any(n in k for k in known)]
    return found


@lru_cache(maxsize=65536)
def _label_phrase(label: str) -> str:
    name = normalize_text(strip_disambiguation(label))
    return _LABEL_SUFFIX.sub("", name).strip()


def names_label(labels: Iterable[str], listing_text: str) -> bool:
    """The title names one of these labels ("Blue Note", "Harvest", "Virgin Records")."""
    padded = f" {listing_text} "
    for label in labels:
        phrase = _label_phrase(label)
        if len(phrase) >= 3 and f" {phrase} " in padded:
            return True
    return False


def cut_identifier(title: str, catnos: list[str], barcodes: list[str]) -> tuple[str, str] | None:
    """("catno" | "barcode", prefix) when the title is as long as eBay allows and ends in
    what may be the beginning of an identifier ("... Eyes Like Snow EY", "... 07777465")."""
    stripped = title.rstrip()
    if len(stripped) < EBAY_TITLE_LIMIT - _CUT_SLACK or not stripped:
        return None
    tail = re.search(r"(\d[\d \-]{6,})$", stripped)
    if tail:
        digits = re.sub(r"\D", "", tail.group(1))
        if 8 <= len(digits) < 13:
            return "barcode", digits
    last = stripped.split()[-1].strip("()[]{},;:!?#\"'*|~").upper()
    ending = [c for c in catnos if last and c.endswith(re.sub(r"[\s\-_./:·]+", "", last))]
    longest = max(ending, key=len, default="")
    if catalog_number_like(longest):
        return "catno", longest
    return None
