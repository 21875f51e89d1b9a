"""Everything that shows live state: hall display, ticket tracker, wallboard, websocket hub."""
