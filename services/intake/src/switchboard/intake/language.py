"""Which language a customer wrote in, detected locally (lingua's bundled models, no download at run time).

Detection is restricted to the languages the operation supports, which makes it both faster and more
accurate on short messages; a declared language always wins over detection.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

DEFAULT_LANGUAGES = ("en", "tr", "az", "uk", "ru", "de", "fr", "es")


@lru_cache(maxsize=4)
def _detector(codes: tuple[str, ...]) -> LanguageDetector:
    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in codes]
    return (
        LanguageDetectorBuilder.from_languages(*languages)
        .with_minimum_relative_distance(0.1)
        .with_preloaded_language_models()
        .build()
    )


def validate_languages(codes: Iterable[str]) -> tuple[str, ...]:
    """Fail at start-up, not on the first message, when a configured language is unknown to lingua."""
    cleaned = tuple(dict.fromkeys(c.strip().lower() for c in codes if c.strip()))
    unknown = [c for c in cleaned if not hasattr(IsoCode639_1, c.upper())]
    if unknown:
        raise ValueError(f"unsupported language codes for detection: {', '.join(unknown)}")
    if len(cleaned) < 2:
        raise ValueError("language detection needs at least two languages to choose between")
    return cleaned


def detect(text: str, *, languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> str | None:
    """ISO 639-1 code of the text's language, or None when the text is too short or ambiguous."""
    sample = text[:2000]
    if len(sample.strip()) < 3:
        return None
    language = _detector(languages).detect_language_of(sample)
    return None if language is None else language.iso_code_639_1.name.lower()


def warm_up(languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> None:
    """Load the models at start-up so the first request is not the slow one."""
    _detector(languages).detect_language_of("warm up")
