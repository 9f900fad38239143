"""`make bench`: Porthole's hot paths measured next to what a user would pick
instead, in the same run on the same machine.

    python -m porthole.bench [--quick | --smoke] [--sections a,b] [--param NAME=VALUE ...] [--json PATH] [--md PATH]
    python -m porthole.bench --render docs/benchmarks.json

(`make bench`, `make bench QUICK=1`). Layout:

- ``__main__``: the command: runs the sections, prints the table, writes the
  JSON and ``docs/benchmarks.md``.
- ``sections/``: one module per measured topic, registered in
  ``sections/__init__.py`` (the registry; a new topic is a new module there).
- ``context``: what sections share, started lazily and stopped at the end:
  the real server and agent (``stack``), the pion client (``peer``), the
  aiortc reference bridge (``aiortc_bridge``), porthole-core with a stand-in
  agent and no Docker (``coreonly``, diagnostic), containers.
- ``refs``: docker exec straight from the bench (the floor) and sessions
  through the aiortc bridge; ``procstat``: CPU and RSS from /proc;
  ``machine``: the machine and versions for the page.
- ``figures``: the Figure record and the statistics (median, p99).
- ``report``: the printed table, the JSON and the Markdown page.
"""
