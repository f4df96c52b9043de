"""The bottom layer: errors, typed results, redaction, templates, processes. Stdlib only."""
