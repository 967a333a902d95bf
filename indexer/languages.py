"""Language codes as containers, file names and people write them, as the ISO 639-1 codes Whisper uses."""
from __future__ import annotations

import re

# ISO 639-1, English name, ISO 639-2 codes (bibliographic and terminological)
_LANGUAGE_TABLE = (
    "en English eng|zh Chinese chi zho|fr French fre fra|de German ger deu|es Spanish spa|it Italian ita|"
    "pt Portuguese por|ru Russian rus|ja Japanese jpn|ko Korean kor|ar Arabic ara|nl Dutch dut nld|"
    "sv Swedish swe|no Norwegian nor nob nno|da Danish dan|fi Finnish fin|pl Polish pol|cs Czech cze ces|"
    "sk Slovak slo slk|hu Hungarian hun|ro Romanian rum ron|el Greek gre ell|tr Turkish tur|he Hebrew heb|"
    "hi Hindi hin|th Thai tha|vi Vietnamese vie|id Indonesian ind|ms Malay may msa|uk Ukrainian ukr|"
    "bg Bulgarian bul|hr Croatian hrv|sr Serbian srp|sl Slovenian slv|ca Catalan cat|fa Persian per fas|"
    "is Icelandic ice isl|et Estonian est|lv Latvian lav|lt Lithuanian lit|ta Tamil tam|bn Bengali ben")
LANGUAGE_NAMES = {row.split()[0]: row.split()[1] for row in _LANGUAGE_TABLE.split("|")}
_LANGUAGES = {alias.lower(): row.split()[0] for row in _LANGUAGE_TABLE.split("|") for alias in row.split()}
# Names Chinese and Japanese releases use for their subtitle files.
_LANGUAGES.update({"chs": "zh", "cht": "zh", "sc": "zh", "tc": "zh", "简体": "zh", "繁体": "zh", "中文": "zh",
                   "jp": "ja"})


def language_code(tag: str | None) -> str | None:
    """'eng', 'en-US', 'EN', 'zh-Hans', 'chs' -> 'en' / 'zh'; unknown, 'und' and empty -> None."""
    tag = (tag or "").strip().lower()
    return _LANGUAGES.get(tag) or _LANGUAGES.get(re.split(r"[-_]", tag)[0])
