"""Notifications: telling the owner what a task found, once per change of state.

    signature  a message's state signature (numbers, times, ids folded)
    message    the title and body a person gets (no reasoning, no HEARTBEAT_OK)
    policy     decide(): send, suppress or resolve, per target (pure)
    send       one message to one Apprise URL (Apprise is imported here only)
    delivery   the Deliverer: ledger rows, retries with backoff, crash recovery
    pings      dead-man pings (`- Ping:`): start, success, fail, in order

The `- Notify:` grammar is `localhb.format.notify`; `localhb.cycle.notifying`
plugs all this into the run lifecycle as an observer (paused-task and
invalid-file alerts are decided there). Everything up to `policy` is pure.
Nothing here runs on the idle path, and Apprise is loaded only when a message
is actually sent. docs/notifications.md describes it for people.
"""
