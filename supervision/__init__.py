"""Supervision: the wallboard, reports, controls, the audit chain's verification, transparency."""
