"""aiortc as the independent WebRTC peer in tests.

- ``new_aiortc_peer()`` -> ``RTCPeerConnection`` with no ICE servers: host
  candidates only (in the test namespace: ``test_ip``). aiortc does not trickle:
  its ``localDescription`` after ``setLocalDescription`` is complete.
- ``no_public_stun`` (autouse, session): aiortc's default ICE server is Google's
  public STUN; a test that forgets ``iceServers=[]`` fails at once instead of
  sending packets there.
- ``sdp_candidates(sdp) -> list[dict]``: the ``a=candidate`` lines of an SDP,
  parsed (foundation, component, protocol, priority, address, port, type).
"""

from __future__ import annotations

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.rtcicetransport import RTCIceGatherer


def new_aiortc_peer() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


class PublicStunRefused(AssertionError):
    pass


@pytest.fixture(scope="session", autouse=True)
def no_public_stun():
    def refuse(*_args, **_kwargs):
        raise PublicStunRefused(
            "aiortc would use its default public STUN server: create peers with "
            "tests.support.webrtc.new_aiortc_peer() or RTCConfiguration(iceServers=[])"
        )

    # MonkeyPatch restores the class's own attribute (a staticmethod) as it was.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(RTCIceGatherer, "getDefaultIceServers", staticmethod(refuse))
        yield


def sdp_candidates(sdp: str) -> list[dict]:
    out = []
    for line in sdp.splitlines():
        if not line.startswith("a=candidate:"):
            continue
        f = line[len("a=candidate:") :].split()
        cand = {
            "foundation": f[0],
            "component": int(f[1]),
            "protocol": f[2].lower(),
            "priority": int(f[3]),
            "address": f[4],
            "port": int(f[5]),
            "type": f[7] if len(f) > 7 and f[6] == "typ" else None,
        }
        out.append(cand)
    return out
