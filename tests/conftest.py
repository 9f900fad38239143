"""Shared fixtures for every test under tests/.

The fixtures live in tests/support/*.py, each module loaded below as a pytest
plugin (see tests/support/__init__.py for what each one provides):
  docker_client, target_image, make_container   (support/dockerenv.py)
  chromium, browser, new_page                    (support/browser.py)
  test_ip, test_iface                            (support/netns.py)
  netns_factory (namespaces, links, faults)      (support/topology.py)
  no_public_stun (autouse), new_aiortc_peer()    (support/webrtc.py)
  wait_for(), async_wait_for()                   (support/waiting.py)
  artifacts_dir(), add_failure_section()         (support/artifacts.py)
  redis_server, start_redis()                    (support/redisserver.py)

To add fixtures of your own: write a new module tests/support/<topic>.py and
append "tests.support.<topic>" to SUPPORT_PLUGINS below. Please keep this file
to that list; fixtures that only one folder needs can go in that folder's own
conftest.py. Import helpers in tests as `from tests.support.waiting import
wait_for` (tests/ is a package: always `tests.support...`, never `support...`,
or a module is imported twice and its state split in two).

Tests run inside scripts/in-netns.sh (make test-py does that); see TESTING.md.
"""

import sys
from pathlib import Path

# The repository root on sys.path, so `tests.support` imports however pytest
# was started (rootdir, a single file, -p, another cwd).
_REPO = str(Path(__file__).resolve().parents[1])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

SUPPORT_PLUGINS = [
    "tests.support.waiting",
    "tests.support.artifacts",
    "tests.support.netns",
    "tests.support.dockerenv",
    "tests.support.browser",
    "tests.support.webrtc",
    "tests.support.stack",
    "tests.support.fullstack",
    "tests.support.logscan",
    "tests.support.topology",
    "tests.support.redisserver",
    # add yours here: "tests.support.<topic>",
]

pytest_plugins = ["pytester", *SUPPORT_PLUGINS]
