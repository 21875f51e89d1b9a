"""The hall display and tracker pages, and spoken announcements."""

import io
import wave
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from display.announcements import chime, phrases
from tests.conftest import take_ticket


def test_the_display_page_is_arabic_and_names_the_centre(client: TestClient) -> None:
    html = client.get("/display/DAM-01").text
    assert 'dir="rtl"' in html
    assert "مركز خدمة المواطن - المزة" in html
    assert 'data-timezone="Asia/Damascus"' in html


def test_the_display_offers_english_and_arabic_indic_digits(client: TestClient) -> None:
    html = client.get("/display/DAM-01?lang=en&digits=arabic&mute=1").text
    assert 'dir="ltr"' in html
    assert 'data-digits="arabic"' in html
    assert 'data-muted="1"' in html


def test_an_unknown_centre_display_is_404(client: TestClient) -> None:
    assert client.get("/display/NOPE-1").status_code == 404


def test_the_tracker_shows_the_number_where_to_go_and_nothing_personal(client: TestClient) -> None:
    ticket = take_ticket(client, phone="0944123456")
    assert ticket["number"] == "A-001"
    response = client.get(f"/t/{ticket['token']}")
    assert response.status_code == 200
    assert "A-٠٠١" in response.text  # in the Arabic page's digits
    assert "مركز خدمة المواطن - المزة" in response.text and "شارع المزة، جانب جامع الأكرم" in response.text
    assert "944" not in response.text and "٩٤٤" not in response.text
    english = client.get(f"/t/{ticket['token']}?lang=en").text
    assert "A-001" in english and "Mezzeh Street, beside Al-Akram Mosque" in english
    assert client.get("/t/unknown-token").status_code == 404


def test_phrases_say_the_number_and_counter_in_arabic_then_english() -> None:
    assert phrases("A-042", 3) == ("الرقم إيه 42، الشباك 3", "Number A 42, counter 3")
    with pytest.raises(ValueError, match="not a ticket number"):
        phrases("A-042; rm -rf /", 3)


def test_an_announcement_is_a_chime_then_speech_and_is_cached(
    client: TestClient, agent: TestClient, tmp_path: Path
) -> None:
    # Only a call that was made is announced (tests/test_announcement_cache.py): call one.
    assert agent.post("/api/v1/centres/DAM-01/counters/1/open").status_code == 200
    number = take_ticket(client)["number"]
    assert agent.post("/api/v1/centres/DAM-01/counters/1/next").json()["ticket"]["number"] == number
    url = f"/api/v1/centres/DAM-01/announcements/{number}.wav?counter=1"
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as audio:
        seconds = audio.getnframes() / audio.getframerate()
        first = audio.readframes(len(chime()) // 2)
    assert first == chime()  # it starts with the chime
    assert seconds > 3.0  # and goes on with both languages spoken (espeak-ng)
    cached = list((tmp_path / "data" / "audio").glob("*.wav"))
    assert len(cached) == 1
    assert client.get(url).content == response.content


def test_an_announcement_needs_a_valid_number_and_counter(client: TestClient) -> None:
    assert client.get("/api/v1/centres/DAM-01/announcements/hello.wav?counter=3").status_code == 404
    assert client.get("/api/v1/centres/DAM-01/announcements/A-001.wav?counter=0").status_code == 422
    assert client.get("/api/v1/centres/NOPE/announcements/A-001.wav?counter=1").status_code == 404


def test_display_and_tracker_are_listed_on_the_front_page(client: TestClient, app: Starlette) -> None:
    html = client.get("/").text
    assert 'href="/display/DAM-01"' in html
