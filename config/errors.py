"""Refusals: what a domain says when a request cannot be done in the current state.

Domain code raises them without knowing about HTTP; the web answers each with its `http_status` and
its stable `code` (shared/API.md), so the code and its meaning are declared once, on the class.

The message is English with named placeholders, marked for translation where it is written:
`raise CounterBusy(N_("%(number)s was called %(seconds)d s ago"), number=..., seconds=...)`. The web
fills it in the reader's language (config.web.errors.localise); `str()` is the English, for logs.
"""

from __future__ import annotations


class Refused(Exception):
    """A request refused in the current state (409 unless the subclass says otherwise)."""

    code = "refused"
    http_status = 409

    def __init__(self, message: str, /, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.template = message
        self.params = params

    def headers(self) -> dict[str, str]:
        """Headers the answer carries (e.g. when to try again)."""
        return {}
