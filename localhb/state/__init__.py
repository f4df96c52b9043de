"""What persists: the ledger, health files, the idle cache, logs and atomic file writes."""
