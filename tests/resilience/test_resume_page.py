"""Resume in the real page (issue 11, item 2): Chromium, the real server,
agent, porthole-core and Docker. The tab is reloaded in the middle of a
program printing a line every 0.2 s: the tab keeps its login (no form) and takes
its own terminal back by itself (no click), the same shell process, its
scrollback (with what was printed while the tab was away) replayed, the program
still running; a second tab opened fresh starts logged out and, once logged in,
offers that terminal but does not take it; a copy of the tab ("Duplicate tab":
its sessionStorage copied) keeps the login but not the terminal."""

from __future__ import annotations

import asyncio
import json
import re
import time

from tests.e2e.test_browser_terminal import login, open_terminal_in_page, terminal_text, type_line, wait_text
from tests.support.fullstack import start_stack


async def pid_of(page, tag: str, timeout: float = 15.0) -> int:
    await type_line(page, f"echo pid-$$-{tag}")
    deadline = time.monotonic() + timeout
    while not (found := re.findall(rf"^pid-(\d+)-{tag}$", await terminal_text(page), flags=re.M)):
        assert time.monotonic() < deadline, (await terminal_text(page))[-800:]
        await asyncio.sleep(0.1)
    return int(found[-1])


async def test_tab_reload_mid_program_resumes_same_shell_with_scrollback(tmp_path, make_container, new_page):
    st = await start_stack(tmp_path, agent_keys="resume_grace_s = 60\n")
    try:
        c = make_container()
        page = await open_terminal_in_page(new_page, st, c.name)
        old_id = await page.evaluate("porthole.state.sessionId")
        pid = await pid_of(page, "a")
        # A running program: a numbered line every 0.2 s, for a minute.
        await type_line(page, "i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo tick-$i; sleep 0.2; done")
        await wait_text(page, "tick-3")

        await page.reload()
        # No login: the tab's saved login is used at once.
        assert await page.evaluate("porthole.state.loginRestored") is True
        assert not await page.is_visible("[data-testid=login-form]")
        await asyncio.sleep(2)  # the program prints on while the tab resumes
        # Nothing clicked: the tab takes its own terminal back by itself, and offers nothing.
        await page.evaluate("porthole.waitState('resumes', 1, 30000)")
        assert await page.evaluate("porthole.state.autoResume") == old_id
        assert await page.locator("[data-testid=resume-offer]").count() == 0
        await page.evaluate("porthole.waitState('channel', 'open', 30000)")

        # The scrollback came back: the lines from before the reload and those printed while away.
        text = await wait_text(page, "tick-", 15000)
        assert "pid-" in text, text[-1500:]
        # Whole lines: the replay has no cursor-position query left that the old tab had
        # answered (ash writes ESC[6n at every prompt), so the new xterm answers none and no
        # answer is echoed among the lines (docs/protocol.md §2e).
        ticks_now = [int(n) for n in re.findall(r"^tick-(\d+)$", await terminal_text(page), flags=re.M)]
        assert ticks_now and min(ticks_now) <= 3, ticks_now[:5]
        # The program is still running: new lines keep coming, in order, none missing (so the
        # ~10 lines printed during the 2 s away are there).
        last = max(ticks_now)
        await wait_text(page, f"tick-{last + 5}", 15000)
        seen = [int(n) for n in re.findall(r"^tick-(\d+)$", await terminal_text(page), flags=re.M)]
        assert seen == list(range(seen[0], seen[-1] + 1)), (await terminal_text(page))[-3000:]
        await type_line(page, "\x03")
        assert await pid_of(page, "b") == pid, "a new shell: not resumed"
        new_id = await page.evaluate("porthole.state.sessionId")
        assert new_id != old_id
        resumed = [r for r in st.audit() if r["event"] == "session.resumed" and r.get("session_id") == new_id]
        assert resumed and resumed[0]["resumed_from"] == old_id, resumed

        # A second tab opened fresh in the same browser: it offers the live terminal (it is
        # remembered per user in the browser) but does not take it by itself.
        other = await page.context.new_page()
        await other.goto(st.url + "/")
        assert await other.is_visible("[data-testid=login-form]"), "a new tab inherited a login"
        assert await other.evaluate("porthole.state.login") == "logged_out"
        await login(other, st)
        offer = other.locator(f"[data-testid=resume-offer][data-session-id={new_id}]")
        await offer.wait_for(state="visible", timeout=15000)
        await asyncio.sleep(3)
        assert await other.evaluate("porthole.state.resumes") is None
        assert await other.evaluate("porthole.state.autoResume") is None
        assert await other.evaluate("porthole.state.sessionId") is None
        assert await page.evaluate("porthole.state.sessionId") == new_id
        assert await pid_of(page, "c") == pid, "the first tab lost its shell"
    finally:
        await st.stop()


async def test_connection_lost_without_reload_resumes_by_itself(tmp_path, make_container, new_page):
    """The peer connection goes (closed under the page, as a dead network path ends it): the
    page takes the detached shell back by itself, in a new session."""
    st = await start_stack(tmp_path, agent_keys="resume_grace_s = 60\n")
    try:
        c = make_container()
        page = await open_terminal_in_page(new_page, st, c.name)
        old_id = await page.evaluate("porthole.state.sessionId")
        pid = await pid_of(page, "a")
        await page.evaluate("porthole.pc.close()")
        await page.evaluate("porthole.waitState('resumes', 1, 30000)")
        assert await page.evaluate("porthole.state.sessionId") != old_id
        assert await pid_of(page, "b") == pid, "a new shell: not resumed"
        assert await page.evaluate("porthole.lastError") is None
    finally:
        await st.stop()


async def test_tab_reload_with_resume_off_says_the_terminal_ended(tmp_path, make_container, new_page):
    """Resume off on the device (`resume_grace_s = 0`): leaving the page ends the shell. After
    the reload the tab tries its own terminal once, finds it gone, says so in words (not as an
    error), and a new terminal opens as usual."""
    st = await start_stack(tmp_path)
    try:
        c = make_container()
        page = await open_terminal_in_page(new_page, st, c.name)
        old_id = await page.evaluate("porthole.state.sessionId")
        pid = await pid_of(page, "a")
        await page.reload()
        banner = page.locator("[data-testid=error-banner][data-kind=info]")
        await banner.wait_for(state="visible", timeout=30000)
        assert await page.evaluate("porthole.state.loginRestored") is True
        assert await page.evaluate("porthole.state.autoResume") == old_id
        assert "ended while the page was away" in await banner.inner_text()
        assert await page.evaluate("porthole.lastError") is None
        assert await page.evaluate("porthole.state.resumes") is None
        await page.click("[data-testid=open-terminal]")
        await page.evaluate("porthole.waitState('channel', 'open', 20000)")
        assert await pid_of(page, "b") != pid
    finally:
        await st.stop()


# Before the page's scripts, in the new tab only: the copied tab's sessionStorage, as Chrome's
# "Duplicate tab" gives it (once: the copy then has a tab id of its own).
COPY_JS = """(() => { try {
  if (location.origin === %s && !sessionStorage.getItem("porthole.tabId")) {
    for (const [k, v] of Object.entries(JSON.parse(%s))) sessionStorage.setItem(k, v);
  }
} catch (e) { /* about:blank */ } })();"""


async def test_duplicated_tab_keeps_the_login_not_the_terminal(tmp_path, make_container, new_page):
    st = await start_stack(tmp_path, agent_keys="resume_grace_s = 60\n")
    try:
        c = make_container()
        page = await open_terminal_in_page(new_page, st, c.name)
        sid = await page.evaluate("porthole.state.sessionId")
        pid = await pid_of(page, "a")
        keys = await page.evaluate("Object.keys(sessionStorage)")
        assert {"porthole.tabId", "porthole.tabSession", "porthole.login"} <= set(keys), keys
        copied = await page.evaluate("JSON.stringify(Object.assign({}, sessionStorage))")  # holds the token

        dup = await page.context.new_page()
        await dup.add_init_script(COPY_JS % (json.dumps(st.url), json.dumps(copied)))
        await dup.goto(st.url + "/")
        await dup.evaluate("porthole.waitState('duplicateTab', true, 15000)")
        # It kept the login (the copy was the user's choice) ...
        assert await dup.evaluate("porthole.state.loginRestored") is True
        await dup.evaluate("porthole.waitState('socket', 'connected')")
        # ... but not the terminal: that one is an offer, never taken by itself.
        offer = dup.locator(f"[data-testid=resume-offer][data-session-id={sid}]")
        await offer.wait_for(state="visible", timeout=15000)
        await asyncio.sleep(2)
        assert await dup.evaluate("porthole.state.autoResume") is None
        assert await dup.evaluate("porthole.state.sessionId") is None
        assert await dup.evaluate("sessionStorage.getItem('porthole.tabSession')") is None
        ids = [await p.evaluate("sessionStorage.getItem('porthole.tabId')") for p in (page, dup)]
        assert ids[0] and ids[1] and ids[0] != ids[1], ids
        assert await page.evaluate("porthole.state.sessionId") == sid
        assert await pid_of(page, "b") == pid, "the original tab lost its shell"

        # The original reloaded while its copy is open: still its own tab, its terminal back by itself.
        await page.reload()
        await page.evaluate("porthole.waitState('resumes', 1, 30000)")
        assert await page.evaluate("porthole.state.autoResume") == sid
        assert await page.evaluate("porthole.state.duplicateTab") is None
        assert await pid_of(page, "c") == pid
        assert await dup.evaluate("porthole.state.sessionId") is None
    finally:
        await st.stop()


def running(container, command: str) -> list[str]:
    """Host pids (`docker top`) of the container's processes whose command line is `command`."""
    container.reload()
    return [p[0] for p in container.top(ps_args="-eo pid,args")["Processes"] or [] if p[1] == command]


async def wait_running(container, command: str, timeout: float = 15.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while not (pids := running(container, command)):
        assert time.monotonic() < deadline, f"{command!r} not running in {container.name}"
        await asyncio.sleep(0.2)
    return pids


async def wait_gone(container, command: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while running(container, command):
        assert time.monotonic() < deadline, f"{command!r} still running in {container.name}"
        await asyncio.sleep(0.2)


async def buffer_type(page) -> str:
    return await page.evaluate("porthole.term.buffer.active.type")


async def reload_and_resume(page, old_id: str) -> None:
    """Reloads the tab and waits, with no user action, until it took its terminal back."""
    await page.reload()
    assert await page.evaluate("porthole.state.loginRestored") is True
    await page.evaluate("porthole.waitState('resumes', 1, 30000)")
    assert await page.evaluate("porthole.state.autoResume") == old_id
    await page.evaluate("porthole.waitState('channel', 'open', 30000)")


async def test_tab_reload_mid_top_redraws_the_same_top(tmp_path, make_container, new_page):
    """A full-screen program that redraws itself (`top -d 1`): after the reload its screen is
    back and live (a process started after the resume shows up in it), the same top process
    runs, and `q` leaves it for the same shell."""
    st = await start_stack(tmp_path, agent_keys="resume_grace_s = 60\n")
    try:
        c = make_container()
        page = await open_terminal_in_page(new_page, st, c.name)
        old_id = await page.evaluate("porthole.state.sessionId")
        pid = await pid_of(page, "a")
        await type_line(page, "top -d 1")
        await wait_text(page, "Load average")
        tops = await wait_running(c, "top -d 1")
        # busybox top draws on the normal screen (ESC[H ESC[J each second, no ESC[?1049h).
        assert await buffer_type(page) == "normal"

        await reload_and_resume(page, old_id)
        await wait_text(page, "Load average")
        assert await buffer_type(page) == "normal"
        # Live, not only replayed: a process started now shows in top's screen.
        c.exec_run(["sleep", "4242"], detach=True)
        await wait_text(page, "sleep 4242", 20000)
        assert running(c, "top -d 1") == tops, "not the same top"

        await page.click("[data-testid=terminal]")
        await page.keyboard.press("q")
        assert await pid_of(page, "b") == pid, "a new shell: not resumed"
        assert await buffer_type(page) == "normal"
        assert running(c, "top -d 1") == []
    finally:
        await st.stop()


VI_TEXT = ["first-line-of-the-file", "second line, the middle", "last-line-of-the-file"]


async def notes_in_a_page(st, make_container, new_page):
    """A container holding /tmp/notes.txt (VI_TEXT) and a terminal into it in the page:
    (container, page, session id, the shell's pid)."""
    c = make_container()
    rc, out = c.exec_run(["sh", "-c", "printf '%s\\n' \"$@\" > /tmp/notes.txt", "sh", *VI_TEXT])
    assert rc == 0, out
    page = await open_terminal_in_page(new_page, st, c.name)
    return c, page, await page.evaluate("porthole.state.sessionId"), await pid_of(page, "a")


async def test_tab_reload_mid_vi_redraws_the_file(tmp_path, make_container, new_page):
    """vi, which draws once and then waits for keys: after the reload the file's content is on
    the screen again, in the alternate screen, and `:q!` returns to the same shell."""
    st = await start_stack(tmp_path, agent_keys="resume_grace_s = 60\n")
    try:
        c, page, old_id, pid = await notes_in_a_page(st, make_container, new_page)
        await type_line(page, "vi /tmp/notes.txt")
        await wait_text(page, VI_TEXT[-1])
        assert await buffer_type(page) == "alternate"
        vis = await wait_running(c, "vi /tmp/notes.txt")

        await reload_and_resume(page, old_id)
        text = await wait_text(page, VI_TEXT[-1])
        assert await buffer_type(page) == "alternate"
        assert all(line in text for line in VI_TEXT), text
        assert "pid-" not in text, "the shell's screen, not vi's"
        assert running(c, "vi /tmp/notes.txt") == vis, "not the same vi"

        # vi is live: a change made now is drawn, then thrown away with :q!.
        await page.click("[data-testid=terminal]")
        await page.keyboard.type("Oadded-after-resume")
        await page.keyboard.press("Escape")
        await wait_text(page, "added-after-resume")
        # vi tells a lone Escape from the start of a key sequence (ESC :) by the pause after
        # it, as a person makes one.
        await asyncio.sleep(0.5)
        await type_line(page, ":q!")
        await wait_gone(c, "vi /tmp/notes.txt")
        assert await pid_of(page, "b") == pid, "a new shell: not resumed"
        assert await buffer_type(page) == "normal"
        _, out = c.exec_run(["cat", "/tmp/notes.txt"])
        assert out.decode().split("\n")[:3] == VI_TEXT
    finally:
        await st.stop()


async def test_tab_reload_mid_vi_redraws_it_when_the_ring_lost_its_screen(tmp_path, make_container, new_page):
    """vi's screen is no longer in the scrollback ring (a small ring, and a background job printed
    over vi after its draw, more than the ring holds): after the reload vi draws its screen
    again by itself (the device makes it redraw, docs/protocol.md §2e), then `:q!` returns to
    the same shell."""
    st = await start_stack(tmp_path, agent_keys="resume_grace_s = 60\nresume_scrollback_bytes = 4096\n")
    try:
        c, page, old_id, pid = await notes_in_a_page(st, make_container, new_page)
        # ~14 KB printed over vi's screen once /tmp/go exists.
        await type_line(page, "(while [ ! -e /tmp/go ]; do sleep 0.1; done; seq 1 3000) & vi /tmp/notes.txt")
        await wait_text(page, VI_TEXT[-1])
        c.exec_run(["touch", "/tmp/go"])
        await wait_text(page, "3000")  # vi keeps the tty raw: a staircase of numbers

        await reload_and_resume(page, old_id)
        text = await wait_text(page, VI_TEXT[-1])
        assert all(line in text for line in VI_TEXT), text[-1500:]
        await page.click("[data-testid=terminal]")
        await type_line(page, ":q!")
        await wait_gone(c, "vi /tmp/notes.txt")
        # The ring lost vi's switch to the alternate screen: the page drew vi on the normal one,
        # and vi's leftovers stay there after it exits (as in any terminal that missed the switch).
        await type_line(page, "clear")
        # At the cleared screen's prompt ash asks for the cursor position (live, answered at
        # once); keys typed before the answer is back get mixed with it, so pause as a person
        # would.
        await asyncio.sleep(1)
        assert await pid_of(page, "b") == pid, "a new shell: not resumed"
    finally:
        await st.stop()
