"""The pressing "families": how each label numbered its reissues, CDs and cassettes,
and the words sellers use for a label's look and a title's short forms. Data only.

Reissue, CD and cassette numbers follow each label's real scheme with invented digits.
"""

from __future__ import annotations

# A pressing kind in a family: (label or "" = the original's, catno pattern,
# country or "" = the original's, barcode pattern or "" = none).
# Catno placeholders: {cat} the original catno, {n} its last number, {m} the stereo number,
# {pre} its letter prefix, {cat_cd}/{cat_mc} the label's usual CD/cassette form of {cat},
# {r2}..{r8} random digits fixed per release, {pg} a PolyGram-style "8xx xxx" number.
# Barcode patterns give 11 digits (UPC-A body) or 12 (EAN-13 body); the check digit is
# appended. Extra placeholders there: {n5} {m5} (zero-padded to 5 digits), {p} (the last 5
# digits of {pg}), {f} the format digit (1 vinyl, 2 CD, 4 cassette), {lab5} a 5-digit
# company prefix derived from the label's name.
Kind = tuple[str, str, str, str]

_DEFAULT: dict[str, Kind] = {
    "orig": ("", "{cat}", "", "{lab5}{n5}{f}"),
    "repress": ("", "{cat}", "", ""),
    "foreign": ("", "{cat}", "Canada", ""),
    "reissue": ("", "{cat}", "", "{lab5}{r5}{f}"),
    "jp": ("", "P-{r4}", "Japan", "4988{r8}"),
    "cd": ("", "{cat_cd}", "", "{lab5}{n5}{f}"),
    "eucd": ("", "{cat_cd}", "Europe", "5{lab5}{r5}{f}"),
    "cass": ("", "{cat_mc}", "", "{lab5}{n5}{f}"),
    "modern": ("Music On Vinyl", "MOVLP{r4}", "Europe", "8718469{r5}"),
    "audiophile": ("Mobile Fidelity Sound Lab", "MFSL 1-{r3}", "US", "82179{r6}"),
    "color": ("Vinyl Me, Please", "VMP-{r3}", "US", "85871{r6}"),
}


def _family(**kinds: Kind | None) -> dict[str, Kind]:
    """The default kinds overridden by `kinds`; a kind given as None is not made."""
    merged = dict(_DEFAULT)
    for name, kind in kinds.items():
        if kind is None:
            merged.pop(name, None)
        else:
            merged[name] = kind
    return merged


_UNIVERSAL = "60253{r6}"
FAMILIES: dict[str, dict[str, Kind]] = {
    "bluenote": _family(
        reissue=("Blue Note", "BST-8{n}", "US", ""),
        jp=("Blue Note", "GXK 8{r3}", "Japan", "4988002{r5}"),
        cd=("Blue Note", "CDP 7 {r5} 2", "US", "07777{r5}{f}"),
        eucd=("Blue Note", "7243 5 {r5} 2", "Europe", "72435{r5}{f}"),
        cass=("Blue Note", "4BN {r5}", "US", "07777{r5}{f}"),
        modern=("Blue Note", "B00{r5}-01", "US", _UNIVERSAL),
        audiophile=("Blue Note", "ST-8{n}", "US", "60255{r6}"),
        color=None,
    ),
    "columbia": _family(
        stereo=("", "CS {m}", "", ""),
        foreign=("CBS", "BPG 6{r4}", "UK", ""),
        club=("", "{cat}", "", ""),
        reissue=("Columbia", "PC {m}", "US", "07464{m5}{f}"),
        jp=("CBS/Sony", "20AP {r4}", "Japan", "4988009{r5}"),
        cd=("Columbia", "CK {r5}", "US", "07464{r5}{f}"),
        eucd=("Columbia", "COL {r6} 2", "Europe", "5099{r8}"),
        cass=("Columbia", "PCT {m}", "US", "07464{m5}{f}"),
        modern=("Columbia", "88875{r6}", "US", "88875{r6}"),
        audiophile=("Mobile Fidelity Sound Lab", "MFSL 2-{r3}", "US", "82179{r6}"),
    ),
    "columbia70": _family(
        orig=("", "{cat}", "", "07464{n5}{f}"),
        foreign=("CBS", "CBS {r5}", "UK", ""),
        reissue=("Columbia", "PC {n}", "US", "07464{n5}{f}"),
        jp=("CBS/Sony", "25AP {r4}", "Japan", "4988009{r5}"),
        cd=("Columbia", "CK {n}", "US", "07464{n5}{f}"),
        eucd=("CBS", "CD {r5}", "Europe", "5099{r8}"),
        cass=("Columbia", "{pre}T {n}", "US", "07464{n5}{f}"),
        modern=("Columbia", "88875{r6}", "US", "88875{r6}"),
    ),
    "atlantic": _family(
        stereo=("", "SD {m}", "", ""),
        foreign=("Atlantic", "SD {r4}", "US", ""),
        reissue=("Atlantic", "SD {m}", "US", "07567{m5}{f}"),
        jp=("Atlantic", "P-{r4}A", "Japan", "4988014{r5}"),
        cd=("Atlantic", "{m}-2", "US", "07567{m5}{f}"),
        eucd=("Atlantic", "7567-{r5}-2", "Europe", "07567{r5}{f}"),
        cass=("Atlantic", "CS {m}", "US", "07567{m5}{f}"),
        modern=("Rhino Records (2)", "R1 {m}", "US", "08122{r6}"),
    ),
    "impulse": _family(
        stereo=("Impulse!", "AS-{m}", "", ""),
        repress=("Impulse!", "AS-{m}", "", ""),
        reissue=("ABC Impulse!", "AS-{m}", "US", ""),
        jp=("Impulse!", "VIM-{r4}", "Japan", "4988005{r5}"),
        cd=("Impulse!", "IMPD-{r3}", "US", "01110{r5}{f}"),
        eucd=("Impulse!", "{pg}-2", "Europe", "04228{p}{f}"),
        cass=("MCA Records", "MCAC-{r4}", "US", "07637{r5}{f}"),
        modern=("Impulse!", "B00{r5}-01", "US", _UNIVERSAL),
        audiophile=("Analogue Productions", "AIPJ 0{m}", "US", "75351{r6}"),
    ),
    "ojc": _family(
        reissue=("Original Jazz Classics", "OJC-{r3}", "US", "02521{r5}{f}"),
        jp=("Victor", "SMJ-{r4}", "Japan", "4988002{r5}"),
        cd=("Original Jazz Classics", "OJCCD-{r3}-2", "US", "02521{r5}{f}"),
        eucd=None,
        modern=("Craft Recordings", "CR00{r3}", "US", "88807{r6}"),
        audiophile=("Analogue Productions", "AJAZ {r4}", "US", "75351{r6}"),
    ),
    "verve": _family(
        stereo=("", "V6-{m}", "", ""),
        foreign=("HMV", "CLP {r4}", "UK", ""),
        reissue=("Verve Records", "V6-{m}", "US", ""),
        jp=("Verve Records", "MV {r4}", "Japan", "4988005{r5}"),
        cd=("Verve Records", "{pg}-2", "US", "04228{p}{f}"),
        eucd=("Verve Records", "{pg}-2", "Europe", "04228{p}{f}"),
        cass=("Verve Records", "{pg}-4", "US", "04228{p}{f}"),
        modern=("Verve Records", "B00{r5}-01", "US", _UNIVERSAL),
        audiophile=("Verve Records", "B00{r5}-01", "US", "60257{r6}"),
    ),
    "ecm": _family(
        orig=("", "{cat}", "", "04228{r5}{f}"),
        foreign=("ECM Records", "ECM-1-{n}", "US", ""),
        jp=("ECM Records", "PAP-{r4}", "Japan", "4988005{r5}"),
        cd=("ECM Records", "{pg}-2", "Germany", "04228{p}{f}"),
        eucd=None,
        cass=("ECM Records", "{pg}-4", "Germany", "04228{p}{f}"),
        modern=("ECM Records", "{cat}", "Europe", "060257{r6}"),
    ),
    "parlophone": _family(
        stereo=("Parlophone", "PCS {m}", "UK", ""),
        repress=("Parlophone", "PCS {m}", "UK", ""),
        foreign=("Capitol Records", "ST-{r4}", "US", ""),
        reissue=("Parlophone", "PCS {m}", "UK", "5099{r8}"),
        jp=("Odeon", "EAS-{r5}", "Japan", "4988006{r5}"),
        cd=("Parlophone", "CDP 7 {r5} 2", "UK", "07777{r5}{f}"),
        cass=("Parlophone", "TC-PCS {m}", "UK", "5099{r8}"),
        modern=("Apple Records", "0602567{r5}", "Europe", "0602567{r5}"),
    ),
    "emi": _family(
        orig=("", "{cat}", "", "5099{r8}"),
        foreign=("", "SMAS-{r5}", "US", ""),
        reissue=("Fame", "FA {r4}", "UK", "5099{r8}"),
        jp=("Odeon", "EMS-{r5}", "Japan", "4988006{r5}"),
        cd=("", "CDP 7 {r5} 2", "UK", "07777{r5}{f}"),
        eucd=("", "7243 8 {r5} 2", "Europe", "72438{r5}{f}"),
        cass=("", "TC-{cat}", "UK", "5099{r8}"),
        modern=("", "0190295{r5}", "Europe", "0190295{r5}"),
    ),
    "wea": _family(
        orig=("", "{cat}", "", "07599{n5}{f}"),
        foreign=("", "K {r5}", "UK", ""),
        reissue=("", "{cat}", "US", "07599{n5}{f}"),
        jp=("", "P-{r4}W", "Japan", "4988014{r5}"),
        cd=("", "{n}-2", "US", "07599{n5}{f}"),
        eucd=("", "7599-{r5}-2", "Europe", "07599{r5}{f}"),
        cass=("", "{n}-4", "US", "07599{n5}{f}"),
        modern=("Rhino Records (2)", "R1 {n}", "US", "08122{r6}"),
    ),
    "elektra": _family(
        stereo=("Elektra", "EKL-{m}", "", ""),
        orig=("", "{cat}", "", "07559{n5}{f}"),
        foreign=("Elektra", "K {r5}", "UK", ""),
        cd=("Elektra", "{n}-2", "US", "07559{n5}{f}"),
        eucd=("Elektra", "7559-{r5}-2", "Europe", "07559{r5}{f}"),
        cass=("Elektra", "{n}-4", "US", "07559{n5}{f}"),
        modern=("Rhino Records (2)", "R1 {n}", "US", "08122{r6}"),
    ),
    "dgc": _family(
        orig=("", "{cat}", "", "72064{n5}{f}"),
        foreign=("", "GEF {n}", "Europe", "0720642{r5}"),
        reissue=None,
        cd=("", "{pre}D-{n}", "US", "72064{n5}{f}"),
        cass=("", "{pre}C-{n}", "US", "72064{n5}{f}"),
        modern=("", "B00{r5}-01", "US", _UNIVERSAL),
        jp=None,
    ),
    "motown": _family(
        foreign=("Tamla Motown", "STML {r5}", "UK", ""),
        reissue=("Motown", "M5-{r3}V1", "US", "07298{r5}{f}"),
        jp=("Motown", "VIP-{r4}", "Japan", "4988005{r5}"),
        cd=("Motown", "37463-{r4}-2", "US", "03746{r5}{f}"),
        cass=("Motown", "{pre}T-{n}", "US", "07298{r5}{f}"),
        modern=("Motown", "B00{r5}-01", "US", _UNIVERSAL),
    ),
    "island": _family(
        foreign=("Island Records", "{cat}", "US", ""),
        cd=("Island Records", "CID {n}", "UK", "50165{r7}"),
        eucd=("Tuff Gong", "422-{pg}-2", "US", "04228{p}{f}"),
        cass=("Island Records", "ICT {n}", "UK", "50165{r7}"),
        modern=("Island Records", "B00{r5}-01", "US", _UNIVERSAL),
        jp=("Island Records", "ILS-{r5}", "Japan", "4988005{r5}"),
    ),
    "jamaica": _family(
        foreign=("Trojan Records", "TRLS {r3}", "UK", ""),
        reissue=("Pressure Sounds", "PSLP {r2}", "UK", "5{lab5}{r5}{f}"),
        cd=("Blood & Fire", "BAFCD {r3}", "UK", "5{lab5}{r5}{f}"),
        jp=None,
        audiophile=None,
    ),
    "dg": _family(
        foreign=None,
        reissue=("Deutsche Grammophon", "2535 {r3}", "Germany", ""),
        jp=("Deutsche Grammophon", "MG {r4}", "Japan", "4988005{r5}"),
        cd=("Deutsche Grammophon", "4{r2} {r3}-2", "Germany", "02894{r5}{f}"),
        eucd=None,
        cass=("Deutsche Grammophon", "3300 {r3}", "Germany", ""),
        modern=("Deutsche Grammophon", "{r3} {r4}", "Europe", "028948{r6}"),
        color=None,
    ),
    "us": _family(),
    "uk": _family(
        orig=("", "{cat}", "", "5{lab5}{n5}{f}"),
        foreign=("", "{cat}", "Germany", ""),
        cd=("", "{cat_cd}", "", "5{lab5}{n5}{f}"),
        cass=("", "{cat_mc}", "", "5{lab5}{n5}{f}"),
        eucd=("", "{cat_cd}", "Europe", "7{lab5}{r5}{f}"),
    ),
    "modern": _family(
        repress=None,
        foreign=None,
        reissue=None,
        jp=("", "{pre}JP-{r3}", "Japan", "4523132{r5}"),
        eucd=None,
        audiophile=None,
    ),
}

# Label "look" words sellers add to the titles of original pressings.
LABEL_NOTES: dict[str, tuple[str, ...]] = {
    "Blue Note": ("DG", "Deep Groove", "NY USA", "RVG", "EAR", "W 63rd", "Lexington"),
    "Columbia": ("6-Eye", "6 Eye", "2-Eye"),
    "Impulse!": ("Orange Label", "Van Gelder", "RVG", "Gatefold"),
    "Atlantic": ("Bullseye", "Red Purple", "Plum Label"),
    "Verve Records": ("MGM", "Trumpeter", "T Label"),
    "Prestige": ("NJ", "Bergenfield", "RVG"),
    "Riverside Records": ("Blue Label", "Bill Grauer"),
    "Parlophone": ("Yellow Black", "Gold Parlophone", "Loud Cut", "XEX"),
    "Harvest": ("Solid Triangle", "No EMI", "A2/B2"),
    "Vertigo": ("Swirl", "Large Swirl", "Spaceship"),
    "Island Records": ("Pink Rim", "Palm Tree", "Pink Label"),
    "Tamla": ("Globe", "Stripes"),
    "RCA Victor": ("Orange Label", "Shaded Dog", "Living Stereo"),
    "Decca": ("Wide Band", "ED1", "Unboxed"),
    "Deutsche Grammophon": ("Tulip", "ED1", "Red Stereo"),
    "Columbia Masterworks": ("6-Eye", "Gray Label"),
    "Elektra": ("Gold Label", "Butterfly"),
    "Apple Records": ("Misaligned Apple", "-1/-1"),
    "Factory": ("Textured Sleeve", "Matrix A/B"),
}

# Common shortenings and spellings sellers use for long or odd titles.
TITLE_ALIASES: dict[str, tuple[str, ...]] = {
    "The Rise And Fall Of Ziggy Stardust And The Spiders From Mars": (
        "Ziggy Stardust",
        "The Rise And Fall Of Ziggy Stardust",
    ),
    "Sgt. Pepper's Lonely Hearts Club Band": ("Sgt Peppers", "Sgt. Pepper", "Sgt Pepper's"),
    "The Dark Side Of The Moon": ("Dark Side Of The Moon", "Dark Side of the Moon"),
    "Never Mind The Bollocks Here's The Sex Pistols": ("Never Mind The Bollocks",),
    "Enter The Wu-Tang (36 Chambers)": ("Enter The Wu-Tang", "36 Chambers"),
    "It Takes A Nation Of Millions To Hold Us Back": ("It Takes A Nation Of Millions",),
    "Led Zeppelin IV": ("Led Zeppelin 4", "IV Zoso", "Four Symbols"),
    "Otis Blue / Otis Redding Sings Soul": ("Otis Blue",),
    "(What's The Story) Morning Glory?": ("Whats The Story Morning Glory", "Morning Glory"),
    "I Never Loved A Man The Way I Love You": ("I Never Loved A Man",),
    "Cookin' With The Miles Davis Quintet": ("Cookin'", "Cookin"),
    "Art Pepper Meets The Rhythm Section": ("Meets The Rhythm Section",),
    "Trans-Europa Express": ("Trans Europe Express", "Trans-Europe Express"),
    "Ambient 1: Music For Airports": ("Music For Airports",),
    "Selected Ambient Works 85-92": ("Selected Ambient Works", "SAW 85-92"),
    "The Cannonball Adderley Quintet In San Francisco": ("In San Francisco",),
    "The Orb's Adventures Beyond The Ultraworld": ("Adventures Beyond The Ultraworld",),
    "There's A Riot Goin' On": ("Theres A Riot Going On",),
    "Songs In The Key Of Life": ("Songs In The Key Of Life 2LP",),
    "The Black Saint And The Sinner Lady": ("Black Saint & The Sinner Lady",),
    "King Tubbys Meets Rockers Uptown": ("King Tubby Meets Rockers Uptown",),
    "Power, Corruption & Lies": ("Power Corruption And Lies", "PCL"),
    "The Piper At The Gates Of Dawn": ("Piper At The Gates Of Dawn",),
    "The Number Of The Beast": ("Number Of The Beast",),
    "Bach: The Goldberg Variations": ("Goldberg Variations", "Bach Goldberg Variations"),
    "Endtroducing.....": ("Endtroducing",),
    "The Man•Machine": ("The Man Machine", "Man-Machine"),
    "The Köln Concert": ("Koln Concert", "The Koeln Concert"),
}

# Albums on more than one LP: title → number of LPs (the CD edition has one disc fewer).
MULTI_DISC: dict[str, int] = {
    "The Köln Concert": 2,
    "Bitches Brew": 2,
    "Songs In The Key Of Life": 2,
    "Blonde On Blonde": 2,
    "Physical Graffiti": 2,
    "Symphony No. 5": 2,
    "The Epic": 3,
    "The Miseducation Of Lauryn Hill": 2,
    "Dig Your Own Hole": 2,
    "Orbital 2": 2,
    "The Orb's Adventures Beyond The Ultraworld": 2,
    "Selected Ambient Works 85-92": 2,
    "Music Has The Right To Children": 2,
    "Madvillainy": 2,
    "Donuts": 2,
    "To Pimp A Butterfly": 2,
    "Aquemini": 2,
    "Untrue": 2,
    "Sound Of Silver": 2,
    "Live At The Apollo": 1,
}
