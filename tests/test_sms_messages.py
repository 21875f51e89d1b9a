"""SMS texts: segment counting (GSM-7 and UCS-2) and the Arabic and English templates."""

import logging

import pytest

from sms_gateway.segments import Encoding, cost
from sms_gateway.templates import MAX_SEGMENTS, TEMPLATES, TemplateError, placeholders, render

ARABIC_LETTER = "ب"


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("Dor", Encoding.GSM7, 3, 1),
        ("a" * 160, Encoding.GSM7, 160, 1),
        ("a" * 161, Encoding.GSM7, 161, 2),  # concatenated: 153 septets a segment
        ("a" * 306, Encoding.GSM7, 306, 2),
        ("a" * 307, Encoding.GSM7, 307, 3),
        ("{" * 80, Encoding.GSM7, 160, 1),  # extension characters take two septets
        ("{" * 81, Encoding.GSM7, 162, 2),
        ("€5 [x]", Encoding.GSM7, 9, 1),
        (ARABIC_LETTER * 70, Encoding.UCS2, 70, 1),
        (ARABIC_LETTER * 71, Encoding.UCS2, 71, 2),  # concatenated: 67 a segment
        (ARABIC_LETTER * 134, Encoding.UCS2, 134, 2),
        (ARABIC_LETTER * 135, Encoding.UCS2, 135, 3),
        ("a" * 69 + "ب", Encoding.UCS2, 70, 1),  # one Arabic letter makes the whole text UCS-2
        ("١٢٣", Encoding.UCS2, 3, 1),  # Arabic-Indic digits are not GSM-7
        ("ok 🙂", Encoding.UCS2, 5, 1),  # outside the BMP: two UTF-16 units
    ],
)
def test_segments_are_counted_as_operators_bill_them(
    text: str, encoding: Encoding, units: int, segments: int
) -> None:
    assert cost(text) == (cost(text).__class__(encoding, units, segments))


# Parameters as long as real ones: the longest demo centre name, a link as long as a tracker's
# (a 192-bit token: 32 characters).
REAL = {
    "code": "482913",
    "minutes": 10,
    "date": "2026-12-01",
    "time": "09:30",
    "link": "https://dor.gov.sy/t/" + "Xk3p9QzRt-" * 3 + "Qz",
    "number": "A-042",
    "ahead": 3,
    "counter": 12,
    "draw": "PASS-2027-01",
    "position": 1234,
    "deadline": "2027-01-10 18:00",
}
CENTRE = {"ar": "مركز خدمة المواطن - الميدان", "en": "Citizen Service Centre — Al-Midan"}


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_renders_within_its_budget(template: str, language: str) -> None:
    rendered = render(template, language, {**REAL, "centre": CENTRE[language]})
    for name in placeholders(TEMPLATES[template][language]) - {"centre"}:
        assert str(REAL[name]) in rendered.body
    # One segment wherever the text allows it; a message with a link needs two in Arabic.
    expected = 2 if language == "ar" and "link" in placeholders(TEMPLATES[template][language]) else 1
    assert rendered.cost.segments == expected, rendered.body


# The tracker links of a deployment whose address is long, and names longer than any centre's now.
LONG = {"number": "A-042", "ahead": 10, "counter": 12, "link": "https://dor.moct.gov.sy/t/" + "x" * 32}


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize(
    "template", ["turn_near", "turn_near_check_in", "called", "tracker_link", "feedback"]
)
def test_messages_with_a_tracker_link_fit_with_a_long_centre_name(template: str, language: str) -> None:
    centre = CENTRE[language] + (" - الريف الشمالي" if language == "ar" else " North Countryside")
    rendered = render(template, language, {**LONG, "centre": centre})
    assert rendered.body.endswith("\n" + LONG["link"])  # on a line of its own: phones make it a link
    assert rendered.cost.segments <= MAX_SEGMENTS


def test_english_punctuation_is_kept_in_gsm7() -> None:
    rendered = render(
        "turn_near", "en", {"number": "A-1", "ahead": 2, "centre": "Mezzeh — “North”…", "link": "x"}
    )
    assert rendered.cost.encoding is Encoding.GSM7
    assert 'Mezzeh - "North"...' in rendered.body


def test_arabic_text_arrives_as_written() -> None:
    rendered = render("called", "ar", {"number": "A-042", "counter": 3, "link": "https://dor.gov.sy/t/x"})
    assert rendered.body == "الرقم A-042: تفضل إلى الشباك 3.\nhttps://dor.gov.sy/t/x"
    assert rendered.cost.encoding is Encoding.UCS2


def test_every_template_exists_in_both_languages_with_the_same_parameters() -> None:
    for name, texts in TEMPLATES.items():
        assert set(texts) == {"ar", "en"}, name
        assert placeholders(texts["ar"]) == placeholders(texts["en"]), name


def test_a_parameter_that_would_pass_three_segments_is_refused_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="sms_gateway.templates"), pytest.raises(TemplateError):
        render("turn_near", "ar", {"number": "A-1", "ahead": 1, "link": "x", "centre": ARABIC_LETTER * 200})
    assert "refused SMS turn_near/ar" in caplog.text
    # Just under the limit is sent.
    within = render(
        "turn_near", "ar", {"number": "A-1", "ahead": 1, "link": "x", "centre": ARABIC_LETTER * 140}
    )
    assert within.cost.segments == MAX_SEGMENTS


@pytest.mark.parametrize(
    ("template", "language", "params", "message"),
    [
        ("nope", "ar", {}, "unknown SMS template"),
        ("otp", "fr", {"code": "1", "minutes": 1}, "no language"),
        ("otp", "ar", {"code": "1"}, "lacks ['minutes']"),
    ],
)
def test_bad_template_requests_say_what_is_wrong(
    template: str, language: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(TemplateError, match=message.replace("[", r"\[").replace("]", r"\]")):
        render(template, language, params)
