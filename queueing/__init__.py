"""The queue: tickets, the engine's commands on them and on counters, and the waits it promises."""
