"""The queue's web part: tickets, counters, the kiosk, the counter console, the remote ticket."""
