"""File transfer on a terminal's `files` channel (docs/protocol.md §5d): the real
agent, the real porthole-core relaying the channel, a real container written and
read through the Docker API, aiortc as the remote peer."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import shutil
import tempfile

import pytest

from porthole.agent.filestore import DockerStore
from tests.agent.test_terminal import audit_records, wait_target
from tests.support.files_client import FilesChannel
from tests.support.rtc_client import TerminalClient

HOME = "/home/operator"
MiB = 1024 * 1024


async def open_with_files(agent, target: str, **grant) -> tuple[str, TerminalClient, FilesChannel, dict]:
    client = TerminalClient()
    files = FilesChannel(client.pc)
    sid, token = agent.sign(target, **grant)
    await agent.offer(client, sid, token)
    answer = await agent.hub.wait_event(sid, "webrtc:answer", timeout=15)
    await client.accept(answer["sdp"])
    ready = await files.wait(None, "ready")
    assert ready["type"] == "ready", ready
    return sid, client, files, ready


def sh(container, script: str) -> str:
    return container.exec_run(["sh", "-c", script]).output.decode()


def file_records(agent, sid: str) -> list[dict]:
    return [a for a in audit_records(agent) if a["event"] == "session.file" and a.get("session_id") == sid]


async def test_upload_then_download_checksummed_as_the_exec_user(agent_factory, make_container):
    agent = await agent_factory(user="operator")
    c = make_container()
    await wait_target(agent, c.name)
    sid, client, files, ready = await open_with_files(agent, c.name, files="both", files_max_bytes=16 * MiB)
    assert ready["upload"] and ready["download"] and ready["max_bytes"] == 16 * MiB

    payload = os.urandom(3 * MiB + 12345)
    digest = hashlib.sha256(payload).hexdigest()
    done = await files.upload("u1", "blob.bin", payload)  # no folder: the shell's cwd (/), not allowed: home
    assert done == {"type": "done", "id": "u1", "path": f"{HOME}/blob.bin", "size": len(payload), "sha256": digest}
    assert sh(c, f"sha256sum {HOME}/blob.bin").split()[0] == digest
    assert sh(c, f"stat -c %u:%g {HOME}/blob.bin").strip() == "1000:1000"
    assert sh(c, f"ls -a {HOME}").split() == [".", "..", "blob.bin"], "no temporary file left"

    end, got = await files.download("d1", f"{HOME}/blob.bin")
    assert end == {"type": "done", "id": "d1", "path": f"{HOME}/blob.bin", "size": len(payload), "sha256": digest}
    assert got == payload

    # Dropped on the terminal: into the shell's working directory when it is allowed.
    client.type("cd /tmp\r")
    await asyncio.sleep(0.5)  # the cd runs in the shell; its cwd is read from /proc when the upload starts
    done = await files.upload("u2", "dropped.txt", b"hello\n")
    assert done["type"] == "done" and done["path"] == "/tmp/dropped.txt", done
    assert sh(c, "cat /tmp/dropped.txt") == "hello\n"

    records = file_records(agent, sid)
    ups = [r for r in records if r["direction"] == "upload" and r["ok"]]
    downs = [r for r in records if r["direction"] == "download" and r["ok"]]
    assert {(r["name"], r["size"], r["sha256"], r["path"]) for r in ups} == {
        ("blob.bin", len(payload), digest, f"{HOME}/blob.bin"),
        ("dropped.txt", 6, hashlib.sha256(b"hello\n").hexdigest(), "/tmp/dropped.txt"),
    }
    assert [(r["name"], r["size"], r["sha256"]) for r in downs] == [("blob.bin", len(payload), digest)]
    assert all(r["event_code"] == "PA1020" and r["user"] == "alice" for r in records)


async def test_policy_paths_size_cap_and_cancel(agent_factory, make_container):
    agent = await agent_factory(user="operator")
    c = make_container()
    await wait_target(agent, c.name)
    sh(c, f"ln -s /etc {HOME}/etc-link && ln -s /etc/passwd {HOME}/passwd-link && true")
    sid, client, files, ready = await open_with_files(agent, c.name, files="upload", files_max_bytes=MiB)
    assert ready["upload"] and not ready["download"]

    async def refused(m: dict, code: str) -> None:
        assert m["type"] == "error" and m["code"] == code, m

    await refused((await files.download("d1", f"{HOME}/.profile"))[0], "files_not_allowed")
    await refused(await files.upload("u1", "../../etc/x", b"x"), "path_not_allowed")
    await refused(await files.upload("u2", "x", b"x", folder="../../etc"), "path_not_allowed")
    await refused(await files.upload("u3", "x", b"x", folder="/etc"), "path_not_allowed")
    await refused(await files.upload("u4", "x", b"x", folder=f"{HOME}/etc-link"), "path_not_allowed")
    await refused(await files.upload("u5", "passwd-link", b"x"), "path_not_allowed")  # a symlink's name
    await refused(await files.upload("u6", "big", b"", size=MiB + 1), "file_too_large")
    await refused(await files.upload("u7", "bad-sum", b"abc", sha256="0" * 64), "checksum_mismatch")
    assert sh(c, "test -e /etc/x && echo there; ls -a /etc | grep porthole") == ""

    # Cancel half-way: nothing under the name, no temporary file.
    payload = os.urandom(MiB)
    accepted = await files.upload("u8", "half.bin", payload, stop_after=MiB // 2)
    assert accepted["type"] == "accepted"
    files.send({"type": "cancel", "id": "u8"})
    assert (await files.wait("u8", "cancelled"))["type"] == "cancelled"
    assert sh(c, f"ls -a {HOME}").split() == [".", "..", "etc-link", "passwd-link"]

    records = file_records(agent, sid)
    codes = sorted(r.get("code", "") for r in records if not r["ok"])
    assert codes == sorted(
        [
            "files_not_allowed",
            "path_not_allowed",
            "path_not_allowed",
            "path_not_allowed",
            "path_not_allowed",
            "path_not_allowed",
            "file_too_large",
            "checksum_mismatch",
            "cancelled",
        ]
    ), records
    assert not any(r["ok"] for r in records)
    await client.close()

    # A grant without file transfer: nothing either way.
    _, _, files2, ready2 = await open_with_files(agent, c.name)
    assert not ready2["upload"] and not ready2["download"] and ready2["max_bytes"] == 0
    await refused(await files2.upload("u1", "x", b"x"), "files_not_allowed")

    # A view-only session never uploads, whatever its grant says; it may download.
    _, _, files3, ready3 = await open_with_files(agent, c.name, mode="view", files="both", files_max_bytes=MiB)
    assert not ready3["upload"] and ready3["download"]
    await refused(await files3.upload("u1", "x", b"x"), "files_not_allowed")


async def test_download_refuses_symlinks_out(agent_factory, make_container):
    agent = await agent_factory(user="operator")
    c = make_container()
    await wait_target(agent, c.name)
    sh(c, f"ln -s /etc {HOME}/etc-link && ln -s /etc/passwd {HOME}/passwd-link && echo hi > {HOME}/ok.txt")
    _, _, files, _ = await open_with_files(agent, c.name, files="download", files_max_bytes=MiB)
    for tid, path in (
        ("d1", f"{HOME}/etc-link/passwd"),
        ("d2", f"{HOME}/passwd-link"),
        ("d3", "/etc/passwd"),
        ("d4", f"{HOME}/../../etc/passwd"),
    ):
        end, got = await files.download(tid, path)
        assert end["type"] == "error" and end["code"] == "path_not_allowed" and got == b"", (path, end)
    end, got = await files.download("d5", f"{HOME}/nope")
    assert end["code"] == "file_not_found", end
    end, got = await files.download("d6", "ok.txt")  # relative to home
    assert end["type"] == "done" and got == b"hi\n", end
    await refused_upload(files)


async def test_cancel_a_download_and_one_transfer_at_a_time(agent_factory, make_container):
    agent = await agent_factory(user="operator")
    c = make_container()
    await wait_target(agent, c.name)
    sh(c, f"head -c 8388608 /dev/urandom > {HOME}/big.bin")
    _, _, files, _ = await open_with_files(agent, c.name, files="both", files_max_bytes=16 * MiB)

    accepted = await files.upload("u1", "slow.bin", os.urandom(MiB), stop_after=0)
    assert accepted["type"] == "accepted"
    busy = (await files.download("d0", f"{HOME}/big.bin"))[0]
    assert busy["type"] == "error" and busy["code"] == "transfer_busy", busy
    files.send({"type": "cancel", "id": "u1"})
    assert (await files.wait("u1", "cancelled"))["type"] == "cancelled"

    files.data.clear()
    files.send({"type": "download", "id": "d1", "path": f"{HOME}/big.bin"})
    assert (await files.wait("d1", "file"))["size"] == 8 * MiB
    async with asyncio.timeout(15):
        while not files.data:
            await asyncio.sleep(0.01)
    files.send({"type": "cancel", "id": "d1"})
    end = await files.wait("d1", "cancelled", "done")
    assert end["type"] == "cancelled", f"8 MiB arrived before the cancel: {end}"
    # The channel is clean afterwards: the next transfer works.
    end, got = await files.download("d2", f"{HOME}/big.bin")
    assert end["type"] == "done" and len(got) == 8 * MiB and hashlib.sha256(got).hexdigest() == end["sha256"]
    assert sh(c, f"ls -a {HOME}").split() == [".", "..", "big.bin"]


async def refused_upload(files: FilesChannel) -> None:
    m = await files.upload("u1", "x", b"x")
    assert m["type"] == "error" and m["code"] == "files_not_allowed", m


async def test_host_shell_target_uses_the_devices_files(agent_factory):
    """A host shell target: the agent's own file system calls, as the agent's user; the same
    checks (folders resolved with symlinks, /tmp and home only)."""
    agent = await agent_factory(host_shell=True, host_shell_command=["/bin/sh", "-i"])
    await wait_target(agent, "host")
    d = tempfile.mkdtemp(prefix="porthole-files-", dir="/tmp")
    os.symlink("/etc", f"{d}/etc-link")
    try:
        _, _, files, ready = await open_with_files(agent, "host", files="both", files_max_bytes=MiB)
        assert ready["upload"] and ready["download"]
        payload = os.urandom(300_000)
        done = await files.upload("u1", "host.bin", payload, folder=d)
        assert done["type"] == "done" and done["path"] == f"{d}/host.bin", done
        with open(f"{d}/host.bin", "rb") as f:
            assert f.read() == payload
        end, got = await files.download("d1", f"{d}/host.bin")
        assert end["type"] == "done" and got == payload and end["sha256"] == hashlib.sha256(payload).hexdigest()
        m = await files.upload("u2", "x", b"x", folder=f"{d}/etc-link")
        assert m["type"] == "error" and m["code"] == "path_not_allowed", m
        end, _ = await files.download("d2", f"{d}/etc-link/hostname")
        assert end["type"] == "error" and end["code"] == "path_not_allowed", end
        assert sorted(os.listdir(d)) == ["etc-link", "host.bin"], "no temporary file left"
    finally:
        shutil.rmtree(d)


async def test_a_put_cancelled_after_docker_wrote_leaves_nothing(docker_client, make_container):
    """The commit phase's cancel (filestore.DockerStore.put): Docker has written the hidden
    temporary file when the cancel is seen; it is removed and nothing is renamed."""
    c = make_container()
    store = DockerStore(docker_client.api, c.id, "operator")
    info = await store.info()
    assert (info.uid, info.gid, info.home) == (1000, 1000, HOME)
    staged = io.BytesIO(b"x" * 100_000)
    with pytest.raises(asyncio.CancelledError):
        await store.put(HOME, "late.bin", staged, 100_000, info, lambda: True)
    assert sh(c, f"ls -a {HOME}").split() == [".", ".."]
    path = await store.put(HOME, "ok.bin", staged, 100_000, info, lambda: False)
    assert path == f"{HOME}/ok.bin" and sh(c, f"ls -a {HOME}").split() == [".", "..", "ok.bin"]
