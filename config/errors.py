"""Refusals: what a domain says when a request cannot be done in the current state.

Domain code raises them without knowing about HTTP; the web answers each with its `http_status` and
its stable `code` (shared/API.md), so the code and its meaning are declared once, on the class.
"""

from __future__ import annotations


class Refused(Exception):
    """A request refused in the current state (409 unless the subclass says otherwise)."""

    code = "refused"
    http_status = 409

    def headers(self) -> dict[str, str]:
        """Headers the answer carries (e.g. when to try again)."""
        return {}
