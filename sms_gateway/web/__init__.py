"""The SMS gateway's web part: delivery reports and the demo outbox page."""
