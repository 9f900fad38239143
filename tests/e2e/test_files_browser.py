"""File transfer in headless Chromium on the whole real product (server, agent,
porthole-core, Docker): the page uploads random bytes picked as a File and
dropped on the terminal, downloads them back, shows the progress, and cancels
half-way leaving nothing (docs/protocol.md §5d)."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.test_browser_terminal import type_line
from tests.e2e.test_paste import open_page
from tests.support.fullstack import start_stack

HOME = "/home/operator"

# A File of n random bytes made in the page, uploaded by porthole.files.upload (the files bar's picker
# does the same with the user's file); returns the result and the sha256 the page computed.
UPLOAD = """async ([n, name, dir]) => {
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(data.subarray(i, Math.min(n, i + 65536)));
  const digest = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", data)),
    (b) => b.toString(16).padStart(2, "0")).join("");
  window.lastUpload = data;
  const r = await porthole.files.upload(new File([data], name), dir);
  return { ok: r.ok, status: r.status, code: r.code, path: r.path, sha256: r.sha256, digest };
}"""


@pytest.fixture
async def files_stack(tmp_path):
    st = await start_stack(tmp_path, targets='[targets]\ncontainers = ["porthole-test-*"]\nuser = "operator"\n')
    yield st
    await st.stop()


async def wait_page(page, condition: str, timeout_ms: int = 30000) -> None:
    """Polls a JS condition in the page (wait_for_function evals a string, which the page's CSP refuses)."""
    await page.evaluate(
        f"""async () => {{
          const end = Date.now() + {timeout_ms};
          while (!({condition})) {{
            if (Date.now() > end) throw new Error("timed out: " + JSON.stringify(porthole.state.files));
            await new Promise((r) => setTimeout(r, 50));
          }}
        }}"""
    )


def sh(c, script: str) -> str:
    return c.exec_run(["sh", "-c", script]).output.decode()


async def test_upload_download_drop_and_cancel_in_the_page(files_stack, make_container, new_page):
    c = make_container()
    page = await open_page(new_page, files_stack, c.name, binary=False)
    await page.wait_for_selector("[data-testid=files]:not([hidden])", timeout=15000)
    view = await page.evaluate("porthole.state.files")
    assert view["upload"] and view["download"], view
    # The grant's folders (the default file_dirs), from the device's `ready`, shown in the files bar.
    assert view["dirs"] == ["~", "/tmp"], view
    assert await page.text_content("[data-testid=files-dirs]") == "allowed folders: ~, /tmp"

    r = await page.evaluate(UPLOAD, [50 * 1024 * 1024 + 7, "random.bin", ""])  # issue 15: a 50 MB file
    assert r["ok"] and r["path"] == f"{HOME}/random.bin" and r["sha256"] == r["digest"], r
    assert sh(c, f"sha256sum {HOME}/random.bin").split()[0] == r["digest"]
    assert sh(c, f"stat -c %U {HOME}/random.bin").strip() == "operator"
    assert await page.get_attribute("[data-testid=files-progress]", "value") == "1"
    assert "done" in await page.text_content("[data-testid=files-status]")

    back = await page.evaluate(
        """async (p) => { const r = await porthole.files.download(p);
             const got = r.blob ? new Uint8Array(await r.blob.arrayBuffer()) : null;
             const same = !!got && got.every((b, i) => b === window.lastUpload[i]);
             return { ok: r.ok, sha256: r.sha256, same }; }""",
        f"{HOME}/random.bin",
    )
    assert back == {"ok": True, "sha256": r["digest"], "same": True}, back

    # A refusal is shown in words (the device's code, docs/protocol.md §5d).
    refused = await page.evaluate("async () => (await porthole.files.download('/etc/passwd')).code")
    assert refused == "path_not_allowed"
    assert "not allowed" in await page.text_content("[data-testid=files-status]")

    # Dropped on the terminal: into the shell's working directory.
    await type_line(page, "cd /tmp && echo in-$((1+1))-tmp")
    await page.evaluate("porthole.waitText('in-2-tmp')")
    await asyncio.sleep(0.3)  # the cd has run; the device reads the shell's cwd when the upload starts
    await page.evaluate(
        """() => { const dt = new DataTransfer();
             dt.items.add(new File(["dropped bytes\\n"], "dropped.txt"));
             document.querySelector("[data-testid=terminal]").dispatchEvent(
               new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true })); }"""
    )
    await wait_page(
        page, "porthole.state.files.transfer.name === 'dropped.txt' && porthole.state.files.transfer.status === 'done'"
    )
    assert sh(c, "cat /tmp/dropped.txt") == "dropped bytes\n"

    # Cancel half-way (the Cancel button): no file, no temporary file.
    started = page.evaluate(UPLOAD, [48 * 1024 * 1024, "big.bin", ""])
    task = asyncio.ensure_future(started)
    await wait_page(
        page, "porthole.state.files.transfer.name === 'big.bin' && porthole.state.files.transfer.done > 1048576"
    )
    await page.click("[data-testid=files-cancel]")
    r = await task
    assert r["status"] == "cancelled" and not r["ok"], r
    assert sh(c, "ls -a /tmp").split() == [".", "..", "dropped.txt"]
    assert "cancelled" in await page.text_content("[data-testid=files-status]")
