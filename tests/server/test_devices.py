"""devices:list (filtered by org and grants), inventory, devices:changed."""

from __future__ import annotations

from .conftest import Env


def by_id(ack: dict) -> dict:
    assert ack["ok"] is True, ack
    return {d["id"]: d for d in ack["devices"]}


async def test_devices_list_filters_by_org_and_grants(env: Env) -> None:
    await env.agent("edge-1")
    await env.agent("far-1", targets=[{"id": "secret-app"}])

    op = by_id(await (await env.client("operator")).call("devices:list"))
    assert set(op) == {"edge-1", "edge-2"}
    assert op["edge-1"]["online"] is True and op["edge-1"]["name"] == "Edge 1"
    assert op["edge-2"] == {"id": "edge-2", "name": "edge-2", "online": False, "targets": []}
    # operator's grant names plc-* and host: historian is hidden.
    assert [t["id"] for t in op["edge-1"]["targets"]] == ["plc-runtime", "host"]
    plc, host = op["edge-1"]["targets"]
    assert plc == {
        "id": "plc-runtime",
        "name": "plc-runtime",
        "kind": "container",
        "label": "plc-runtime (busybox)",
        "state": "running",
    }
    assert host["kind"] == "host" and host["label"] == "host shell (no Docker)"

    viewer = by_id(await (await env.client("viewer")).call("devices:list"))
    assert set(viewer) == {"edge-1"}
    assert [t["id"] for t in viewer["edge-1"]["targets"]] == ["plc-runtime", "historian", "host"]

    outsider = by_id(await (await env.client("outsider")).call("devices:list"))
    assert set(outsider) == {"far-1"}
    assert outsider["far-1"]["targets"][0]["id"] == "secret-app"


async def test_devices_changed_on_online_inventory_offline(env: Env) -> None:
    op = await env.client("operator")
    outsider = await env.client("outsider")
    agent = await env.agent("edge-1")
    await op.next("devices:changed")  # online
    await op.next("devices:changed")  # inventory
    assert await agent.call("agent:inventory", {"targets": [{"id": "plc-new"}]}) == {"ok": True}
    await op.next("devices:changed")
    assert by_id(await op.call("devices:list"))["edge-1"]["targets"][0]["id"] == "plc-new"
    # The same inventory again changes nothing.
    await agent.call("agent:inventory", {"targets": [{"id": "plc-new"}]})
    await agent.sio.disconnect()
    await op.next("devices:changed")  # offline
    assert op.pending("devices:changed") == 0
    assert by_id(await op.call("devices:list"))["edge-1"]["online"] is False
    # Other orgs hear nothing about demo's devices.
    assert outsider.pending("devices:changed") == 0


async def test_bad_inventory_is_refused_and_the_old_one_kept(env: Env) -> None:
    agent = await env.agent("edge-1")
    bad = [
        None,
        "targets",
        {"targets": "x"},
        {"targets": [{"name": "no id"}]},
        {"targets": [{"id": "a b"}]},
        {"targets": [{"id": "x" * 200}]},
        {"targets": [{"id": "a", "kind": "vm"}]},
        {"targets": [{"id": "a"}, {"id": "a"}]},
        {"targets": [{"id": "a", "label": "bad\x1b[31m"}]},
        {"targets": [{"id": f"c{i}"} for i in range(300)]},
    ]
    for payload in bad:
        ack = await agent.call("agent:inventory", payload)
        assert ack["ok"] is False and ack["error"]["code"] == "bad_request", payload
    op = by_id(await (await env.client("operator")).call("devices:list"))
    assert [t["id"] for t in op["edge-1"]["targets"]] == ["plc-runtime", "host"]
