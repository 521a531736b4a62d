"""The fake Discogs database search: which releases a query matches, and how a release
looks as a search result (every identifier in `barcode[]`, companies in `label[]`, as
the real API pollutes them).

`q` words must all appear in the artist, title, catalog numbers or labels; `artist`,
`release_title`, `title`, `label` match word-wise, `catno` normalised, `barcode` by
digits, and `format`, `year`, `country`, `genre`, `style`, `type` exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from vinyl_detective.domain.normalize import normalize_catalog_no, strip_disambiguation

_WORD = re.compile(r"\w+")


def _words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text)}


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit()).lstrip("0")


def search_result(release: dict[str, Any], base: str) -> dict[str, Any]:
    release_id = int(release["id"])
    artists = [a for a in release.get("artists") or [] if isinstance(a, Mapping)]
    credit = ""
    for index, artist in enumerate(artists):
        credit += str(artist.get("name", ""))
        join = str(artist.get("join") or "").strip()
        if index < len(artists) - 1:
            credit += ", " if join in ("", ",") else f" {join} "
    title = f"{credit} - {release.get('title', '')}"
    labels = [lab for lab in release.get("labels") or [] if isinstance(lab, Mapping)]
    companies = [c for c in release.get("companies") or [] if isinstance(c, Mapping)]
    formats = [f for f in release.get("formats") or [] if isinstance(f, Mapping)]
    flat_formats: list[str] = []
    for fmt in formats:
        flat_formats.append(str(fmt.get("name", "")))
        flat_formats.extend(str(d) for d in fmt.get("descriptions") or [])
    community = release.get("community") or {}
    year = release.get("year")
    master_id = release.get("master_id") or None
    slug = re.sub(r"[^\w]+", "-", title).strip("-")
    result: dict[str, Any] = {
        "id": release_id,
        "type": "release",
        "title": title,
        "catno": str(labels[0].get("catno", "")).strip() if labels else "",
        "barcode": [
            str(i.get("value", ""))
            for i in release.get("identifiers") or []
            if isinstance(i, Mapping) and i.get("value")
        ],
        "format": flat_formats,
        "label": [str(x.get("name", "")) for x in [*labels, *companies]],
        "country": release.get("country", ""),
        "genre": list(release.get("genres") or []),
        "style": list(release.get("styles") or []),
        "master_id": master_id,
        "master_url": f"{base}/masters/{master_id}" if master_id else None,
        "community": {
            "want": int(community.get("want", 0)) if isinstance(community, Mapping) else 0,
            "have": int(community.get("have", 0)) if isinstance(community, Mapping) else 0,
        },
        "uri": f"/release/{release_id}-{slug}",
        "resource_url": f"{base}/releases/{release_id}",
        "thumb": release.get("thumb", ""),
        "cover_image": release.get("thumb", ""),
        "format_quantity": release.get("format_quantity", len(formats)),
        "formats": formats,
        "user_data": {"in_wantlist": False, "in_collection": False},
    }
    if isinstance(year, int) and year > 0:
        result["year"] = str(year)
    return result


def matches(release: dict[str, Any], params: Mapping[str, str]) -> bool:
    artists = " ".join(
        strip_disambiguation(str(a.get("name", "")))
        for a in release.get("artists") or []
        if isinstance(a, Mapping)
    )
    title = str(release.get("title", ""))
    labels = [lab for lab in release.get("labels") or [] if isinstance(lab, Mapping)]
    label_names = " ".join(strip_disambiguation(str(x.get("name", ""))) for x in labels)
    catnos = [str(x.get("catno", "")) for x in labels]
    norm_catnos = {n for n in (normalize_catalog_no(c) for c in catnos) if n}
    formats = [f for f in release.get("formats") or [] if isinstance(f, Mapping)]
    format_words = {
        str(v).casefold()
        for f in formats
        for v in [f.get("name", ""), *(f.get("descriptions") or [])]
    }

    def words_in(query: str, haystack: set[str]) -> bool:
        wanted = _words(query)
        return bool(wanted) and wanted <= haystack

    q = params.get("q", "").strip()
    if q:
        haystack = _words(" ".join([artists, title, label_names, *catnos]))
        haystack |= {n.casefold() for n in norm_catnos}
        if not words_in(q, haystack):
            return False
    checks: list[tuple[str, Callable[[str], bool]]] = [
        ("artist", lambda v: words_in(v, _words(artists))),
        ("release_title", lambda v: words_in(v, _words(title))),
        ("title", lambda v: words_in(v, _words(f"{artists} {title}"))),
        ("label", lambda v: words_in(v, _words(label_names))),
        ("catno", lambda v: normalize_catalog_no(v) in norm_catnos),
        (
            "barcode",
            lambda v: (
                bool(_digits(v))
                and any(
                    _digits(str(i.get("value", ""))) == _digits(v)
                    for i in release.get("identifiers") or []
                    if isinstance(i, Mapping)
                )
            ),
        ),
        ("format", lambda v: v.casefold() in format_words),
        ("year", lambda v: str(release.get("year", "")) == v),
        ("country", lambda v: str(release.get("country", "")).casefold() == v.casefold()),
        ("genre", lambda v: v.casefold() in {g.casefold() for g in release.get("genres", [])}),
        ("style", lambda v: v.casefold() in {s.casefold() for s in release.get("styles", [])}),
        ("type", lambda v: v.casefold() == "release"),
    ]
    for name, check in checks:
        value = params.get(name, "").strip()
        if value and not check(value):
            return False
    return True
