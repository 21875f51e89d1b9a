"""Settings, shared HTTP conventions and the default data Dor starts from."""
