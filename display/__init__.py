"""Everything that shows live state: the hall display, the ticket tracker, their websocket hub, and the
spoken announcement of a call."""
