"""The sample market's vocabulary: data only, no code.

Discogs' grades and eBay's categories, the price curves and factors that price each
pressing, the pressing plants, distributors and countries, and the words sellers use in
titles (grades, hype, formats, notes). catalog.py, releases.py and the listing modules
read them.
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

GRADES: tuple[str, ...] = (
    "Mint (M)",
    "Near Mint (NM or M-)",
    "Very Good Plus (VG+)",
    "Very Good (VG)",
    "Good Plus (G+)",
    "Good (G)",
    "Fair (F)",
    "Poor (P)",
)
"""Discogs' media grades, best first, exactly as the price-suggestion keys spell them."""

DETAIL_ONLY_FIELDS: frozenset[str] = frozenset(
    {"gtin", "mpn", "localizedAspects", "shortDescription", "categoryId", "categoryPath"}
)
"""Item fields that `GET /item/{id}` returns but a search summary does not."""

CATEGORIES: dict[str, tuple[str, str]] = {
    "Vinyl": ("176985", "Records"),
    "CD": ("176984", "CDs"),
    "Cassette": ("176983", "Cassettes"),
}
"""eBay US leaf category (id, name) per Discogs format name."""

DEAL_MAX_RATIO = 0.65
"""A deal's total is at most this share of its grade's suggested price."""
NORMAL_MIN_RATIO = 0.90
"""Every other priced listing's total is at least this share of its reference."""

FX_FROM_USD = {"USD": 1.0, "GBP": 0.79, "EUR": 0.92, "CAD": 1.37, "JPY": 151.0}
VINTAGE_CURVE = (1.7, 1.3, 1.0, 0.55, 0.33, 0.2, 0.11, 0.06)
MODERN_CURVE = (1.3, 1.15, 1.0, 0.72, 0.5, 0.35, 0.2, 0.1)
TIER_PRICE = {
    1: (12.0, 25.0),
    2: (22.0, 45.0),
    3: (40.0, 110.0),
    4: (100.0, 350.0),
    5: (300.0, 1500.0),
}
KIND_FACTOR = {
    "orig": (1.0, 1.0),
    "stereo": (0.6, 1.3),
    "repress": (0.3, 0.5),
    "foreign": (0.35, 0.6),
    "club": (0.2, 0.3),
    "reissue": (0.15, 0.35),
    "jp": (0.3, 0.5),
}
# Later vinyl pressings stay affordable however rare the first press is.
KIND_PRICE_CAP = {"reissue": 60.0, "jp": 90.0, "club": 40.0}
KIND_FLAT_PRICE = {
    "cd": (4.0, 14.0),
    "eucd": (4.0, 12.0),
    "cass": (4.0, 14.0),
    "modern": (20.0, 34.0),
    "audiophile": (35.0, 70.0),
    "color": (25.0, 45.0),
}
KIND_POPULARITY = {
    "orig": 1.0,
    "stereo": 0.8,
    "repress": 0.7,
    "foreign": 0.5,
    "club": 0.4,
    "reissue": 1.0,
    "jp": 0.4,
    "cd": 1.6,
    "eucd": 0.8,
    "cass": 0.5,
    "modern": 2.2,
    "audiophile": 0.7,
    "color": 0.9,
}
# How likely each extra pressing kind is to exist for an album, relative to the others.
KIND_PREFERENCE = {
    "stereo": 5.0,
    "cd": 4.0,
    "modern": 3.5,
    "reissue": 3.0,
    "repress": 2.5,
    "cass": 2.0,
    "foreign": 2.0,
    "jp": 1.5,
    "eucd": 1.5,
    "audiophile": 1.2,
    "club": 0.8,
    "color": 1.0,
}
FORMAT_DIGIT = {"Vinyl": "1", "CD": "2", "Cassette": "4"}
KIND_FORMAT = {"cd": "CD", "eucd": "CD", "cass": "Cassette"}
JAPAN_PRESSERS = ("King Records", "Toshiba EMI", "Nippon Columbia", "Victor", "CBS/Sony")
DISTRIBUTORS = (
    "UMe",
    "Legacy",
    "Rhino Records (2)",
    "Capitol Records",
    "EMI",
    "Warner Music Group",
)
PLANTS = {
    "US": (
        "Specialty Records Corporation",
        "Columbia Records Pressing Plant, Pitman",
        "Allied Record Company",
    ),
    "UK": ("EMI Records Ltd", "CBS Records Aylesbury", "Orlake Records"),
    "Germany": ("Sonopress", "Teldec Press GmbH"),
    "Europe": ("Optimal Media GmbH", "Record Industry", "GZ Media"),
    "Japan": ("Toshiba EMI", "JVC"),
}
COLORS = ("Red", "Clear", "Blue Marbled", "Gold", "Translucent Green", "Orange", "Splatter")
IMAGE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~-"
COUNTRY_CODES = ("US", "GB", "DE", "CA", "JP")
COUNTRY_WEIGHTS = (0.78, 0.09, 0.06, 0.04, 0.03)
MARKETPLACE = {"GB": "EBAY_GB", "DE": "EBAY_DE"}
LOCAL_CURRENCY = {"GB": "GBP", "DE": "EUR", "CA": "CAD", "JP": "JPY"}

# How sellers write each media grade, by grade index (0 = Mint … 5 = Good).
GRADE_WORDS: tuple[tuple[str, ...], ...] = (
    ("SEALED", "New Sealed", "Brand New", "Factory Sealed", "NEW"),
    ("NM", "NM-", "M-", "Near Mint", "NM/NM", "NM/VG+", "Mint-"),
    ("VG+", "VG+/VG+", "VG+/VG", "EX", "EX/EX", "Excellent", "vg+"),
    ("VG", "VG/VG", "VG/G+", "vg", "VG/VG+"),
    ("G+", "G+/G", "Good+", "G+/VG"),
    ("Good", "G/G", "Good Cond"),
)
ASPECT_GRADES = (
    "Mint (M)",
    "Near Mint (NM or M-)",
    "Very Good Plus (VG+)",
    "Very Good (VG)",
    "Good Plus (G+)",
    "Good (G)",
)
HYPE = ("🔥RARE🔥", "RARE", "L@@K", "HTF", "!!", "*RARE*", "✨", "🔥", "WOW", "MUST SEE", "NICE!")
EXTRAS = ("w/ insert", "w/ Poster", "Shrink", "Hype Sticker", "Plays Great", "Clean", "Gatefold")
KIND_NOTES: dict[str, tuple[str, ...]] = {
    "orig": ("1st Press", "Orig", "ORIGINAL", "First Pressing", "OG", "1st Pressing"),
    "stereo": ("Stereo", "Orig Stereo", "1st Stereo"),
    "repress": ("Repress", "70s Press", "Later Press"),
    "club": ("Club Edition", "Record Club"),
    "reissue": ("Reissue", "80s Reissue", "RE"),
    "jp": ("Japan", "w/ OBI", "Japanese Press", "OBI", "Japan Import"),
    "cd": ("Remastered", "Club Edition"),
    "eucd": ("Remastered", "EU", "Import"),
    "cass": ("Chrome", "Dolby"),
    "modern": ("180g", "180 Gram", "Remastered", "Reissue", "Gatefold"),
    "audiophile": ("Audiophile", "180g", "45 RPM", "Numbered", "Limited"),
    "color": ("Colored Vinyl", "Limited", "RSD", "Color Vinyl"),
}
FORMAT_WORDS = {
    "Vinyl": ("LP", "Vinyl LP", '12" LP', "VINYL", "Vinyl", "LP Record", "Record"),
    "Vinyl2": ("2xLP", "2LP", "Double LP", "2 LP"),
    "CD": ("CD", "Compact Disc", "CD Album"),
    "Cassette": ("Cassette", "Tape", "Cassette Tape", "MC"),
}
SELLER_WORDS = (
    ("crate", "vinyl", "groove", "wax", "record", "spin", "dusty", "needle", "platter", "stereo"),
    ("digger", "vault", "merchant", "barn", "shack", "cellar", "den", "junkie", "hound", "cycle"),
)
