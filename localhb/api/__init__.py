"""The daemon's wake API (`[api] enabled = true`): HTTP on loopback, bearer token.

    body.py       a request body -> a frozen `Wakeup` request, or BadRequest(field)
    limits.py     the per-minute rate limit (monotonic clock passed in)
    work.py       carrying a wakeup out: a task, a prompt (added to HEARTBEAT.md
                  first), or a cycle, through `localhb.cycle.execute`
    dispatch.py   the bounded queue and the `max_concurrent` workers; idempotency
    server.py     the HTTP server (standard library), its routes and time limits

Nothing here is imported unless the API is enabled: the daemon imports
`localhb.api.server` only then, so the idle path and a daemon without the API
pay nothing for it.
"""
