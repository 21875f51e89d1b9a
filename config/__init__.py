"""Settings, the database and its transactions, the clock, the web toolkit every package uses, and
the default data Dor starts from."""
