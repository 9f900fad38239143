"""`make bench`: Porthole's hot paths measured next to what a user would pick
instead, in the same run on the same machine.

    python -m porthole.bench [--quick] [--sections a,b] [--json PATH] [--md PATH]

(`make bench`, `make bench QUICK=1`). Layout:

- ``__main__``: the command: runs the sections, prints the table, writes the
  JSON and ``docs/benchmarks.md``.
- ``sections/``: one module per measured topic, registered in
  ``sections/__init__.py`` (the registry; a new topic is a new module there).
- ``context``: what sections share, started lazily and stopped at the end:
  the real server and agent (``stack``), the pion client (``peer``), the
  aiortc reference bridge (``aiortc_bridge``), containers.
- ``figures``: the Figure record and the statistics (median, p99).
- ``report``: the printed table, the JSON and the Markdown page.
"""
