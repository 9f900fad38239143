"""Shared test infrastructure for Porthole's tests (fixtures and helpers).

Each module here is loaded as a pytest plugin by tests/conftest.py:

- ``waiting``   ``wait_for`` / ``async_wait_for``: polling with a deadline
- ``artifacts`` failure reports: per-test artifact folder, extra report sections
- ``netns``     ``test_ip`` / ``test_iface``: the namespace from scripts/in-netns.sh
- ``dockerenv`` ``docker_client``, ``target_image``, ``make_container``,
                ``container_processes``
- ``browser``   ``chromium`` (session), ``browser``, ``new_page``; Chromium flags
- ``webrtc``    ``new_aiortc_peer`` and the no-public-STUN guard for aiortc
- ``redisserver`` ``redis_server``: a real redis-server on loopback (porthole.bench.redisserver)

Add your own fixtures in a new module here and list it in tests/conftest.py
(SUPPORT_PLUGINS). Import as ``from tests.support.<module> import ...``.
"""
