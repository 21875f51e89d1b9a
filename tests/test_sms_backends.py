"""One contract for every way an SMS leaves Dor (console, a real Kannel, a JSON HTTP provider): each takes
Arabic and English text and the far side gets exactly that text; an unreachable provider is a SendError
that says why; what a provider answers, when it is not a success, is kept for support."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sms_gateway.backends import ANSWER_LIMIT, Outgoing, SendError, SmsBackend, backend_from_url
from sms_gateway.templates import Rendered, render
from tests.integration.helpers import free_port
from tests.integration.kannel import Kannel, running_kannel

PHONE = "+963944123456"
SENDER = "Dor"
ARABIC = render("otp", "ar", {"code": "482913", "minutes": 10})
# No newline: Kannel's fake SMSC cannot carry one in a GSM text (see tests/integration/kannel.py).
ENGLISH = render("cancelled", "en", {"code": "482913", "centre": "Mezzeh", "date": "2026-12-01"})
CONSOLE_LINE = re.compile(r"SMS #\d+ to (\S+): (.*)", re.DOTALL)


def outgoing(message: Rendered, reference: int = 7) -> Outgoing:
    return Outgoing(
        reference=reference,
        phone=PHONE,
        text=message.body,
        encoding=message.cost.encoding,
        # Nothing listens there: these tests read what the far side got, not its delivery reports.
        report_url=f"http://127.0.0.1:9/api/v1/sms/reports/{reference}?sig=test",
    )


class JsonProvider:
    """An SMS provider's JSON API on a free port: records each POST body, answers `status` and `body`."""

    def __init__(self, *, status: int = 200, body: str = '{"id": "prov-1"}') -> None:
        self.received: list[dict[str, Any]] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                provider.received.append(json.loads(self.rfile.read(length)))
                answer = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: Any) -> None:
                pass  # quiet: the test reads `received`, not the access log

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        # A short poll interval: shutting the server down waits for one.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)

    def __enter__(self) -> JsonProvider:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@dataclass
class FarSide:
    """A backend, and what the other end has got from it as (phone, text), waiting for `count` of them."""

    backend: SmsBackend
    got: Callable[[int], list[tuple[str, str]]]


@pytest.fixture(scope="module")
def kannel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kannel]:
    with running_kannel(tmp_path_factory.mktemp("kannel")) as running:
        yield running


def console_side(caplog: pytest.LogCaptureFixture) -> Iterator[FarSide]:
    caplog.set_level(logging.INFO, logger="sms_gateway.backends")

    def got(count: int) -> list[tuple[str, str]]:
        lines = [r.getMessage() for r in caplog.records if r.name == "sms_gateway.backends"]
        return [(m[1], m[2]) for line in lines if (m := CONSOLE_LINE.fullmatch(line))]

    yield FarSide(backend_from_url("console://", sender=SENDER), got)


def kannel_side(kannel: Kannel) -> Iterator[FarSide]:
    before = len(kannel.received())  # the module shares one Kannel: count only this test's messages

    def got(count: int) -> list[tuple[str, str]]:
        return [(m.phone, m.text) for m in kannel.wait_received(before + count)[before:]]

    backend = backend_from_url(kannel.url, sender=SENDER)
    yield FarSide(backend, got)
    backend.close()


def http_side() -> Iterator[FarSide]:
    with JsonProvider() as provider:
        backend = backend_from_url(provider.url, sender=SENDER)
        yield FarSide(backend, lambda count: [(p["to"], p["text"]) for p in provider.received])
        backend.close()


@pytest.fixture(params=["console", "kannel", "http"])
def far_side(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Iterator[FarSide]:
    if request.param == "console":
        yield from console_side(caplog)
    elif request.param == "kannel":
        yield from kannel_side(request.getfixturevalue("kannel"))
    else:
        yield from http_side()


@pytest.mark.parametrize("message", [ARABIC, ENGLISH], ids=["arabic", "english"])
def test_the_far_side_gets_exactly_the_text(far_side: FarSide, message: Rendered) -> None:
    far_side.backend.send(outgoing(message))
    assert far_side.got(1) == [(PHONE, message.body)]


def test_messages_arrive_one_for_one_in_order(far_side: FarSide) -> None:
    far_side.backend.send(outgoing(ARABIC, reference=1))
    far_side.backend.send(outgoing(ENGLISH, reference=2))
    assert far_side.got(2) == [(PHONE, ARABIC.body), (PHONE, ENGLISH.body)]


# The console cannot fail: only the backends that reach a provider have this case.
@pytest.mark.parametrize(
    ("scheme", "label"), [("kannel://dor:pw@", "kannel"), ("http://", "provider")], ids=["kannel", "http"]
)
def test_an_unreachable_provider_is_a_send_error_saying_why(scheme: str, label: str) -> None:
    backend = backend_from_url(f"{scheme}127.0.0.1:{free_port()}/sms", sender=SENDER)
    with pytest.raises(SendError) as error:
        backend.send(outgoing(ARABIC))
    backend.close()
    assert error.value.answer.startswith(f"{label} unreachable")
    assert "Connection refused" in error.value.answer


def test_kannel_refusing_the_credentials_is_a_send_error_with_its_answer(kannel: Kannel) -> None:
    backend = backend_from_url(kannel.url.replace(":pw@", ":wrong@"), sender=SENDER)
    with pytest.raises(SendError) as error:
        backend.send(outgoing(ARABIC))
    backend.close()
    assert "Authorization failed" in error.value.answer


def test_an_http_provider_gets_the_sender_reference_and_report_url() -> None:
    with JsonProvider(body='{"id": 90210}') as provider:
        backend = backend_from_url(provider.url, sender=SENDER)
        assert backend.send(outgoing(ARABIC, reference=42)) == "90210"
        backend.close()
    [payload] = provider.received
    assert payload == {
        "from": SENDER,
        "to": PHONE,
        "text": ARABIC.body,
        "reference": "42",
        "report_url": "http://127.0.0.1:9/api/v1/sms/reports/42?sig=test",
    }


ERROR_PAGE = "<html><head><title>500 Internal Server Error</title></head>" + "<p>at gateway.send</p>" * 60
NOT_JSON = "<html><body>Welcome to nginx!</body></html>"


@pytest.mark.parametrize(
    ("status", "body", "kept"),
    [
        (500, ERROR_PAGE, "500 Internal Server Error"),
        (503, "", "503"),
        (200, NOT_JSON, NOT_JSON),
        (200, '{"status": "queued"}', '{"status": "queued"}'),
    ],
    ids=["error-page", "empty-503", "not-json", "json-without-id"],
)
def test_an_http_provider_answering_garbage_is_a_send_error_keeping_its_answer(
    status: int, body: str, kept: str
) -> None:
    with JsonProvider(status=status, body=body) as provider:
        backend = backend_from_url(provider.url, sender=SENDER)
        with pytest.raises(SendError) as error:
            backend.send(outgoing(ENGLISH))
        backend.close()
    assert kept in error.value.answer


def test_a_large_provider_answer_is_kept_cut_to_its_limit() -> None:
    with JsonProvider(status=500, body=ERROR_PAGE) as provider:
        backend = backend_from_url(provider.url, sender=SENDER)
        with pytest.raises(SendError) as error:
            backend.send(outgoing(ENGLISH))
        backend.close()
    # Cut, not dropped: support sees the start of the page, and one bad provider cannot bloat the outbox.
    assert len(ERROR_PAGE) > ANSWER_LIMIT
    assert len(error.value.answer) == ANSWER_LIMIT == 500
    assert "<title>500 Internal Server Error</title>" in error.value.answer
