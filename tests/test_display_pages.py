"""The hall display and tracker pages, and spoken announcements."""

import io
import wave
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from config.settings import Settings
from display.announcements import chime, phrases
from server.app import create_app
from tests.conftest import VirtualClock, take_ticket


@pytest.fixture
def audio_client(database: Database, clock: VirtualClock, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=database.url.render_as_string(hide_password=False), dev=True, data_dir=str(tmp_path)
    )
    with TestClient(create_app(settings, database=database, clock=clock)) as client:
        yield client, tmp_path


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


def test_the_tracker_shows_the_number_and_nothing_personal(client: TestClient) -> None:
    ticket = take_ticket(client, phone="0944123456")
    response = client.get(f"/t/{ticket['token']}")
    assert response.status_code == 200
    assert ticket["number"] in response.text
    assert "944" not in response.text
    assert client.get("/t/unknown-token").status_code == 404


def test_phrases_say_the_number_and_counter_in_arabic_then_english() -> None:
    assert phrases("A-042", 3) == ("الرقم إيه 42، الشباك 3", "Number A 42, counter 3")
    with pytest.raises(ValueError, match="not a ticket number"):
        phrases("A-042; rm -rf /", 3)


def test_an_announcement_is_a_chime_then_speech_and_is_cached(audio_client) -> None:  # type: ignore[no-untyped-def]
    client, data_dir = audio_client
    response = client.get("/api/v1/centres/DAM-01/announcements/A-042.wav?counter=3")
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as audio:
        seconds = audio.getnframes() / audio.getframerate()
        first = audio.readframes(len(chime()) // 2)
    assert first == chime()  # it starts with the chime
    assert seconds > 3.0  # and goes on with both languages spoken (espeak-ng)
    cached = list((data_dir / "audio").glob("*.wav"))
    assert len(cached) == 1
    assert client.get("/api/v1/centres/DAM-01/announcements/A-042.wav?counter=3").content == response.content


def test_an_announcement_needs_a_valid_number_and_counter(client: TestClient) -> None:
    assert client.get("/api/v1/centres/DAM-01/announcements/hello.wav?counter=3").status_code == 404
    assert client.get("/api/v1/centres/DAM-01/announcements/A-001.wav?counter=0").status_code == 422
    assert client.get("/api/v1/centres/NOPE/announcements/A-001.wav?counter=1").status_code == 404


def test_display_and_tracker_are_listed_on_the_front_page(client: TestClient, app: Starlette) -> None:
    html = client.get("/").text
    assert 'href="/display/DAM-01"' in html
