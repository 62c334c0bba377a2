#!/usr/bin/env python3
"""Generates src/compliance's phone-number tables from Debian's python3-phonenumbers.

Called by CMake (src/compliance/compliance.cmake) at build time:

    gen-phone-tables.py OUTPUT.cc

Two tables, both from libphonenumber's own data (the same release as the
libphonenumber-dev the binary links, 8.12.57 on Debian 12):

- E.164 digit prefix -> IANA time zones (phonenumbers/tzdata), looked up by
  longest prefix. The country-level entry "1" is left out: it lists every zone
  of the 25 NANP countries (Guam to Newfoundland), which libphonenumber
  returns for non-geographic numbers such as toll-free 8XX; for the dialer
  such a number has no known zone (default-timezone applies).
- NANP area code -> region code (ISO 3166-2, e.g. "US-FL", "CA-ON"; other
  NANP countries by their ISO 3166-1 code, e.g. "JM"), from the English
  geocoder descriptions (phonenumbers/geodata) and, where those say nothing,
  the region libphonenumber assigns the area code (territories such as
  Puerto Rico become "US-PR").
"""
import os
import re
import sys

SCRIPT = "scripts/gen-phone-tables.py"


def import_phonenumbers():
    try:
        import phonenumbers  # noqa: F401
    except ImportError:
        # CMake may have found a Python other than Debian's (pyenv, venv):
        # the Debian package is pure Python, so its folder works for any 3.x.
        sys.path.append("/usr/lib/python3/dist-packages")
        try:
            import phonenumbers  # noqa: F401
        except ImportError:
            sys.exit(f"{SCRIPT}: python3-phonenumbers is not installed; run scripts/install-deps "
                     "(or apt-get install python3-phonenumbers)")
    import phonenumbers
    from phonenumbers.geodata import GEOCODE_DATA
    from phonenumbers.tzdata import TIMEZONE_DATA
    return phonenumbers, TIMEZONE_DATA, GEOCODE_DATA


US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
    "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
    "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
    "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH",
    "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY", "North Carolina": "NC",
    "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN",
    "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington State": "WA",
    "Washington": "WA", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
    "Washington D.C.": "DC", "Philadelphia": "PA",
}
CA_PROVINCES = {
    "Alberta": "AB", "British Columbia": "BC", "Manitoba": "MB", "New Brunswick": "NB",
    "Newfoundland and Labrador": "NL", "Nova Scotia": "NS", "Ontario": "ON", "Quebec": "QC",
    "Saskatchewan": "SK", "Prince Edward Island": "PE",
}
US_POSTAL = set(US_STATES.values())
CA_POSTAL = set(CA_PROVINCES.values())
US_TERRITORIES = {"PR", "VI", "GU", "MP", "AS"}  # NANP regions that are US territories


def region_of_description(text):
    """'Florida' -> 'US-FL', 'Houston, TX' -> 'US-TX', 'Montreal, QC' -> 'CA-QC'; else None.

    Descriptions naming several regions ('Nova Scotia/Prince Edward Island')
    give None: one area code, more than one region."""
    if text in US_STATES:
        return "US-" + US_STATES[text]
    if text in CA_PROVINCES:
        return "CA-" + CA_PROVINCES[text]
    m = re.search(r", ([A-Z]{2})$", text)
    if m:
        code = m.group(1)
        if code in US_POSTAL:
            return "US-" + code
        if code in CA_POSTAL:
            return "CA-" + code
        if code in US_TERRITORIES:
            return "US-" + code
    return None


def nanp_regions(phonenumbers, geodata):
    out = {}
    for npa in range(200, 1000):
        key = f"1{npa}"
        region = None
        entry = geodata.get(key)
        if entry and entry.get("en"):
            region = region_of_description(entry["en"])
        if region is None:
            # Finer entries ("Ansonia, CT"): used when they all agree.
            found = {region_of_description(v["en"]) for k, v in geodata.items()
                     if k.startswith(key) and len(k) > 4 and v.get("en")}
            found.discard(None)
            if len(found) == 1:
                region = found.pop()
        if region is None:
            number = phonenumbers.parse(f"+1{npa}2345678")
            cc = phonenumbers.region_code_for_number(number)
            if cc in US_TERRITORIES:
                region = "US-" + cc
            elif cc and cc not in ("US", "CA"):
                region = cc  # another NANP country: Jamaica is "JM"
        if region:
            out[npa] = region
    return out


def cpp_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {SCRIPT} OUTPUT.cc")
    phonenumbers, tzdata, geodata = import_phonenumbers()
    prefixes = {p: zones for p, zones in tzdata.items() if p != "1"}
    for p in prefixes:
        if not p.isdigit():
            sys.exit(f"{SCRIPT}: unexpected prefix {p!r} in phonenumbers.tzdata")
    regions = nanp_regions(phonenumbers, geodata)

    lines = [
        f"// Generated by {SCRIPT} from python3-phonenumbers {phonenumbers.__version__}. Do not edit.",
        '#include "compliance/phone_tables.h"',
        "",
        "#include <iterator>",
        "",
        "namespace pd::phone_tables {",
        "",
        f'const std::string_view kDataVersion = "{phonenumbers.__version__}";',
        "",
        "// Sorted by prefix (byte order), for binary search.",
        "const PrefixZones kPrefixZones[] = {",
    ]
    for p in sorted(prefixes):
        lines.append(f"    {{{cpp_string(p)}, {cpp_string(' '.join(prefixes[p]))}}},")
    lines += ["};", "const std::size_t kPrefixZonesSize = std::size(kPrefixZones);", "",
              "// Sorted by area code.", "const AreaCodeRegion kAreaCodeRegions[] = {"]
    for npa in sorted(regions):
        lines.append(f"    {{{npa}, {cpp_string(regions[npa])}}},")
    lines += ["};", "const std::size_t kAreaCodeRegionsSize = std::size(kAreaCodeRegions);", "",
              "}  // namespace pd::phone_tables", ""]
    text = "\n".join(lines)
    out = sys.argv[1]
    old = None
    if os.path.exists(out):
        with open(out, encoding="utf-8") as f:
            old = f.read()
    if old != text:  # untouched when unchanged: no needless rebuild
        tmp = out + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, out)


if __name__ == "__main__":
    main()
