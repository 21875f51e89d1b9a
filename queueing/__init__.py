"""The heart of Dor: centres, services, counters, staff and tickets, and the engine that moves them."""

# Installs the hooks that bump the organisation's version whenever a session changes it.
from queueing import organisation as _organisation  # noqa: F401
