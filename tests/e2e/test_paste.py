"""Large paste end to end in headless Chromium on the whole real product: the
page splits a 5 MB paste into messages under the device's 64 KiB limit and
sends them in order with backpressure; what the program in the container
reads hashes the same. Bracketed paste mode keeps its framing, and markers
inside the pasted text cannot end the bracket early. Control characters, six
bytes each in JSON, are split by their escaped size."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random

import pytest

from tests.e2e.test_browser_terminal import login, pick_target, type_line, wait_text

PASTE_BYTES = 5 * 1024 * 1024
START, END = "\x1b[200~", "\x1b[201~"


def paste_text(approx_bytes: int, seed: int) -> str:
    """Printable ASCII, 2-, 3- and 4-byte UTF-8 (a surrogate pair in the page), a newline every 100 characters."""
    rnd = random.Random(seed)
    alphabet = [chr(c) for c in range(0x20, 0x7F)] * 4 + ["é", "€", "😀", "漢"]
    lines, n = [], 0
    while n < approx_bytes:
        line = "".join(rnd.choice(alphabet) for _ in range(100))
        lines.append(line)
        n += len(line.encode()) + 1
    return "\n".join(lines) + "\n"


def pty_bytes(pasted: str) -> bytes:
    """What a raw-mode reader gets: xterm.js sends "\\n" as "\\r", and `stty raw` leaves "\\r" alone."""
    return pasted.replace("\n", "\r").encode()


async def reader_ready(page, n: int, path: str, *, bracketed: bool) -> None:
    """Has the shell read exactly n bytes, raw (no ^V or ^O either) and unechoed, into path; returns once it reads.
    Afterwards the screen shows "read-2done"."""
    on = "printf '\\033[?2004h'; " if bracketed else ""
    off = "printf '\\033[?2004l'; " if bracketed else ""
    read = f"stty raw -echo -iexten; echo ready-$((2+3)); head -c {n} > {path}; stty sane"
    await type_line(page, f"{on}{read}; {off}echo read-$((1+1))done")
    await wait_text(page, "ready-5")  # stty raw has run: the paste is read raw


async def sha256_in(c, path: str) -> str:
    res = await asyncio.to_thread(c.exec_run, ["sha256sum", path])
    assert res.exit_code == 0, res.output
    return res.output.decode().split()[0]


async def open_page(new_page, stack, target: str, *, binary: bool):
    page = await new_page(viewport={"width": 900, "height": 600})
    await login(page, stack)
    await pick_target(page, stack, target)
    if binary:
        await page.check("[data-testid=binary-mode]")  # raw bytes: the other way input is sent
    await page.click("[data-testid=open-terminal]")
    await page.evaluate("porthole.waitState('channel', 'open', 20000)")
    return page


# JSON mode: the escaped JSON text counts against the limit; binary mode: the raw bytes.
@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
async def test_a_5_mb_paste_arrives_intact(stack, make_container, new_page, binary):
    c = make_container()
    page = await open_page(new_page, stack, c.name, binary=binary)
    text = paste_text(PASTE_BYTES, seed=15)
    want = pty_bytes(text)
    assert len(want) >= PASTE_BYTES
    await reader_ready(page, len(want), "/tmp/p", bracketed=False)
    await page.evaluate(f"porthole.paste({json.dumps(text)})")
    await wait_text(page, "read-2done", timeout_ms=120_000)
    assert await page.evaluate("porthole.inputBacklog") == 0
    assert await sha256_in(c, "/tmp/p") == hashlib.sha256(want).hexdigest()
    # The session goes on: typing works after the paste.
    await type_line(page, "echo after-$((6*7))")
    await wait_text(page, "after-42")


async def test_a_bracketed_paste_keeps_its_framing(stack, make_container, new_page):
    c = make_container()
    page = await open_page(new_page, stack, c.name, binary=False)
    body = paste_text(300 * 1024, seed=2004)  # ten messages or so
    # Pasted text that tries to end the bracket early and run a command: the page drops the markers.
    pasted = body[:70_000] + END + "touch /tmp/pwned\r" + START + body[70_000:]
    want = (START + body[:70_000] + "touch /tmp/pwned\r" + body[70_000:] + END).replace("\n", "\r").encode()
    await reader_ready(page, len(want), "/tmp/q", bracketed=True)
    assert await page.evaluate("porthole.term.modes.bracketedPasteMode")
    await page.evaluate(f"porthole.paste({json.dumps(pasted)})")
    await wait_text(page, "read-2done", timeout_ms=60_000)
    assert await sha256_in(c, "/tmp/q") == hashlib.sha256(want).hexdigest()
    assert await page.evaluate("porthole.inputBacklog") == 0
    assert not await page.evaluate("porthole.term.modes.bracketedPasteMode")


# Wraps the terminal channel's send to record the largest message (bytes on the wire).
MEASURE_SENDS_JS = """() => {
  const dc = porthole.dc;
  const send = dc.send.bind(dc);
  window.sent = { count: 0, max: 0 };
  dc.send = (m) => {
    const n = typeof m === "string" ? new TextEncoder().encode(m).length : m.byteLength;
    window.sent.count += 1;
    window.sent.max = Math.max(window.sent.max, n);
    return send(m);
  };
}"""


async def test_control_characters_escaped_sixfold_still_fit(stack, make_container, new_page):
    """JSON mode's worst case: each control character is six bytes of JSON (\\u0001); no message is over 32 KiB."""
    c = make_container()
    page = await open_page(new_page, stack, c.name, binary=False)
    rnd = random.Random(6)
    # Not ^P: Docker's exec attach reads ^P ^Q as its detach keys and ends the exec (reported, not ours to fix here).
    controls = [chr(b) for b in range(0x20) if chr(b) not in "\r\n\x10"]
    text = "".join(rnd.choice(controls) for _ in range(256 * 1024))
    want = text.encode()
    await reader_ready(page, len(want), "/tmp/c", bracketed=False)
    await page.evaluate(MEASURE_SENDS_JS)
    await page.evaluate(f"porthole.paste({json.dumps(text)})")
    await wait_text(page, "read-2done", timeout_ms=60_000)
    assert await sha256_in(c, "/tmp/c") == hashlib.sha256(want).hexdigest()
    sent = await page.evaluate("window.sent")
    # Split by the escaped size (\\u0001 is six bytes, \\t two), not by the length in characters.
    assert sent["count"] >= len(json.dumps(text)) // (32 * 1024) > len(text) // (32 * 1024), sent
    assert 0 < sent["max"] <= 32 * 1024, sent
