"""`porthole ctl doctor` on a real device: Docker, porthole-core, the server
and a TURN allocation from the device on a real coturn (relay_topology, the
server and coturn in `cloud`) — ok while coturn runs, FAIL with the reason
once it is stopped."""

from __future__ import annotations

from tests.ctl.test_ctl import ctl
from tests.turn.test_diagnose import ADMIN
from tests.turn.test_relay_e2e import relayed_product


def checks(result) -> dict[str, dict]:
    return {c["name"]: c for c in result.json()["checks"]}


async def test_ctl_doctor_with_turn_up_and_down(tmp_path, netns_factory):
    _, coturn, st = await relayed_product(tmp_path, netns_factory, agent_extra=ADMIN)
    sock = st.dc.directory / "admin.sock"
    try:
        r = await ctl("doctor", "--json", socket=sock)
        assert r.code == 0, r
        c = checks(r)
        assert list(c) == ["docker", "sidecar", "server", "turn"], c
        assert all(x["status"] == "ok" for x in c.values()), c
        assert f"allocated on turn:{coturn.ip}:{coturn.port}" in c["turn"]["detail"], c["turn"]
        assert f"relay {coturn.ip}:" in c["turn"]["detail"], c["turn"]
        # The credential was minted for <device id>.doctor, and coturn granted it.
        assert coturn.allocations(st.device_id + ".doctor") >= 1, coturn.log()[-2000:]

        coturn.stop()
        down = await ctl("doctor", socket=sock)
        assert down.code == 1, down
        lines = {line.split()[1]: line for line in down.out.splitlines() if line[:4].strip() in ("ok", "FAIL", "SKIP")}
        assert lines["turn"].startswith("FAIL"), down.out
        assert "no TURN allocation from this device on turn:" in lines["turn"], down.out
        assert f"{coturn.ip}:{coturn.port}" in lines["turn"], down.out
        for name in ("docker", "sidecar", "server"):
            assert lines[name].startswith("ok"), down.out
        assert "some checks FAILED" in down.out
        assert coturn.secret.decode() not in r.out + down.out
    finally:
        await st.stop()
        coturn.stop()
