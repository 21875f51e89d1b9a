"""Booking's web part: appointments, check-in, broker blocks, the citizen's booking pages."""
