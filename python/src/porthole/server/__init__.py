"""The reference signaling server and the browser page (docs/protocol.md).

    config.py     TOML file → validated, frozen Config
    passwords.py  scrypt hashes for passwords and device secrets
    auth.py       login tokens and the failed-login limiter
    authz.py      Policy: user → org → device → target, kind, mode
    sessions.py   the session registry
    payloads.py   validation of every Socket.IO payload
    hub.py        shared signaling state; event dispatch with error acks
    client_ns.py  namespace /client (browsers, CLIs)
    agent_ns.py   namespace /agent (devices)
    web.py        HTTP: login, page, health, security headers
    app.py        Server: everything wired, start and stop
    cli.py        `porthole server`
"""
