"""How the sample data spells names: the artist credits of an album row, ASCII as
sellers type it, and a stable hash to derive ids and choices from names.
"""

from __future__ import annotations

import functools
import unicodedata
import zlib


def crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def artist_credits(spec: str) -> list[tuple[str, str, str]]:
    """(name, anv, join) for each artist of an album row's artist spec."""
    parts = spec.split("|")
    names, joins = parts[0::2], [*parts[1::2], ""]
    result = []
    for raw, join in zip(names, joins, strict=True):
        name, _, anv = raw.partition("=")
        result.append((name, anv, join))
    return result


@functools.lru_cache(maxsize=4096)
def to_ascii(text: str) -> str:
    """`"Motörhead"` → `"Motorhead"`: sellers rarely type accents."""
    decomposed = unicodedata.normalize("NFKD", text.replace("•", " "))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("  ", " ")
