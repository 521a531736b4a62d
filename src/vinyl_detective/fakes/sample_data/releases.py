"""A sample pressing as Discogs' `GET /releases/{id}` JSON: artists, labels and
companies, formats, identifiers (barcodes, matrix runouts), dates, community counts.
"""

from __future__ import annotations

import math
import random
import re

from vinyl_detective.domain.normalize import strip_disambiguation
from vinyl_detective.fakes.sample_data.catalog import Catalog, Pressing
from vinyl_detective.fakes.sample_data.names import artist_credits, crc, to_ascii
from vinyl_detective.fakes.sample_data.vocabulary import (
    COLORS,
    DISTRIBUTORS,
    JAPAN_PRESSERS,
    KIND_FLAT_PRICE,
    PLANTS,
    Json,
)


def _artist_id(name: str) -> int:
    return 194 if name == "Various" else 10_000 + crc(name) % 2_900_000


def _label_json(name: str, catno: str) -> Json:
    label_id = 1_000 + crc(name) % 1_800_000
    return {
        "name": name,
        "catno": catno,
        "entity_type": "1",
        "entity_type_name": "Label",
        "id": label_id,
        "resource_url": f"https://api.discogs.com/labels/{label_id}",
    }


def _artists_sort(credits: list[tuple[str, str, str]]) -> str:
    text = ""
    for index, (name, anv, join) in enumerate(credits):
        shown = f"{anv}*" if anv else name
        if index == 0 and shown.startswith("The ") and len(credits) == 1:
            shown = f"{shown[4:]}, The"
        text += shown
        if join:
            text += ", " if join == "," else f" {join} "
    return text


def _format_barcode(digits: str, rng: random.Random) -> str:
    roll = rng.random()
    if len(digits) == 12:
        if roll < 0.4:
            return f"{digits[0]} {digits[1:5]}-{digits[5:10]}-{digits[10]} {digits[11]}"
        if roll < 0.7:
            return f"{digits[0]} {digits[1:6]} {digits[6:11]} {digits[11]}"
        return digits
    if roll < 0.5:
        return f"{digits[0]} {digits[1:7]} {digits[7:]}"
    return digits


def _identifiers(p: Pressing, rng: random.Random) -> list[Json]:
    found: list[Json] = []
    if p.barcode:
        shown = _format_barcode(p.barcode, rng)
        found.append({"type": "Barcode", "value": shown})
        if shown != p.barcode and rng.random() < 0.3:
            found.append({"type": "Barcode", "description": "Scanned", "value": p.barcode})
    compact = re.sub(r"\s+", "", p.catno) if p.catno.lower() != "none" else "XX"
    if p.fmt == "Vinyl":
        tail = rng.choice(("", " 1", " RVG", " STERLING", " MASTERDISK", " Porky", " TML-M"))
        for side in "AB"[: 1 + (rng.random() < 0.9)]:
            found.append(
                {
                    "type": "Matrix / Runout",
                    "description": f"Side {side} runout, etched",
                    "value": f"{compact}-{side}{rng.randint(1, 3)}{tail}",
                }
            )
    elif p.fmt == "CD":
        found.append(
            {"type": "Matrix / Runout", "value": f"{compact} {rng.randint(1, 9):02d} % DADC"}
        )
        found.append({"type": "SPARS Code", "value": rng.choice(("AAD", "ADD", "DDD"))})
    if p.country in ("Germany", "Europe", "UK") and p.year >= 1977:
        found.append({"type": "Label Code", "value": f"LC {crc(p.label) % 9000 + 100:04d}"})
    if rng.random() < 0.4:
        society = "GEMA" if p.country in ("Germany", "Europe") else rng.choice(("BMI", "ASCAP"))
        found.append({"type": "Rights Society", "value": society})
    return found


def _released(year: int, rng: random.Random) -> tuple[str, str]:
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    roll = rng.random()
    if roll < 0.35:
        return str(year), str(year)
    month = rng.randint(1, 12)
    if roll < 0.6:
        return f"{year}-{month:02d}-00", f"{months[month - 1]} {year}"
    day = rng.randint(1, 28)
    return f"{year}-{month:02d}-{day:02d}", f"{day:02d} {months[month - 1]} {year}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", to_ascii(text)).strip("-")


def release_json(p: Pressing, catalog: Catalog, seed: int) -> Json:
    rng = random.Random(f"vd-release-{seed}-{p.release_id}")
    album = p.album
    credits = artist_credits(album.artists)
    labels = [_label_json(p.label, p.catno)]
    if p.kind == "jp":
        labels.append(_label_json(rng.choice(JAPAN_PRESSERS), p.catno))
    elif p.kind in ("modern", "audiophile") and rng.random() < 0.25:
        labels.append(_label_json(rng.choice(DISTRIBUTORS), "none"))
    elif " " in p.catno and rng.random() < 0.08:
        labels.append(_label_json(p.label, p.catno.replace(" ", "")))
    fmt: Json = {"name": p.fmt, "qty": str(p.qty), "descriptions": list(p.descriptions)}
    if p.kind == "color":
        fmt["text"] = rng.choice(COLORS)
    released, released_formatted = _released(p.year, rng)
    suggestions = catalog.suggestions.get(p.release_id) or {}
    priced = bool(suggestions)
    vg_plus = suggestions["Very Good Plus (VG+)"]["value"] if priced else 0.0
    old = p.year < 1990 and p.kind not in KIND_FLAT_PRICE
    have = int(math.exp(rng.uniform(4.0, 9.5)))
    want = int(
        have * rng.uniform(0.8, 3.0) if old and album.tier >= 4 else have * rng.uniform(0.1, 0.9)
    )
    plants = PLANTS.get(p.country, PLANTS["US"])
    title_slug = _slug(f"{strip_disambiguation(credits[0][0])} {album.title}")
    return {
        "id": p.release_id,
        "status": "Accepted",
        "year": p.year,
        "resource_url": f"https://api.discogs.com/releases/{p.release_id}",
        "uri": f"https://www.discogs.com/release/{p.release_id}-{title_slug}",
        "artists": [
            {
                "name": name,
                "anv": anv,
                "join": join,
                "role": "",
                "tracks": "",
                "id": _artist_id(name),
                "resource_url": f"https://api.discogs.com/artists/{_artist_id(name)}",
            }
            for name, anv, join in credits
        ],
        "artists_sort": _artists_sort(credits),
        "labels": labels,
        "series": [],
        "companies": [
            {
                "name": rng.choice(plants),
                "catno": "",
                "entity_type": "17",
                "entity_type_name": "Pressed By",
                "id": 2_000 + crc(p.country) % 90_000,
                "resource_url": "https://api.discogs.com/labels/2000",
            }
        ]
        if rng.random() < 0.5
        else [],
        "formats": [fmt],
        "format_quantity": p.qty,
        "data_quality": rng.choice(("Correct", "Correct", "Needs Vote", "Needs Minor Changes")),
        "community": {
            "have": have,
            "want": want,
            "rating": {"average": round(rng.uniform(3.8, 4.9), 2), "count": max(1, have // 12)},
            "status": "Accepted",
            "data_quality": "Correct",
        },
        "master_id": p.master_id,
        "master_url": f"https://api.discogs.com/masters/{p.master_id}",
        "title": album.title,
        "country": p.country,
        "released": released,
        "released_formatted": released_formatted,
        "notes": "",
        "identifiers": _identifiers(p, rng),
        "genres": [album.genre],
        "styles": album.styles.split(", "),
        "extraartists": [],
        "images": [],
        "thumb": "",
        "lowest_price": round(vg_plus * rng.uniform(0.45, 1.1), 2) if priced else None,
        "num_for_sale": rng.randint(1, 250) if priced else 0,
        "tracklist": [],
        "videos": [],
    }
