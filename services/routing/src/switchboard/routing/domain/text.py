"""Text matching for routing: words compared regardless of case and script quirks, and language tags."""

from __future__ import annotations

import re
import unicodedata

_DOTTED_I = re.compile("i\u0307")
# Scripts written without spaces between words: each character is its own word, so a phrase of several
# characters matches as a run of them (a substring), which is what a rule author writing '退款' means.
_UNSPACED = ("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH", "HIRAGANA", "KATAKANA", "THAI")


def fold(text: str) -> str:
    """Fold text so that a rule word matches however the customer typed it.

    Compatibility forms are unified (full-width letters, ligatures), case is folded the Unicode way, and the four
    Turkish/Azerbaijani i's (I, İ, ı, i) become one 'i': plain `casefold` turns 'İ' into 'i' + a combining dot and
    keeps 'ı', so 'İADE' would miss 'iade' and 'KAPALI' would miss 'kapalı'. Matching 'kır' with 'kir' as well is
    the lesser evil: customers without a Turkish keyboard write them alike anyway.
    """
    folded = unicodedata.normalize("NFKD", text).casefold()
    folded = _DOTTED_I.sub("i", folded).replace("ı", "i")
    return unicodedata.normalize("NFKC", folded)


def _unspaced(char: str) -> bool:
    return unicodedata.name(char, "").startswith(_UNSPACED)


def words(text: str) -> tuple[str, ...]:
    """The folded words of `text`: runs of letters, marks and digits; anything else separates them."""
    found: list[str] = []
    current: list[str] = []
    for char in fold(text):
        if unicodedata.category(char)[0] in "LMN" and not _unspaced(char):
            current.append(char)
            continue
        if current:
            found.append("".join(current))
            current = []
        if _unspaced(char):
            found.append(char)
    if current:
        found.append("".join(current))
    return tuple(found)


def language_covers(wanted: str, actual: str) -> bool:
    """True when a rule's language tag covers a ticket's: 'tr' covers 'tr' and 'tr-TR', 'en-GB' not 'en-US'."""
    wanted_parts = wanted.casefold().split("-")
    return actual.casefold().split("-")[: len(wanted_parts)] == wanted_parts


def same_language(spoken: str, needed: str) -> bool:
    """True when an agent speaking `spoken` can serve `needed`: regional variants count as the same language."""
    return primary_language(spoken) == primary_language(needed)


def primary_language(tag: str) -> str:
    """The language a tag names without its region or script: 'pt' for 'pt-BR', compared case-insensitively."""
    return tag.casefold().split("-")[0]
