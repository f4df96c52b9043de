"""One heartbeat cycle: read the workspace, run what is due, write back."""
