"""Recordings on the server: the agent's real uploader against the real
server, through a link that drops mid-upload (it resumes, it does not start
over); device credentials; who may list and download."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp

from porthole.agent import config as agent_config
from porthole.agent.upload import CHUNK_BYTES, Uploader

from .conftest import SECRETS, Env


class DroppingProxy:
    """TCP proxy to the server that cuts its first connection after `drop_after` request bytes."""

    def __init__(self, port: int, drop_after: int) -> None:
        self.port, self.drop_after = port, drop_after
        self.connections = 0
        self.sent = 0  # request bytes forwarded to the server, over all connections
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _handle(self, r_client, w_client) -> None:
        self.connections += 1
        first = self.connections == 1
        r_srv, w_srv = await asyncio.open_connection("127.0.0.1", self.port)

        async def up():
            n = 0
            while data := await r_client.read(65536):
                if first and n + len(data) > self.drop_after:
                    data = data[: self.drop_after - n]
                    w_srv.write(data)
                    self.sent += len(data)
                    raise ConnectionResetError("link dropped")
                n += len(data)
                self.sent += len(data)
                w_srv.write(data)
                await w_srv.drain()

        async def down():
            while data := await r_srv.read(65536):
                w_client.write(data)
                await w_client.drain()

        tasks = [asyncio.create_task(up()), asyncio.create_task(down())]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for w in (w_srv, w_client):
            w.close()

    async def stop(self) -> None:
        if self.server:
            self.server.close()


def uploader_for(tmp: Path, url: str, device: str = "edge-1", secret: str | None = None) -> Uploader:
    (tmp / "device.secret").write_text(secret or SECRETS[device])
    (tmp / "pub.pem").write_text("")
    cfg = agent_config.from_dict(
        {
            "agent": {
                "device_id": device,
                "server_url": url,
                "secret_file": "device.secret",
                "grant_public_key": "pub.pem",
            },
            "recording": {"enabled": True, "dir": "rec"},
        },
        base=tmp,
    )
    return Uploader(cfg)


def opened(
    env: Env,
    sid: str,
    device: str = "edge-1",
    user: str = "operator",
    target: str = "plc-runtime",
    opened_at: float = 1.0,
) -> None:
    env.server.recordings.session_opened(
        {
            "session_id": sid,
            "device": device,
            "user": user,
            "org": "demo",
            "target": target,
            "kind": "terminal",
            "mode": "interactive",
            "opened_at": opened_at,
        }
    )


async def test_upload_resumes_after_the_link_drops(env: Env, tmp_path: Path) -> None:
    sid = "s_resume0000000000000000"
    opened(env, sid)
    body = os.urandom(3 * CHUNK_BYTES + 12345)
    proxy = DroppingProxy(env.server.port, drop_after=CHUNK_BYTES + CHUNK_BYTES // 2)
    port = await proxy.start()
    up = uploader_for(tmp_path, f"http://127.0.0.1:{port}")
    (tmp_path / "rec").mkdir()
    (tmp_path / "rec" / f"{sid}.cast").write_bytes(body)
    task = asyncio.create_task(up.run())  # picks up the waiting file
    try:
        async with asyncio.timeout(30):
            while up.uploaded < 1:
                await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await proxy.stop()
    stored = recordings_dir(env) / f"{sid}.cast"
    assert stored.read_bytes() == body
    assert proxy.connections >= 2, "the link never dropped"
    # Resumed: the chunk cut in flight is sent again, the one stored before is not.
    assert proxy.sent < len(body) + 2 * CHUNK_BYTES, proxy.sent
    assert not (tmp_path / "rec" / f"{sid}.cast").exists()  # the device forgets it once stored


async def test_upload_needs_the_device_of_the_session(env: Env, tmp_path: Path) -> None:
    sid = "s_devicecheck00000000000"
    opened(env, sid, device="edge-2")
    url = f"{env.url}/api/recordings/{sid}"
    headers = {"Content-Range": "bytes */10"}
    async with aiohttp.ClientSession() as http:
        async with http.put(url, headers=headers) as r:
            assert r.status == 401  # no credential
        async with http.put(url, headers={**headers, "Authorization": f"Device edge-2:{SECRETS['edge-1']}"}) as r:
            assert r.status == 401  # wrong secret
        async with http.put(url, headers={**headers, "Authorization": f"Device edge-1:{SECRETS['edge-1']}"}) as r:
            assert r.status == 404  # right device, but not its session
        async with http.put(url, headers={**headers, "Authorization": f"Device edge-2:{SECRETS['edge-2']}"}) as r:
            assert r.status == 202 and r.headers["Upload-Offset"] == "0"


async def test_who_may_list_and_download(env: Env) -> None:
    sid = "s_readers000000000000000"
    opened(env, sid, device="edge-1", user="operator", target="plc-runtime")
    stored = recordings_dir(env) / f"{sid}.cast"
    stored.write_text('{"version": 2, "width": 80, "height": 24}\n')
    async with aiohttp.ClientSession() as http:

        async def visible(user: str) -> tuple[bool, int]:
            headers = {"Authorization": f"Bearer {await env.token(user)}"}
            async with http.get(env.url + "/api/recordings", headers=headers) as r:
                assert r.status == 200
                listed = [x["session_id"] for x in (await r.json())["recordings"]]
            async with http.get(env.url + f"/api/recordings/{sid}", headers=headers) as r:
                return sid in listed, r.status

        assert await visible("operator") == (True, 200)  # their own
        assert await visible("viewer") == (True, 200)  # same org, a grant names edge-1
        assert await visible("outsider") == (False, 404)  # another org: not even its existence
        async with http.get(env.url + "/api/recordings", headers={"Authorization": "Bearer nope"}) as r:
            assert r.status == 401


async def test_the_list_filters_by_target_user_and_time(env: Env) -> None:
    made = {
        "s_filter_a00000000000000": ("operator", "plc-runtime", 1000.0),
        "s_filter_b00000000000000": ("operator", "historian", 2000.0),
        "s_filter_c00000000000000": ("viewer", "plc-runtime", 3000.0),
    }
    for sid, (user, target, at) in made.items():
        opened(env, sid, user=user, target=target, opened_at=at)
        (recordings_dir(env) / f"{sid}.cast").write_text('{"version": 2, "width": 80, "height": 24}\n')
    headers = {"Authorization": f"Bearer {await env.token('operator')}"}
    async with aiohttp.ClientSession() as http:

        async def listed(**query: str) -> list[str]:
            async with http.get(env.url + "/api/recordings", headers=headers, params=query) as r:
                assert r.status == 200, await r.text()
                return [x["session_id"] for x in (await r.json())["recordings"] if x["session_id"] in made]

        a, b, c = made
        assert await listed() == [c, b, a]  # newest first
        assert await listed(target="plc-runtime") == [c, a]
        assert await listed(user="operator") == [b, a]
        assert await listed(user="viewer", target="plc-runtime") == [c]
        assert await listed(since="1500", until="2500") == [b]
        assert await listed(since="2000") == [c, b]  # both ends inclusive
        assert await listed(target="nothing-by-that-name") == []
        for bad in ({"since": "yesterday"}, {"until": "-1"}, {"since": "nan"}, {"colour": "red"}, {"user": ""}):
            async with http.get(env.url + "/api/recordings", headers=headers, params=bad) as r:
                assert r.status == 400, bad
                assert (await r.json())["error"]["code"] == "bad_request"


async def test_a_recording_cut_short_by_a_crash_is_uploaded_at_start(env: Env, tmp_path: Path) -> None:
    sid = "s_crashed000000000000000"
    opened(env, sid)
    up = uploader_for(tmp_path, env.url)
    (tmp_path / "rec").mkdir()
    partial = '{"version": 2, "width": 80, "height": 24}\n[0.1, "o", "before the crash"]\n'
    (tmp_path / "rec" / f"{sid}.cast.rec").write_text(partial)  # what a killed agent leaves
    task = asyncio.create_task(up.run())
    try:
        async with asyncio.timeout(30):
            while up.uploaded < 1:
                await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert (recordings_dir(env) / f"{sid}.cast").read_text() == partial


def recordings_dir(env: Env) -> Path:
    rec = env.server.config.recordings
    assert rec is not None, "the test config has [recordings]"
    return rec.dir
