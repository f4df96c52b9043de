"""The HEARTBEAT.md format: lossless blocks, the task model, the parser, edits, explanations."""
