"""Supervision's web part: wallboard, reports, controls, transparency."""
