"""The folders file transfer may use are the grant's (`fdirs`, from `[[users.grants]]
file_dirs`; docs/protocol.md §5d): the real agent and porthole-core, a real container,
aiortc as the remote peer. Inside a configured folder works; outside (home and /tmp
included when not configured), and a symlink out of it, is `path_not_allowed`, audited."""

from __future__ import annotations

import hashlib

import pytest

from porthole.agent import filepaths
from porthole.errors import PortholeError
from tests.agent.test_files import HOME, MiB, file_records, open_with_files
from tests.agent.test_terminal import wait_target


def root_sh(container, script: str) -> str:
    r = container.exec_run(["sh", "-c", script], user="root")
    return r.output.decode()


async def test_configured_folders_only(agent_factory, make_container):
    agent = await agent_factory(user="operator")
    c = make_container()
    await wait_target(agent, c.name)
    root_sh(
        c,
        "mkdir -p /data/sub /srv/other && chown -R 1000:1000 /data /srv/other && ln -s /etc /data/etc-link"
        " && ln -s /srv/other /data/other-link && echo hi > /srv/other/y && ln -s /data /tmp/data-link"
        f" && echo secret > {HOME}/h.txt && chown 1000:1000 {HOME}/h.txt",
    )
    sid, _client, files, ready = await open_with_files(
        agent, c.name, files="both", files_max_bytes=MiB, file_dirs=("/data", "/nowhere")
    )
    assert ready["dirs"] == ["/data", "/nowhere"], ready

    # Inside the folder: both ways.
    done = await files.upload("u1", "in.bin", b"inside\n", folder="/data/sub")
    assert done["type"] == "done" and done["path"] == "/data/sub/in.bin", done
    assert root_sh(c, "cat /data/sub/in.bin") == "inside\n"
    end, got = await files.download("d1", "/data/sub/in.bin")
    assert end["type"] == "done" and got == b"inside\n", end
    # No folder named: the shell's cwd (/) and home are not allowed, so the first allowed folder.
    done = await files.upload("u2", "dropped.txt", b"drop")
    assert done["type"] == "done" and done["path"] == "/data/dropped.txt", done

    async def refused_up(tid: str, folder: str) -> None:
        m = await files.upload(tid, "x", b"x", folder=folder)
        assert m["type"] == "error" and m["code"] == "path_not_allowed", (folder, m)

    async def refused_down(tid: str, path: str) -> None:
        end, got = await files.download(tid, path)
        assert end["type"] == "error" and end["code"] == "path_not_allowed" and got == b"", (path, end)

    # Outside: home and /tmp are not allowed once the grant names other folders.
    await refused_up("u3", HOME)
    await refused_up("u4", "/tmp")
    await refused_down("d2", f"{HOME}/h.txt")
    await refused_down("d3", "h.txt")  # relative to home
    # Symlinks that escape: out of the folder (/etc, a sibling folder), and into it from outside.
    await refused_up("u5", "/data/etc-link")
    await refused_up("u6", "/data/other-link")
    await refused_down("d4", "/data/other-link/y")
    await refused_down("d5", "/data/etc-link/passwd")
    await refused_up("u7", "/tmp/data-link")
    await refused_up("u8", "/data/../srv/other")
    # Nothing landed outside: no file "x", no hidden temporary file.
    assert root_sh(c, f"ls -a /tmp /srv/other /etc {HOME} | grep -c -e '^x$' -e porthole") == "0\n"

    records = file_records(agent, sid)
    ok = sorted((r["direction"], r["path"]) for r in records if r["ok"])
    assert ok == [("download", "/data/sub/in.bin"), ("upload", "/data/dropped.txt"), ("upload", "/data/sub/in.bin")]
    refused = [r for r in records if not r["ok"]]
    assert len(refused) == 10 and {r["code"] for r in refused} == {"path_not_allowed"}, refused


async def test_a_home_subfolder(agent_factory, make_container):
    """`~/inbox`: the exec user's home in the container, resolved there; home itself is not allowed."""
    agent = await agent_factory(user="operator")
    c = make_container()
    await wait_target(agent, c.name)
    root_sh(c, f"mkdir {HOME}/inbox && chown 1000:1000 {HOME}/inbox")
    sid, _client, files, ready = await open_with_files(
        agent, c.name, files="upload", files_max_bytes=MiB, file_dirs=("~/inbox",)
    )
    assert ready["dirs"] == ["~/inbox"] and ready["upload"], ready
    payload = b"x" * 1000
    done = await files.upload("u1", "a.bin", payload, folder="~/inbox")
    assert done["type"] == "done" and done["path"] == f"{HOME}/inbox/a.bin", done
    assert done["sha256"] == hashlib.sha256(payload).hexdigest()
    m = await files.upload("u2", "b.bin", payload, folder="~")
    assert m["type"] == "error" and m["code"] == "path_not_allowed", m
    assert root_sh(c, f"ls {HOME} {HOME}/inbox").split() == [f"{HOME}:", "inbox", f"{HOME}/inbox:", "a.bin"]
    codes = [r.get("code") for r in file_records(agent, sid) if not r["ok"]]
    assert codes == ["path_not_allowed"]


def test_folders_expanded_and_the_default_upload_folder():
    assert filepaths.expand("~", "/home/u") == "/home/u"
    assert filepaths.expand("~/in", "/home/u/") == "/home/u/in"
    assert filepaths.expand("~", "/") == "/" and filepaths.expand("~/in", "/") == "/in"
    assert filepaths.expand("~/in", "") == ""  # no home: the folder allows nothing
    assert filepaths.expand("/srv", "") == "/srv"
    roots = ("/mnt/data", "/tmp")
    assert filepaths.default_folder("/tmp/w", "/home/u", ("/data", "/tmp"), roots) == "/tmp/w"
    assert filepaths.default_folder("/", "/home/u", ("/data", "/tmp"), roots) == "/mnt/data"
    assert filepaths.default_folder("/", "/home/u", ("/home/u",), ("/home/u",)) == "/home/u"
    with pytest.raises(PortholeError) as e:
        filepaths.default_folder("/", "/home/u", ("/nowhere",), ())
    assert e.value.code == "path_not_allowed"
