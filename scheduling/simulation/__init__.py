"""The simulator: a day (or a long stationary run) of one centre, driven through the real engine."""
