"""Pages: Arabic first and right-to-left, English on request, static files served by the app."""

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.i18n import catalogue_path, translations
from tests.conftest import sign_in

PACKAGES = [
    "config",
    "sms_gateway",
    "eventlog",
    "organisation",
    "identity",
    "queueing",
    "scheduling",
    "display",
    "booking",
    "supervision",
    "server",
]
ROOT = Path(__file__).resolve().parent.parent
# As `make messages` extracts: the pages' `plural(singular, plural)` too.
KEYWORDS = {**DEFAULT_KEYWORDS, "plural": (1, 2)}


def test_home_page_is_arabic_and_right_to_left_by_default(client: TestClient) -> None:
    html = client.get("/").text
    assert '<html lang="ar" dir="rtl" data-digits="arabic">' in html
    assert "مراكز خدمة المواطن" in html
    assert "مركز خدمة المواطن - المزة" in html


def test_lang_parameter_switches_to_english_and_is_remembered(client: TestClient) -> None:
    response = client.get("/?lang=en")
    assert '<html lang="en" dir="ltr" data-digits="latin">' in response.text
    assert "Citizen Service Centre — Mezzeh" in response.text
    assert response.cookies.get("dor_lang") == "en"
    assert '<html lang="en"' in client.get("/").text


def test_digits_follow_the_language_unless_chosen_and_the_choice_is_remembered(client: TestClient) -> None:
    chosen = client.get("/?digits=latin")
    assert 'data-digits="latin"' in chosen.text
    assert chosen.cookies.get("dor_digits") == "latin"
    assert 'data-digits="latin"' in client.get("/").text
    assert 'data-digits="latin"' in client.get("/?digits=nonsense").text


def test_accept_language_picks_english(client: TestClient) -> None:
    html = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"}).text
    assert 'dir="ltr"' in html


def test_pages_use_an_arabic_capable_font_stack_served_locally(client: TestClient) -> None:
    css = client.get("/static/base.css")
    assert css.status_code == 200
    assert "Noto Naskh Arabic" in css.text
    html = client.get("/").text
    assert not re.search(r'(href|src)="https?://', html), "pages load nothing from outside"


def test_every_text_to_translate_has_an_arabic_translation() -> None:
    catalogue = translations("ar")
    missing = []
    for package in PACKAGES:
        method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
        options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
        for filename, _line, message, _comments, _context in extract_from_dir(
            ROOT / package, method_map, options_map=options, keywords=KEYWORDS
        ):
            if isinstance(message, str):
                translated = catalogue.gettext(message) != message
            else:  # plural forms: the pages' `plural(singular, plural)` (config/web/pages.py) or ngettext
                translated = catalogue.ngettext(message[0], message[1], 5) != message[1]
            if not translated:
                missing.append(f"{package}/{filename}: {message}")
    assert catalogue_path("ar").is_file()
    assert missing == []


def test_the_language_link_keeps_the_rest_of_the_address(app: Starlette) -> None:
    """A supervisor switching language stays on the centre picked (?centre=)."""
    admin = sign_in(app, "admin")
    arabic = admin.get("/supervisor/counters?centre=DAM-02&lang=ar").text
    link = re.search(r'<a href="([^"]*)" lang="en"', arabic)
    assert link is not None and link.group(1) == "?centre=DAM-02&amp;lang=en"
    english = admin.get("/supervisor/counters" + link.group(1).replace("&amp;", "&")).text
    assert '<html lang="en"' in english
    assert '<option value="DAM-02" selected>' in english
