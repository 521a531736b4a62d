"""What the matcher did with one listing, step by step: the record behind "why (not)?".

`identify(listing, catalog, trace=MatchTrace())` fills one of these as it goes: for each
tier it tried (catalog number from the item specifics, barcode, catalog numbers read from
the title, a cut identifier, fuzzy artist + title), what it looked for, every candidate it
weighed with why it was kept or refused, and what the tier concluded. Plain values, so the
CLI, the bot, the admin API and the dashboard can all show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CandidateNote", "MatchTrace", "TierNote"]


@dataclass(frozen=True, slots=True)
class CandidateNote:
    """One release the matcher weighed: `kept` when it stayed in the running."""

    release_id: int
    name: str  # "Artist – Title"
    kept: bool
    why: str  # "artist 100, title 100, nothing unexplained" / "refused: another format"


@dataclass(slots=True)
class TierNote:
    """One tier: what it looked for, the candidates it found, what it concluded."""

    tier: str
    looked_for: tuple[str, ...] = ()
    candidates: list[CandidateNote] = field(default_factory=list)
    outcome: str = ""


@dataclass(slots=True)
class MatchTrace:
    """Every tier tried, in order, and the final answer in words."""

    tiers: list[TierNote] = field(default_factory=list)
    outcome: str = ""

    def tier(self, name: str, looked_for: tuple[str, ...] = ()) -> TierNote:
        note = TierNote(name, looked_for)
        self.tiers.append(note)
        return note
