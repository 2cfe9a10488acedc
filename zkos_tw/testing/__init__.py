"""In-memory implementations of the zkos-tw interfaces, for tests and for development."""
