"""`make soak`: terminal sessions opened, typed in and closed continuously on
one real agent (server, agent, porthole-core, containers of the test image),
several at a time, some dropped abruptly, while the agent's and
porthole-core's RSS, threads and descriptors and the exec processes left in
the container are sampled. Not in CI; tests/soak runs a short version.

    python -m porthole.bench.soak [--minutes M] [--sessions N] [--json PATH] [--md PATH]

(`make soak`, `make soak SOAK_MINUTES=5`). Layout:

- ``__main__``: the command: the run in phases, a sample after each, the
  JSON and the "Soak" section of ``docs/reliability.md``.
- ``workload``: the sessions of one phase: workers that open, type and
  close (or drop) sessions, and the killed clients (``dropper``).
- ``dropper``: a separate client process (its own Socket.IO connection
  and pion peers) that opens a few sessions and is then SIGKILLed, or
  loses only its peers.
- ``probe``: RSS, threads and descriptors from /proc; exec processes
  and running execs in the container from Docker.
- ``report``: the Markdown section, generated from the results.
"""
