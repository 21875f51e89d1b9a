"""The heart of Dor: centres, services, counters, staff and tickets, and the engine that moves them."""
