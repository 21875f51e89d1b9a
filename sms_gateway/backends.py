"""The ways an SMS leaves Dor, behind one small interface, chosen by DOR_SMS_URL.

- `console://`: logs the message (the default; the outbox keeps it, and demo mode lists it).
- `kannel://user:pass@host:port`: Kannel's smsbox `sendsms` interface; Arabic as UCS-2 (`coding=2`,
  `charset=UTF-8`), with a delivery-report URL back to Dor.
- `http://` or `https://`: a generic JSON provider: `POST {"to", "text", "reference", "report_url"}`,
  answering 2xx `{"id": ...}`; it reports delivery by `POST report_url {"status": "delivered"|"failed"}`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote, urlsplit

import httpx2

from sms_gateway.segments import Encoding

log = logging.getLogger(__name__)
TIMEOUT_S = 10.0
# The provider's answer kept for support is cut here: a garbage answer can be large.
ANSWER_LIMIT = 500
# Kannel DLR types asked for: 1 delivered to the phone, 2 not delivered, 16 rejected by the SMSC.
KANNEL_DLR_MASK = 1 | 2 | 16
KANNEL_ACCEPTED = ("0:", "3:")  # "0: Accepted for delivery", "3: Queued for later delivery"


@dataclass(frozen=True)
class Outgoing:
    """One message to hand to a provider."""

    reference: int
    phone: str
    text: str
    encoding: Encoding
    report_url: str


class SendError(Exception):
    """The provider did not take the message; `answer` is what it said (or why it could not)."""

    def __init__(self, answer: str) -> None:
        super().__init__(answer)
        self.answer = answer[:ANSWER_LIMIT]


class SmsBackend(Protocol):
    name: str

    def send(self, message: Outgoing) -> str | None:
        """Hands the message over; returns the provider's id if it gives one, raises SendError."""
        ...

    def close(self) -> None: ...


class ConsoleBackend:
    """Writes every message to the log: for development, demos and tests. Nothing leaves the machine,
    so its messages keep their text in the outbox, one-time codes too: /demo/sms is their phone."""

    name = "console"

    def send(self, message: Outgoing) -> str | None:
        log.info("SMS #%d to %s: %s", message.reference, message.phone, message.text)
        return None

    def close(self) -> None:
        pass


class KannelBackend:
    """Kannel's smsbox: `GET /cgi-bin/sendsms` with the sendsms-user's credentials."""

    name = "kannel"

    def __init__(self, *, host: str, port: int, username: str, password: str, sender: str) -> None:
        self.endpoint = f"http://{host}:{port}/cgi-bin/sendsms"
        self.credentials = {"username": username, "password": password}
        self.sender = sender
        self.client = httpx2.Client(timeout=TIMEOUT_S)

    def send(self, message: Outgoing) -> str | None:
        params = {
            **self.credentials,
            "from": self.sender,
            "to": message.phone,
            "text": message.text,
            "charset": "UTF-8",
            "coding": "2" if message.encoding is Encoding.UCS2 else "0",
            "dlr-mask": str(KANNEL_DLR_MASK),
            # Kannel replaces %d by the report's type when it calls back.
            "dlr-url": f"{message.report_url}&kannel=%d",
        }
        try:
            response = self.client.get(self.endpoint, params=params)
        except httpx2.HTTPError as exc:
            raise SendError(f"kannel unreachable: {exc!r}") from None
        answer = response.text.strip()
        if response.status_code != 202 or not answer.startswith(KANNEL_ACCEPTED):
            raise SendError(f"kannel HTTP {response.status_code}: {answer}")
        return None  # smsbox does not say which id bearerbox gave the message

    def close(self) -> None:
        self.client.close()


class HttpBackend:
    """A provider with a JSON HTTP interface."""

    name = "http"

    def __init__(self, *, url: str, sender: str) -> None:
        self.url = url
        self.sender = sender
        self.client = httpx2.Client(timeout=TIMEOUT_S)

    def send(self, message: Outgoing) -> str | None:
        payload = {
            "from": self.sender,
            "to": message.phone,
            "text": message.text,
            "reference": str(message.reference),
            "report_url": message.report_url,
        }
        try:
            response = self.client.post(self.url, json=payload)
        except httpx2.HTTPError as exc:
            raise SendError(f"provider unreachable: {exc!r}") from None
        if not 200 <= response.status_code < 300:
            raise SendError(f"provider HTTP {response.status_code}: {response.text}")
        try:
            provider_id = json.loads(response.text)["id"]
        except (ValueError, KeyError, TypeError):
            provider_id = None
        if provider_id is None or provider_id == "":
            raise SendError(f"provider answered without an id: {response.text}")
        return str(provider_id)[:128]

    def close(self) -> None:
        self.client.close()


def backend_from_url(url: str, *, sender: str) -> SmsBackend:
    """The backend DOR_SMS_URL names."""
    parts = urlsplit(url)
    if parts.scheme == "console":
        return ConsoleBackend()
    if parts.scheme == "kannel":
        if not parts.hostname or not parts.port or parts.username is None or parts.password is None:
            raise ValueError("kannel:// needs user:password@host:port")
        return KannelBackend(
            host=parts.hostname,
            port=parts.port,
            username=unquote(parts.username),
            password=unquote(parts.password),
            sender=sender,
        )
    if parts.scheme in ("http", "https"):
        return HttpBackend(url=url, sender=sender)
    raise ValueError(f"unknown SMS backend {parts.scheme!r}: use console://, kannel:// or http(s)://")
