"""Rendering server-side pages: one Jinja2 environment, every page in the request's language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from config.i18n import LANGUAGES, direction, negotiate, plural_forms, translations

BASE_TEMPLATES = Path(__file__).parent / "templates"


def page_language(request: Request) -> str:
    """The page's language: `?lang=`, then a remembered choice, then Accept-Language, then Arabic."""
    return negotiate(
        request.query_params.get("lang") or request.cookies.get("dor_lang"),
        request.headers.get("accept-language"),
    )


DIGITS = ("arabic", "latin")
_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def page_digits(request: Request, language: str) -> str:
    """The digits every number on the page is written in: `?digits=`, then a remembered choice, then
    the language's usual ones (Arabic-Indic for Arabic)."""
    for choice in (request.query_params.get("digits"), request.cookies.get("dor_digits")):
        if choice in DIGITS:
            return choice
    return "arabic" if language == "ar" else "latin"


def make_environment(template_dirs: Sequence[Path]) -> Environment:
    """The Jinja2 environment over the base templates and each package's own."""
    loader = ChoiceLoader([FileSystemLoader(str(d)) for d in (*template_dirs, BASE_TEMPLATES)])
    return Environment(
        loader=loader,
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(
    request: Request, template: str, context: Mapping[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    """Renders `template` in the request's language; `?lang=` is remembered in a cookie."""
    environment: Environment = request.app.state.templates
    language = page_language(request)
    digits = page_digits(request, language)
    catalogue = translations(language)
    html = environment.get_template(template).render(
        {
            **(context or {}),
            "request": request,
            "lang": language,
            "dir": direction(language),
            "other_languages": [lang for lang in LANGUAGES if lang != language],
            # The same page in another language, keeping what else its address says (?centre=...).
            "language_href": lambda other: "?" + request.url.include_query_params(lang=other).query,
            "gettext": catalogue.gettext,
            "ngettext": catalogue.ngettext,
            "_": catalogue.gettext,
            "digits": digits,
            "local": lambda value: str(value).translate(_ARABIC_INDIC) if digits == "arabic" else str(value),
            "plural": lambda singular, plural: plural_forms(language, singular, plural),
        }
    )
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie("dor_lang", language, max_age=365 * 86400, samesite="lax")
    if request.query_params.get("digits") in DIGITS:
        response.set_cookie("dor_digits", digits, max_age=365 * 86400, samesite="lax")
    return response
