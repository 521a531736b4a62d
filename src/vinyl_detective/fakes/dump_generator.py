"""Synthetic Discogs releases dumps of any size, shaped like the real monthly dump.

`write_synthetic_dump(path, count)` streams `count` made-up releases to `path` (gzipped
when the name ends in ".gz"), one `<release>` at a time, so a million-release file costs
no more memory than a ten-release one. The structure follows the real dump element for
element (images, artists with join words and " (2)" suffixes, extraartists, labels with
"none" catalog numbers, formats with descriptions, a tracklist, identifiers mixing spaced
barcodes with matrix/runout strings, videos, companies), with about 1–2 KB of XML per
release. Everything is derived from `seed`: the same arguments give the same bytes.

Identifiers behave as on Discogs: each label prints its own catalog-number prefix and never
gives one number to two albums, and barcodes are unique. About 6 % of releases are another
pressing of a recent album (same artist, title, label and master; the label keeps the
catalog number half the time; the barcode is the pressing's own). The name vocabulary is small,
so unrelated albums with the same artist and title are common: only their identifiers,
label, year or country tell them apart. `GENERATOR_VERSION` changes whenever the same seed
starts giving different releases (benchmarks key their cached dumps with it).

`write_corrupt_variants(good, directory)` cuts and damages a dump in the ways downloads
go wrong, for tests of the reader's error handling.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from xml.sax.saxutils import escape, quoteattr

GENERATOR_VERSION = 2  # 2: catalog numbers per label, represses sharing them

_FIRST = (
    "Art",
    "Sonny",
    "Nina",
    "Miles",
    "Dee",
    "Lee",
    "Ella",
    "Cari",
    "Josh",
    "Kim",
    "Ray",
    "Ida",
    "Otis",
    "Etta",
    "Björn",
    "Zoë",
    "Jaco",
    "Mía",
    "Chet",
    "Grant",
    "Hank",
    "Lou",
    "Mavis",
)
_LAST = (
    "Blakey",
    "Rollins",
    "Simone",
    "Davis",
    "Morgan",
    "Green",
    "Lekebusch",
    "Wink",
    "Parker",
    "Redding",
    "James",
    "Gordon",
    "Dahlbäck",
    "Hancock",
    "Baker",
    "Mitchell",
    "Reed",
    "Staples",
)
_BANDS = (
    "The Persuaders",
    "Jazz Messengers",
    "Velvet Orchestra",
    "Night Shift",
    "Silver Apples",
    "Heatwave",
    "The Specials",
    "Deep Freeze",
    "Motor City Drum Ensemble",
    "Los Lobos",
    "Nirvana",
    "Kraftwerk",
    "Can",
    "The Cure",
    "Broadcast",
    "Stereolab",
    "Low",
    "Air",
)
_JOINS = (",", "&", "Feat.", "/", "And", "With", "vs.", "-")
_WORDS = (
    "Moanin'",
    "Blue",
    "Night",
    "Train",
    "Stockholm",
    "Love",
    "Supreme",
    "Kind",
    "Of",
    "Song",
    "Dance",
    "Moving",
    "Cities",
    "Boots",
    "Sound",
    "Silver",
    "Dreams",
    "Afro",
    "Funk",
    "Groove",
    "Midnight",
    "Sunrise",
    "Rain",
    "City",
    "Heart",
    "Soul",
    "Fire",
    "Water",
    "Echo",
    "Drift",
    "Östermalm",
    "Über",
    "Café",
    "Señor",
    "Télé",
    "Rhythm",
    "Machine",
    "Garden",
    "Paradise",
)
# Each label prints its own catalog-number prefix, as real labels do, so two labels'
# numbers do not collide by accident (a label's namesake "X (2)" gets a letter more).
_LABEL_PREFIXES = {
    "Blue Note": "BLP",
    "Svek": "SK",
    "Prestige": "PRLP",
    "Warp Records": "WARP",
    "Factory": "FAC",
    "Island Records": "ILPS",
    "Motown": "MT",
    "Ruffhouse Records": "RH",
    "Columbia": "CK",
    "Atlantic": "SD",
    "Impulse!": "AS",
    "Rough Trade": "RT",
    "Tresor": "TRESOR",
    "ECM": "ECM",
    "Stax": "STAX",
    "Verve Records": "V",
    "4AD": "CAD",
    "Mute": "STUMM",
    "Trojan Records": "TRL",
    "Creation Records": "CRE",
}
_LABELS = tuple(_LABEL_PREFIXES)
_REPRESS = 0.06  # share of releases that are another pressing of an album seen shortly before
_REMEMBERED_ALBUMS = 2000  # recent albums a pressing may come from (bounded memory)
_PREFIXES = ("BLP", "SK", "WARP", "FAC", "ILPS", "CK", "SD", "A", "RT", "ECM", "STAX", "MUTE")
_GENRES = {
    "Electronic": ("Techno", "Deep House", "Ambient", "Tech House", "Electro"),
    "Jazz": ("Hard Bop", "Modal", "Free Jazz", "Cool Jazz", "Soul-Jazz"),
    "Rock": ("Post-Punk", "Indie Rock", "Krautrock", "Psychedelic Rock", "New Wave"),
    "Funk / Soul": ("Soul", "Funk", "Disco", "Rhythm & Blues"),
    "Hip Hop": ("Boom Bap", "Instrumental", "Conscious"),
    "Reggae": ("Roots Reggae", "Dub", "Ska"),
    "Classical": ("Baroque", "Romantic", "Modern"),
}
_COUNTRIES = ("US", "UK", "Germany", "France", "Japan", "Sweden", "Netherlands", "Italy", "Europe")
# (format name, weight, descriptions to draw from)
_FORMATS = (
    ("Vinyl", 50, ("LP", "Album", '12"', '7"', "33 ⅓ RPM", "45 RPM", "Reissue", "Stereo", "Mono")),
    ("CD", 28, ("Album", "Compilation", "Mixed", "Enhanced", "Limited Edition")),
    ("Cassette", 8, ("Album", "Dolby B", "Stereo")),
    ("File", 7, ("MP3", "FLAC", "Album")),
    ("CDr", 3, ("Album", "Promo")),
    ("Box Set", 2, ("Compilation", "Limited Edition")),
    ("Shellac", 2, ('10"', "78 RPM")),
)
_ROLES = ("Producer", "Mastered By", "Written-By", "Artwork", "Remix", "Engineer", "Photography")
_COMPANY_ROLES = (
    ("Pressed By", 17),
    ("Recorded At", 23),
    ("Mastered At", 30),
    ("Phonographic Copyright (p)", 13),
)


def _ean13(rng: random.Random) -> str:
    digits = [rng.randrange(10) for _ in range(12)]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return "".join(map(str, digits)) + str(check)


def _printed_barcode(ean: str, rng: random.Random) -> str:
    """A barcode as Discogs users type it: spaced, dashed, or as a 12-digit UPC."""
    style = rng.randrange(5)
    if style == 0:
        return ean
    if style == 1:
        return f"{ean[0]} {ean[1:7]} {ean[7:]}"
    if style == 2 and ean[0] == "0":
        upc = ean[1:]
        return f"{upc[0]} {upc[1:6]}-{upc[6:11]}-{upc[11]}"
    if style == 3:
        return f"{ean[:1]} {ean[1:6]} {ean[6:11]} {ean[11:]}"
    return ean[1:] if ean[0] == "0" else ean


def _artist_name(rng: random.Random) -> str:
    name = rng.choice(_BANDS) if rng.random() < 0.4 else f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    roll = rng.random()
    if roll < 0.08:
        name += f" ({rng.randint(2, 9)})"
    elif roll < 0.11:
        name += "*"
    return name


def _title(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


def _artist_xml(name: str, artist_id: int, join: str, role: str = "") -> str:
    join_xml = f"<join>{escape(join)}</join>" if join else "<join/>"
    role_xml = f"<role>{escape(role)}</role>" if role else "<role/>"
    return (
        f"<artist><id>{artist_id}</id><name>{escape(name)}</name><anv/>{join_xml}"
        f"{role_xml}<tracks/></artist>"
    )


@dataclass
class _Album:
    """What another pressing of an album keeps: names, label and number, master."""

    artists: str
    title: str
    labels: list[tuple[str, str, int]]  # (label, catno, label id)
    master_id: int | None
    barcode: str | None


def _catno(label: str, release_id: int, position: int, rng: random.Random) -> str:
    """A catalog number of `label`, never printed by the label on another album."""
    base, _, namesake = label.partition(" (")
    prefix = _LABEL_PREFIXES[base] + (chr(ord("A") + int(namesake[:-1])) if namesake else "")
    # A bijection of the release id (7919 is prime to 10**7): unique for ids < 10**7.
    number = (release_id * 7919 + position * 1_000_003) % 10_000_000
    sep = rng.choice(("", " ", "-", " ", "."))
    catno = f"{prefix}{sep}{number}"
    if rng.random() < 0.03:
        catno += " "  # Discogs keeps stray trailing spaces
    return catno


def _new_album(release_id: int, rng: random.Random) -> _Album:
    n_artists = 1 if rng.random() < 0.8 else rng.randint(2, 3)
    if rng.random() < 0.03:
        artists = [_artist_xml("Various", 194, "")]
    else:
        artists = [
            _artist_xml(
                _artist_name(rng),
                rng.randint(1, 9_000_000),
                rng.choice(_JOINS) if i < n_artists - 1 else "",
            )
            for i in range(n_artists)
        ]
    title = _title(rng, rng.randint(1, 4))
    labels = []
    for position in range(1 if rng.random() < 0.85 else rng.randint(2, 3)):
        label = rng.choice(_LABELS)
        if rng.random() < 0.05:
            label += f" ({rng.randint(2, 6)})"
        catno = "none" if rng.random() < 0.1 else _catno(label, release_id, position, rng)
        labels.append((label, catno, rng.randint(1, 2_000_000)))
    master_id = rng.randint(1, 3_000_000) if rng.random() < 0.75 else None
    barcode = _ean13(rng) if rng.random() < 0.45 else None
    return _Album("".join(artists), title, labels, master_id, barcode)


def _repress(album: _Album, release_id: int, rng: random.Random) -> _Album:
    """Another pressing (or format) of `album`: same names, label and master; the label
    keeps the catalog number about half the time; the barcode is its own."""
    labels = [
        (label, catno, label_id)
        if catno == "none" or rng.random() < 0.5
        else (label, _catno(label, release_id, position, rng), label_id)
        for position, (label, catno, label_id) in enumerate(album.labels)
    ]
    barcode = _ean13(rng) if rng.random() < 0.45 else None
    return _Album(album.artists, album.title, labels, album.master_id, barcode)


def _release_xml(release_id: int, rng: random.Random, albums: list[_Album] | None = None) -> str:
    """One `<release>`; with `albums` (recent albums, updated here) some are represses."""
    parts: list[str] = [f'<release id="{release_id}" status="Accepted">']
    parts.append(
        '<images><image type="primary" uri="" uri150="" width="600" height="600"/>'
        + '<image type="secondary" uri="" uri150="" width="600" height="600"/>' * rng.randint(0, 1)
        + "</images>"
    )
    if albums and rng.random() < _REPRESS:
        album = _repress(rng.choice(albums), release_id, rng)
    else:
        album = _new_album(release_id, rng)
        if albums is not None:
            if len(albums) >= _REMEMBERED_ALBUMS:
                albums[rng.randrange(len(albums))] = album
            else:
                albums.append(album)
    parts.append("<artists>" + album.artists + "</artists>")
    parts.append(f"<title>{escape(album.title)}</title>")
    labels = [
        f'<label name={quoteattr(label)} catno={quoteattr(catno)} id="{label_id}"/>'
        for label, catno, label_id in album.labels
    ]
    parts.append("<labels>" + "".join(labels) + "</labels>")
    extra = [
        _artist_xml(_artist_name(rng), rng.randint(1, 9_000_000), "", rng.choice(_ROLES))
        for _ in range(rng.randint(0, 2))
    ]
    parts.append(
        "<extraartists>" + "".join(extra) + "</extraartists>" if extra else "<extraartists/>"
    )
    formats = []
    weights = [weight for _, weight, _ in _FORMATS]
    for _ in range(1 if rng.random() < 0.93 else 2):
        name, _weight, choices = rng.choices(_FORMATS, weights)[0]
        descriptions = "".join(
            f"<description>{escape(d)}</description>"
            for d in rng.sample(choices, rng.randint(1, min(3, len(choices))))
        )
        text = rng.choice(("", "", "", "", "Clear", "Gatefold", "180g"))
        formats.append(
            f'<format name={quoteattr(name)} qty="{rng.randint(1, 2)}" text={quoteattr(text)}>'
            f"<descriptions>{descriptions}</descriptions></format>"
        )
    parts.append("<formats>" + "".join(formats) + "</formats>")
    genre = rng.choice(tuple(_GENRES))
    styles = rng.sample(_GENRES[genre], rng.randint(1, 2))
    parts.append(f"<genres><genre>{escape(genre)}</genre></genres>")
    parts.append("<styles>" + "".join(f"<style>{escape(s)}</style>" for s in styles) + "</styles>")
    parts.append(f"<country>{rng.choice(_COUNTRIES)}</country>")
    year = rng.randint(1950, 2024)
    released = rng.choice(
        (str(year), f"{year}-00-00", f"{year}-{rng.randint(1, 12):02d}-00", "0", "")
    )
    if rng.random() < 0.5:
        released = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    parts.append(f"<released>{released}</released>" if released else "<released/>")
    if rng.random() < 0.25:
        parts.append(f"<notes>{escape(_title(rng, rng.randint(5, 25)))}.</notes>")
    parts.append(
        "<data_quality>"
        + rng.choice(("Needs Vote", "Needs Vote", "Correct", "Complete and Correct"))
        + "</data_quality>"
    )
    if album.master_id is not None:
        main = rng.choice(("true", "false"))
        parts.append(f'<master_id is_main_release="{main}">{album.master_id}</master_id>')
    tracks = []
    for number in range(rng.randint(2, 8)):
        side = "ABCD"[number * 2 // 6 % 4]
        tracks.append(
            f"<track><position>{side}{number % 3 + 1}</position>"
            f"<title>{escape(_title(rng, rng.randint(1, 3)))}</title>"
            f"<duration>{rng.randint(2, 9)}:{rng.randint(0, 59):02d}</duration></track>"
        )
    parts.append("<tracklist>" + "".join(tracks) + "</tracklist>")
    identifiers = []
    if album.barcode is not None:
        printed = _printed_barcode(album.barcode, rng)
        identifiers.append(f'<identifier type="Barcode" value={quoteattr(printed)}/>')
        if rng.random() < 0.1:  # a barcode field holding text: the reader must refuse it
            identifiers.append('<identifier type="Barcode" description="Text" value="none"/>')
    for side in "AB"[: rng.randint(0, 2)]:
        identifiers.append(
            f'<identifier type="Matrix / Runout" description="Side {side}" '
            f'value="{rng.choice(_PREFIXES)} {rng.randint(1, 999)} {side}1"/>'
        )
    if rng.random() < 0.2:
        identifiers.append('<identifier type="Rights Society" value="GEMA"/>')
    if rng.random() < 0.15:
        identifiers.append(f'<identifier type="Label Code" value="LC {rng.randint(1000, 99999)}"/>')
    parts.append(
        "<identifiers>" + "".join(identifiers) + "</identifiers>"
        if identifiers
        else "<identifiers/>"
    )
    if rng.random() < 0.15:
        parts.append(
            f'<videos><video src="https://www.youtube.com/watch?v=v{release_id}" '
            f'duration="{rng.randint(100, 600)}" embed="true"><title>A video</title>'
            "<description>Uploaded</description></video></videos>"
        )
    companies = []
    for _ in range(rng.randint(0, 1)):
        role, entity = rng.choice(_COMPANY_ROLES)
        company_id = rng.randint(1, 2_000_000)
        companies.append(
            f"<company><id>{company_id}</id><name>{escape(rng.choice(_LABELS))}</name><catno/>"
            f"<entity_type>{entity}</entity_type><entity_type_name>{escape(role)}"
            f"</entity_type_name><resource_url>https://api.discogs.com/labels/{company_id}"
            "</resource_url></company>"
        )
    parts.append(
        "<companies>" + "".join(companies) + "</companies>" if companies else "<companies/>"
    )
    parts.append("</release>\n")
    return "".join(parts)


def iter_synthetic_release_xml(count: int, *, seed: int = 1, first_id: int = 1) -> Iterator[str]:
    """The `<release>` elements of a synthetic dump, one string each, ids ascending."""
    rng = random.Random(seed)
    albums: list[_Album] = []
    release_id = first_id
    for _ in range(count):
        yield _release_xml(release_id, rng, albums)
        release_id += rng.choice((1, 1, 1, 2, 3, 7))  # real dumps have gaps (deleted ids)


def _open_for_writing(path: Path, gzip_level: int) -> BinaryIO:
    if path.name.endswith(".gz"):
        return gzip.open(path, "wb", compresslevel=gzip_level)  # type: ignore[return-value]
    return open(path, "wb")


def write_synthetic_dump(path: Path, count: int, *, seed: int = 1, gzip_level: int = 1) -> None:
    """Write a releases dump of `count` synthetic releases to `path` (.xml.gz or .xml).

    Streams: memory use does not depend on `count`. Same `seed`, same file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with _open_for_writing(path, gzip_level) as out:
        out.write(b"<releases>\n")
        buffer: list[str] = []
        for xml in iter_synthetic_release_xml(count, seed=seed):
            buffer.append(xml)
            if len(buffer) >= 500:
                out.write("".join(buffer).encode())
                buffer.clear()
        out.write("".join(buffer).encode())
        out.write(b"</releases>\n")


def write_corrupt_variants(good: Path, directory: Path) -> dict[str, Path]:
    """Damaged copies of the gzipped dump `good`, named by what went wrong.

    - "truncated_gzip": the compressed file cut off at 60% (an interrupted download);
    - "bad_crc": the gzip trailer's CRC changed (bit rot; the data itself decompresses);
    - "garbage_gzip": compressed bytes overwritten in the middle;
    - "truncated_xml": valid gzip whose XML stops at 60% of the releases (no closing tag);
    - "not_a_dump": a gzipped artists dump, a well-formed file of the wrong kind;
    - "not_gzip_nor_xml": random bytes.
    """
    directory.mkdir(parents=True, exist_ok=True)
    data = good.read_bytes()
    xml = gzip.decompress(data)
    variants: dict[str, bytes] = {}
    variants["truncated_gzip"] = data[: int(len(data) * 0.6)]
    trailer = bytearray(data)
    trailer[-8] ^= 0xFF
    variants["bad_crc"] = bytes(trailer)
    garbage = bytearray(data)
    middle = len(garbage) // 2
    garbage[middle : middle + 64] = bytes(range(64))
    variants["garbage_gzip"] = bytes(garbage)
    variants["truncated_xml"] = gzip.compress(xml[: int(len(xml) * 0.6)], compresslevel=1)
    variants["not_a_dump"] = gzip.compress(
        b"<artists><artist><id>1</id><name>The Persuader</name></artist></artists>\n"
    )
    variants["not_gzip_nor_xml"] = random.Random(7).randbytes(4096)
    paths: dict[str, Path] = {}
    for name, content in variants.items():
        suffix = ".bin" if name == "not_gzip_nor_xml" else ".xml.gz"
        target = directory / f"{name}{suffix}"
        target.write_bytes(content)
        paths[name] = target
    return paths
