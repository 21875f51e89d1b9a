"""The event log: every change, in the transaction that makes it, hash-chained per centre; and the
bus that rings when it grows. The database is the truth; the bus is a doorbell."""
