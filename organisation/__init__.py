"""The organisation: centres, services, counters, opening hours, staff and devices, and who signs in.

Importing it installs the hooks that bump the organisation's version whenever a session changes it.
"""

from organisation import snapshot as _snapshot  # noqa: F401
