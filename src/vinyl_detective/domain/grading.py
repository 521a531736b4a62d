"""The Discogs (Goldmine) grading scale, and reading grades out of what sellers write.

The scale, worst to best: P < F < G < G+ < VG < VG+ < NM < M. Sellers spell grades in
many ways ("VG +", "vg plus", "Very Good Plus (VG+)", "EX", "M-", "sealed"); `parse_grade`
reads one grade, `grade_from_listing` finds the media grade of an eBay listing.

Rounding policy: a seller's "minus" grade rounds *down* one step (VG- → G+, EX- → VG,
G- → F), because an overstated grade makes a listing look like a better deal than it is.
"NM-" and "M-" are the Discogs NM grade itself ("Near Mint (NM or M-)"). The UK "Record
Collector" scale's EX/EX+ sits where Goldmine puts VG+.
"""

from __future__ import annotations

import re
from enum import IntEnum


class Grade(IntEnum):
    """A media or sleeve grade; comparisons follow the scale (`Grade.VG_PLUS > Grade.VG`)."""

    P = 1
    F = 2
    G = 3
    G_PLUS = 4
    VG = 5
    VG_PLUS = 6
    NM = 7
    M = 8


_CODES: dict[Grade, str] = {
    Grade.P: "P",
    Grade.F: "F",
    Grade.G: "G",
    Grade.G_PLUS: "G+",
    Grade.VG: "VG",
    Grade.VG_PLUS: "VG+",
    Grade.NM: "NM",
    Grade.M: "M",
}

# Spellings after `_simplify` (lower case, "plus" → "+", no dots, single spaces).
_SPELLINGS: dict[str, Grade] = {
    # Mint, and the ways sellers say "never opened".
    "m": Grade.M,
    "mint": Grade.M,
    "sealed": Grade.M,
    "still sealed": Grade.M,
    "factory sealed": Grade.M,
    "new sealed": Grade.M,
    "sealed new": Grade.M,
    "brand new": Grade.M,
    "new": Grade.M,
    "s": Grade.M,
    # Near Mint.
    "nm": Grade.NM,
    "near mint": Grade.NM,
    "nearmint": Grade.NM,
    "nm or m-": Grade.NM,
    "m-": Grade.NM,
    "mint-": Grade.NM,
    "mint minus": Grade.NM,
    "nm-": Grade.NM,
    "near mint-": Grade.NM,
    "nm+": Grade.NM,
    "ex++": Grade.NM,
    "like new": Grade.NM,
    # Very Good Plus (the UK "Excellent").
    "vg+": Grade.VG_PLUS,
    "vg++": Grade.VG_PLUS,
    "very good+": Grade.VG_PLUS,
    "verygood+": Grade.VG_PLUS,
    "ex": Grade.VG_PLUS,
    "ex+": Grade.VG_PLUS,
    "excellent": Grade.VG_PLUS,
    "excellent+": Grade.VG_PLUS,
    # Very Good.
    "vg": Grade.VG,
    "very good": Grade.VG,
    "verygood": Grade.VG,
    "ex-": Grade.VG,
    "excellent-": Grade.VG,
    # Good Plus.
    "g+": Grade.G_PLUS,
    "good+": Grade.G_PLUS,
    "vg-": Grade.G_PLUS,
    "very good-": Grade.G_PLUS,
    # Good.
    "g": Grade.G,
    "good": Grade.G,
    "g+-": Grade.G,
    "acceptable": Grade.G,
    # Fair and Poor.
    "f": Grade.F,
    "fair": Grade.F,
    "g-": Grade.F,
    "p": Grade.P,
    "poor": Grade.P,
}

_PARENTHESISED = re.compile(r"^(?P<name>[^()]*?)\s*\((?P<code>[^()]+)\)\s*$")


def _simplify(text: str) -> str:
    value = text.strip().lower().replace("＋", "+").replace("−", "-").replace("–", "-")
    value = re.sub(r"\s*\bplus\b", "+", value)
    value = re.sub(r"\s*\bminus\b", "-", value)
    value = value.replace(".", "")
    value = re.sub(r"\s*([+-])", r"\1", value)
    value = re.sub(r"\s+", " ", value)
    return value.strip(" :;,")


def parse_grade(text: str) -> Grade | None:
    """One grade as a seller or Discogs spells it; None when `text` is not a grade.

    >>> parse_grade("Very Good Plus (VG+)") is Grade.VG_PLUS
    True
    >>> parse_grade("Generic") is None   # a sleeve type, not a grade
    True
    """
    match = _PARENTHESISED.match(text)
    if match:
        inner = _SPELLINGS.get(_simplify(match.group("code")))
        if inner is not None:
            return inner
        text = match.group("name")
    return _SPELLINGS.get(_simplify(text))


def grade_code(grade: Grade) -> str:
    """The short code Discogs and collectors use: `"VG+"`, `"NM"`, `"M"`."""
    return _CODES[grade]


GRADE_CODES: tuple[str, ...] = tuple(_CODES[g] for g in sorted(Grade, reverse=True))
"""Every grade code, best first: M, NM, VG+, VG, G+, G, F, P."""


# --- grades in listing titles -------------------------------------------------------------

# Grades as they appear inside a noisy title. Single letters (M, G, F, P) and plain words
# (Mint, Good, Fair, Poor, New) are too ambiguous on their own ("Boney M", "Kenny G",
# "Good Times", "New Order"); they count only in a slash pair ("VG+/M") or after a label
# ("Media: G").
_STRONG = (
    r"near[ ]?mint(?:-|[ ]minus)?|mint-|mint[ ]minus|very[ ]good(?:[ ]?\+|[ ]plus)?"
    r"|excellent(?:[ ]?\+|-)?|vg[ ]?\+\+|vg(?:[ ]?\+|[ ]plus)|vg-|vg|nm(?:[ ]?\+|-)?|m-"
    r"|ex[ ]?\+\+|ex(?:[ ]?\+|-)?|g(?:[ ]?\+|[ ]plus)|good[ ]plus"
)
_WEAK = r"m|g|f|p|mint|good|fair|poor"
_ANY_TOKEN = rf"(?:{_STRONG}|{_WEAK})"
_EDGE_BEFORE = r"(?<![\w+])"
_EDGE_AFTER = r"(?![\w+])"
_STRONG_ONLY = re.compile(rf"(?:{_STRONG})", re.IGNORECASE)

_PAIR = re.compile(
    rf"{_EDGE_BEFORE}(?P<first>{_ANY_TOKEN})\s*/\s*(?P<second>{_ANY_TOKEN}){_EDGE_AFTER}",
    re.IGNORECASE,
)
_LABELS = r"media|vinyl|record|disc|lp|cd|sleeve|cover|jacket|slv|insert"
# "LP VG+" and "Sleeve: G" grade something; "LP Good Times" does not: a weak token needs
# the colon (or "=") after its label.
_LABELLED = re.compile(
    rf"\b(?P<label>{_LABELS})\s*(?:grade|grading|condition|cond)?\s*"
    rf"(?:(?P<sep>[:=])\s*(?P<any>{_ANY_TOKEN})|(?P<strong>{_STRONG})){_EDGE_AFTER}",
    re.IGNORECASE,
)
_SINGLE = re.compile(rf"{_EDGE_BEFORE}(?P<grade>{_STRONG}){_EDGE_AFTER}", re.IGNORECASE)
_SEALED = re.compile(r"\b(?:factory[ -]|still[ -])?sealed\b", re.IGNORECASE)
_UNSEALED = re.compile(r"\b(?:un-?sealed|opened|no longer sealed|was sealed)\b", re.IGNORECASE)
_SLEEVE_LABELS = {"sleeve", "cover", "jacket", "slv", "insert"}

# eBay condition ids (general table). Records mostly use 1000 (New) and 3000 (Used) and put
# the real grade in the title or the "Record Grading" item specific.
_CONDITION_IDS: dict[str, Grade | None] = {
    "1000": Grade.M,  # New / Brand New: sealed
    "1500": Grade.NM,  # New other: opened, unplayed
    "1750": Grade.VG_PLUS,  # New with defects
    "2750": Grade.NM,  # Like New
    "3000": None,  # Used / Pre-owned: says nothing about the grade
    "4000": Grade.VG,  # Very Good
    "5000": Grade.G,  # Good
    "6000": Grade.G,  # Acceptable
    "7000": Grade.P,  # For parts / not working
}
_NO_GRADE_CONDITIONS = {"used", "pre-owned", "preowned", "pre owned", "unspecified", ""}
_EBAY_CONDITIONS: dict[str, Grade] = {
    "new other": Grade.NM,
    "new other (see details)": Grade.NM,
    "open box": Grade.NM,
    "new with defects": Grade.VG_PLUS,
    "for parts or not working": Grade.P,
}


def _is_strong(token: str) -> bool:
    return _STRONG_ONLY.fullmatch(token) is not None


# Two bare letters that read as something else: "G/F" a gatefold, "P/S" a picture sleeve.
_NOT_GRADE_PAIRS = frozenset({("g", "f")})


def _weak_pair(first: str, second: str) -> bool:
    """Two weak grades as media/sleeve: "G/G", "F/G", "M/M", "Good/Fair" — but not "G/F"."""
    pair = (first.lower(), second.lower())
    return pair not in _NOT_GRADE_PAIRS


def _grade_in_title(title: str) -> Grade | None:
    labelled = list(_LABELLED.finditer(title))
    for match in labelled:
        if match.group("label").lower() not in _SLEEVE_LABELS:
            grade = parse_grade(match.group("any") or match.group("strong"))
            if grade is not None:
                return grade
    for pair in _PAIR.finditer(title):
        first, second = pair.group("first"), pair.group("second")
        if _is_strong(first) or _is_strong(second) or _weak_pair(first, second):
            return parse_grade(first)
    sleeve_spans = [m.span() for m in labelled if m.group("label").lower() in _SLEEVE_LABELS]
    for match in _SINGLE.finditer(title):
        start = match.start()
        if any(lo <= start < hi for lo, hi in sleeve_spans):
            continue  # that one grades the sleeve, not the record
        grade = parse_grade(match.group("grade"))
        if grade is not None:
            return grade
    if _SEALED.search(title) and not _UNSEALED.search(title):
        return Grade.M
    return None


def grade_from_listing(condition: str | None, condition_id: str | None, title: str) -> Grade | None:
    """The media grade of a listing, or None when the seller does not say (see
    `grade_and_source`)."""
    return grade_and_source(condition, condition_id, title)[0]


def grade_and_source(
    condition: str | None, condition_id: str | None, title: str
) -> tuple[Grade | None, str]:
    """The media grade of a listing (None when the seller does not say) and where it was
    read: "the title", "the condition 'Very Good Plus (VG+)'", "eBay condition 1000" or
    "not stated".

    Looks, in order, at the title ("VG+/NM" is media then sleeve; "Sleeve: VG" alone
    says nothing about the record; "sealed" is M), the condition text (a Discogs grade
    from the "Record Grading" item specific, or eBay's "Brand New", "Like New", …) and the
    eBay condition id (1000 "New" → M). A bare "Used" (3000) is not a grade.
    """
    grade = _grade_in_title(title)
    if grade is not None:
        return grade, "the title"
    if condition is not None:
        simple = condition.strip().lower()
        if simple not in _NO_GRADE_CONDITIONS:
            grade = _EBAY_CONDITIONS.get(simple) or parse_grade(condition)
            if grade is not None:
                return grade, f"the condition {condition.strip()!r}"
    if condition_id is not None:
        grade = _CONDITION_IDS.get(condition_id.strip())
        if grade is not None:
            return grade, f"eBay condition {condition_id.strip()}"
    return None, "not stated"
