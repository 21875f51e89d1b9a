"""Languages: Arabic first, English too. Message catalogues are gettext .po files under config/locale."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = ("ar", "en")
DEFAULT_LANGUAGE = "ar"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


def catalogue_path(language: str) -> Path:
    """Where the .po catalogue of `language` lives."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of `language` (English is the source language: no catalogue)."""
    path = catalogue_path(language)
    if language not in LANGUAGES or not path.is_file():
        return NullTranslations()
    with path.open("rb") as po:
        catalogue = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def gettext_for(language: str) -> Callable[[str], str]:
    """`_` for one language."""
    return translations(language).gettext


def negotiate(requested: str | None, accept_language: str | None) -> str:
    """Picks the language: an explicit `?lang=` wins, then Accept-Language, then Arabic."""
    if requested in LANGUAGES:
        return requested
    preferred = []
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().replace("-", "_")
        if tag and tag != "*":
            preferred.append(tag)
    return negotiate_locale(preferred, LANGUAGES, sep="_") or DEFAULT_LANGUAGE


def direction(language: str) -> str:
    """`rtl` or `ltr`, for the page's `dir` attribute."""
    try:
        right_to_left = Locale.parse(language).character_order == "right-to-left"
    except (UnknownLocaleError, ValueError):
        right_to_left = True
    return "rtl" if right_to_left else "ltr"


# A number of each CLDR plural category (the categories Babel's rules and the browsers' Intl.PluralRules
# both name), to ask the catalogue for that category's form.
_CATEGORY_SAMPLES = {"zero": 0, "one": 1, "two": 2, "few": 3, "many": 11, "other": 100}


def plural_forms(language: str, singular: str, plural: str) -> dict[str, str]:
    """Each plural category of `language` with its translated form, for a page to choose from with
    `Intl.PluralRules` (words.js): the catalogue's plural forms, reaching the browser whole."""
    try:
        categories = Locale.parse(language).plural_form.tags | {"other"}
    except (UnknownLocaleError, ValueError):
        categories = frozenset({"one", "other"})
    ngettext = translations(language).ngettext
    return {category: ngettext(singular, plural, _CATEGORY_SAMPLES[category]) for category in categories}


@dataclass(frozen=True)
class Phrase:
    """Part of a message, with its own params, translated where the whole is shown: "field 'x': <what is
    wrong>" is one template, and what is wrong another."""

    template: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.template % self.params if self.params else self.template

    def translated(self, gettext: Callable[[str], str]) -> str:
        text = gettext(self.template) if self.template else self.template
        return text % self.params if self.params else text


def N_(message: str) -> str:
    """Marks a text for translation where it is defined; it is translated where it is shown."""
    return message
