"""How sellers write listing titles: the artist and title as typed (aliases, ASCII,
typos), the catalog number in its many spellings, format words, grades, hype, pressing
notes, cut to eBay's 80 characters by dropping the least important words first.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from vinyl_detective.domain.normalize import normalize_catalog_no, strip_disambiguation
from vinyl_detective.fakes.sample_data.albums import Album
from vinyl_detective.fakes.sample_data.catalog import Pressing
from vinyl_detective.fakes.sample_data.families import LABEL_NOTES, TITLE_ALIASES
from vinyl_detective.fakes.sample_data.names import artist_credits, to_ascii
from vinyl_detective.fakes.sample_data.vocabulary import (
    EXTRAS,
    FORMAT_WORDS,
    GRADE_WORDS,
    HYPE,
    KIND_NOTES,
)


def _typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long_words:
        return text
    i = rng.choice(long_words)
    word = words[i]
    j = rng.randint(1, len(word) - 3)
    if rng.random() < 0.5:
        words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    else:
        words[i] = word[:j] + word[j + 1 :]
    return " ".join(words)


@dataclass(slots=True)
class Token:
    text: str
    keep: int  # 0 = essential; a higher number is dropped earlier when the title is too long


class TitleWriter:
    """Writes the title of a listing of one pressing, drawing from `rng`."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def title(self, p: Pressing, grade: int, show_grade: bool, deal: bool, mode: float) -> str:
        rng = self.rng
        album = p.album
        cat_in_title = mode < 0.46 and p.catno.lower() != "none"
        artist = self._artist_text(album)
        title = self._title_text(album)
        tokens: list[Token] = []
        if rng.random() < 0.15:
            tokens.append(Token(rng.choice(HYPE), 7))
        fmt_words = FORMAT_WORDS["Vinyl2" if p.fmt == "Vinyl" and p.qty > 1 else p.fmt]
        fmt_token = Token(rng.choice(fmt_words), 2)
        label = Token(strip_disambiguation(p.label).replace(" Records", ""), 4)
        year = Token(str(album.year if rng.random() < 0.7 else p.year), 3)
        notes = self._notes(p)
        catno = Token(self._catno_text(p.catno), 0) if cat_in_title else None
        grade_token = (
            Token(rng.choice(GRADE_WORDS[grade]), 0 if deal else 1) if show_grade else None
        )
        layout = rng.randint(0, 5)
        body: list[Token | None]
        if layout == 0:
            body = [
                Token(artist, 0),
                Token(title, 0),
                fmt_token,
                label,
                catno,
                *notes,
                grade_token,
            ]
        elif layout == 1:
            body = [Token(f"{artist} - {title}".upper(), 0), year, *notes, catno, grade_token]
        elif layout == 2:
            body = [
                Token(f"{artist} - {title}", 0),
                Token(f"({year.text})", 3),
                fmt_token,
                catno,
                grade_token,
            ]
        elif layout == 3:
            body = [Token(f"{title} by {artist}", 0), fmt_token, *notes, catno, grade_token]
        elif layout == 4:
            body = [
                fmt_token,
                Token(artist, 0),
                Token(title, 0),
                label,
                year,
                catno,
                *notes,
                grade_token,
            ]
        else:
            body = [Token(artist, 0), Token(title, 0), catno, grade_token]
        tokens += [t for t in body if t is not None and t.text]
        if rng.random() < 0.2:
            tokens.append(Token(rng.choice(EXTRAS), 6))
        text = fit(tokens)
        case = rng.random()
        if case < 0.2:
            text = text.upper()
        elif case < 0.24:
            text = text.lower()
        return text

    def _notes(self, p: Pressing) -> list[Token]:
        rng = self.rng
        pool = list(KIND_NOTES.get(p.kind, ()))
        if p.kind in ("orig", "stereo"):
            pool += LABEL_NOTES.get(p.label, ())
            pool += [d for d in p.descriptions if d in ("Mono", "Stereo")]
        if p.kind == "foreign":
            pool.append(rng.choice((f"{p.country} Press", p.country)))
        if p.kind == "color":
            pool.append("Colored")
        count = rng.choices((0, 1, 2), weights=(35, 45, 20))[0]
        picked = rng.sample(pool, min(count, len(pool))) if pool else []
        return [Token(word, 5) for word in picked]

    def _catno_text(self, catno: str) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.55:
            return catno
        if roll < 0.7:
            return catno.replace(" ", "")
        if roll < 0.85:
            return catno.replace(" ", "-")
        if roll < 0.9:
            return catno.lower()
        return f"Cat# {catno}"

    def _artist_text(self, album: Album) -> str:
        rng = self.rng
        credits = artist_credits(album.artists)
        names = [strip_disambiguation(anv or name) for name, anv, _ in credits]
        if names == ["Various"]:
            return rng.choice(("Various Artists", "Soundtrack", "OST", "VA"))
        if len(names) > 1:
            roll = rng.random()
            if roll < 0.45:
                text = ""
                for name, (_, _, join) in zip(names, credits, strict=True):
                    shown_join = {",": ", ", "-": " ", "/": " / ", "And": " and "}.get(
                        join, f" {join} "
                    )
                    text += name + (shown_join if join else "")
            elif roll < 0.75:
                text = names[0]
            else:
                text = " ".join(names[1:2])
        else:
            text = names[0]
        if text.startswith("The ") and rng.random() < 0.2:
            text = text[4:]
        if "&" in text and rng.random() < 0.15:
            text = text.replace("&", "and")
        if rng.random() < 0.7:
            text = to_ascii(text)
        if album.genre == "Jazz" and " " in text and "&" not in text and rng.random() < 0.04:
            text = text.split(" ")[-1]
        return text

    def _title_text(self, album: Album) -> str:
        rng = self.rng
        text = album.title
        aliases = TITLE_ALIASES.get(text)
        if aliases and rng.random() < 0.4:
            text = rng.choice(aliases)
        if rng.random() < 0.3:
            text = text.replace("'", "")
        if rng.random() < 0.7:
            text = to_ascii(text)
        if "&" in text and rng.random() < 0.1:
            text = text.replace("&", "and")
        if rng.random() < 0.15:
            text = re.sub(r"[!?():.]", "", text).strip()
        if rng.random() < 0.05:
            text = _typo(text, rng)
        return text


def shorten_title(text: str, title: str, limit: int = 80) -> str:
    """`text` within `limit` characters by shortening the album `title` inside it, not the rest."""
    shown = to_ascii(title)
    if len(text) <= limit or shown not in text:
        return text
    for alias in TITLE_ALIASES.get(title, ()):
        shorter = text.replace(shown, to_ascii(alias))
        if len(shorter) <= limit:
            return shorter
    words = shown.split(" ")
    while len(words) > 1 and len(text.replace(shown, " ".join(words))) > limit:
        words.pop()
    return text.replace(shown, " ".join(words))


def has_catno(title: str, catno: str) -> bool:
    key = normalize_catalog_no(catno)
    squeezed = re.sub(r"[\s\-_./:·#]+", "", title.upper())
    return key is not None and key in squeezed


def fit(tokens: list[Token], limit: int = 80) -> str:
    """Join tokens into a title of at most `limit` characters, dropping the least important."""
    kept = [t for t in tokens if t.text]
    while len(" ".join(t.text for t in kept)) > limit:
        optional = [t for t in kept if t.keep > 0]
        if not optional:
            break
        worst = max(optional, key=lambda t: t.keep)
        index = max(i for i, t in enumerate(kept) if t is worst)
        del kept[index]
    text = re.sub(r"\s+", " ", " ".join(t.text for t in kept)).strip()
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0]
    return text
