"""The phone verification route."""
