// Recordings: list the session recordings this user may see, download one,
// replay one in its own xterm.js terminal (docs/protocol.md §7). The login
// token goes in the Authorization header, never in a URL.
//
// Test hooks (added to window.porthole by main.js):
//   listRecordings() → Promise<[{session_id, user, device, target, bytes, ...}]>
//   replay(sessionId, {speed}) → Promise: resolves when the replay has written every
//                    event (speed 0: at once; 1: real time, pauses capped at 2 s)
//   replayText()     the replay terminal's buffer as text (lines joined with "\n")
//   replayState      "idle" | "loading" | "playing" | "done" | "failed"
// data-testid: recordings, recordings-refresh, recording-select, recording-play,
//   recording-download, replay, replay-state.

import { Terminal } from "@xterm/xterm";

// A pause longer than this in the recording is shortened to it (asciinema's idle limit).
const MAX_PAUSE_S = 2;

export function parseCast(text) {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = JSON.parse(lines[0]);
  if (!header || header.version !== 2) throw new Error("not an asciicast v2 file");
  const events = lines.slice(1).map((l) => JSON.parse(l));
  return { header, events };
}

export function setupRecordings(getToken) {
  const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
  let term = null;
  let playing = 0;  // increments to cancel a running replay
  const hooks = {
    replayState: "idle",
    listRecordings,
    replay,
    replayText,
  };

  function setState(s) {
    hooks.replayState = s;
    const el = $("replay-state");
    if (el) el.textContent = s;
  }

  async function api(path) {
    const token = getToken();
    if (!token) throw new Error("log in first");
    const res = await fetch(path, { headers: { Authorization: `Bearer ${token}` }, credentials: "omit", cache: "no-store" });
    if (!res.ok) {
      let msg = `HTTP ${res.status}`;
      try { msg = (await res.json()).error.message || msg; } catch { /* not JSON */ }
      throw new Error(msg);
    }
    return res;
  }

  async function listRecordings() {
    const body = await (await api("/api/recordings")).json();
    const select = $("recording-select");
    if (select) {
      select.textContent = "";
      for (const r of body.recordings) {
        const opt = document.createElement("option");
        opt.value = r.session_id;
        const when = r.opened_at ? new Date(r.opened_at * 1000).toLocaleString() : "";
        opt.textContent = `${when} ${r.user} → ${r.device}/${r.target} (${r.bytes} bytes)`;
        select.append(opt);
      }
    }
    return body.recordings;
  }

  function ensureTerm(cols, rows) {
    if (!term) {
      term = new Terminal({ cols, rows, disableStdin: true, scrollback: 5000,
        fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace", fontSize: 13,
        theme: { background: "#000000" } });
      term.open($("replay"));
    } else {
      term.reset();
      term.resize(cols, rows);
    }
    return term;
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const written = (t, data) => new Promise((r) => t.write(data, r));

  async function replay(sessionId, { speed = 1 } = {}) {
    const run = ++playing;
    setState("loading");
    try {
      const { header, events } = parseCast(await (await api(`/api/recordings/${encodeURIComponent(sessionId)}`)).text());
      $("replay").hidden = false;
      const t = ensureTerm(header.width, header.height);
      setState("playing");
      let last = 0;
      for (const [time, code, data] of events) {
        if (run !== playing) return;  // another replay started
        if (speed > 0) {
          const pause = Math.min(time - last, MAX_PAUSE_S) / speed;
          if (pause > 0.005) await sleep(pause * 1000);
        }
        last = time;
        if (code === "o") await written(t, data);
        else if (code === "r") {
          const [c, r] = data.split("x").map(Number);
          if (c > 0 && r > 0) t.resize(c, r);
        }
      }
      setState("done");
    } catch (e) {
      setState("failed");
      throw e;
    }
  }

  function replayText() {
    if (!term) return "";
    const buf = term.buffer.active;
    const out = [];
    for (let i = 0; i < buf.length; i++) out.push(buf.getLine(i).translateToString(true));
    return out.join("\n").replace(/\n+$/, "");
  }

  async function download() {
    const sid = $("recording-select").value;
    if (!sid) return;
    const blob = await (await api(`/api/recordings/${encodeURIComponent(sid)}`)).blob();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${sid}.cast`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  const on = (id, fn) => { const el = $(id); if (el) el.addEventListener("click", () => fn().catch((e) => setState(`failed: ${e.message}`))); };
  on("recordings-refresh", listRecordings);
  on("recording-play", () => replay($("recording-select").value));
  on("recording-download", download);
  return hooks;
}
