// Recordings: list the session recordings this user may see (filtered by user,
// target and time), download one, and play one back in asciinema-player
// (seek, speed, idle time skipping). docs/protocol.md §7. The login token goes
// in the Authorization header, never in a URL: the page fetches the file and
// hands the player its text.
//
// Test hooks (added to window.porthole by main.js):
//   listRecordings({user, device, target, since, until}) → Promise<[{session_id, user, device,
//                    target, kind, mode, opened_at, bytes}]> (filters as the server's; the
//                    panel's filter fields when called without argument)
//   replay(sessionId, {speed, idleTimeLimit, autoPlay, startAt}) → Promise: resolves once the
//                    player has loaded the recording and stands at startAt (player seconds;
//                    autoPlay false: paused there)
//   replaySeek(seconds | "NN%") → Promise<seconds>: seeks and waits until the screen shows it
//   replayPlay(), replayPause() → Promise
//   replaySetSpeed(x), replaySetIdleLimit(seconds | null) → Promise: reload the player at
//                    the current time with that option
//   replayTime(), replayDuration() (seconds, on the player's clock: idle time skipped)
//   replayText()     the player's screen as text (rows joined with "\n", right-trimmed)
//   replayState      "idle" | "loading" | "ready" | "playing" | "paused" | "ended" | "failed"
//   replayOptions    {speed, idleTimeLimit} of the current player
// data-testid: recordings, recordings-refresh, recording-filter-user, recording-filter-target,
//   recording-filter-since, recording-filter-until, recording-list (rows data-session-id),
//   recording-play, recording-download (one per row), recording-speed, recording-idle,
//   replay, replay-state, replay-title.

import * as AsciinemaPlayer from "asciinema-player";

// Pauses longer than this are shortened to it, unless the user picks otherwise.
const DEFAULT_IDLE_LIMIT_S = 2;
const SPEEDS = [0.5, 1, 2, 4, 8];
const IDLE_LIMITS = [[0.5, "0.5 s"], [1, "1 s"], [2, "2 s"], [5, "5 s"], [0, "off"]];
const FONT = "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace";

export function parseCast(text) {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = JSON.parse(lines[0]);
  if (!header || header.version !== 2) throw new Error("not an asciicast v2 file");
  const times = [];
  for (const l of lines.slice(1)) {
    const t = JSON.parse(l)[0];
    if (typeof t === "number") times.push(t);
  }
  return { header, times };
}

// The player's clock skips idle time: every pause longer than `limit` lasts
// `limit` (asciinema's rule). Points [recorded s, player s] at each event, to
// keep the place when the limit changes.
export function clockPoints(times, limit) {
  const out = [[0, 0]];
  let prev = 0;
  let shift = 0;
  for (const t of times) {
    if (limit && t - prev > limit) shift += t - prev - limit;
    prev = t;
    out.push([t, t - shift]);
  }
  return out;
}

// Maps a time from one column of clockPoints to the other (0: recorded, 1: player), linearly between events.
export function mapTime(points, value, from) {
  const to = 1 - from;
  if (value <= 0) return 0;
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1], points[i]];
    if (value <= b[from]) {
      const span = b[from] - a[from];
      return span > 0 ? a[to] + ((value - a[from]) / span) * (b[to] - a[to]) : b[to];
    }
  }
  return points[points.length - 1][to];
}

const nextFrame = () => new Promise((r) => requestAnimationFrame(() => r()));

export function setupRecordings(getToken) {
  const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
  let player = null;
  let current = null;  // {sessionId, cast, header}
  let options = { speed: 1, idleTimeLimit: DEFAULT_IDLE_LIMIT_S };
  let generation = 0;  // increments when a player is replaced: late events of the old one are ignored
  const hooks = {
    replayState: "idle",
    get replayOptions() { return { ...options }; },
    listRecordings,
    replay,
    replaySeek,
    replayPlay: () => (player ? player.play() : Promise.resolve()),
    replayPause: () => (player ? player.pause() : Promise.resolve()),
    replaySetSpeed: (x) => reload({ speed: x }),
    replaySetIdleLimit: (s) => reload({ idleTimeLimit: s || null }),
    replayTime: () => (player ? player.getCurrentTime() : 0),
    replayDuration: () => (player ? player.getDuration() : undefined),
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

  // The filter fields as query values: dates are local days, the "to" day included.
  function formFilters() {
    const out = {};
    const user = $("recording-filter-user").value.trim();
    const target = $("recording-filter-target").value.trim();
    if (user) out.user = user;
    if (target) out.target = target;
    const since = $("recording-filter-since").valueAsDate;
    const until = $("recording-filter-until").valueAsDate;
    // valueAsDate is UTC midnight of the picked day; the user means their own day.
    // The server takes unix seconds >= 0: a day before 1970 counts from 1970.
    const local = (d) => Math.max(0, new Date(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()).getTime() / 1000);
    if (since) out.since = local(since);
    if (until) out.until = local(until) + 86400 - 0.001;
    return out;
  }

  async function listRecordings(filters) {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(filters || formFilters())) {
      if (v !== undefined && v !== null && v !== "") query.set(k, String(v));
    }
    const qs = query.toString();
    const body = await (await api(`/api/recordings${qs ? `?${qs}` : ""}`)).json();
    renderList(body.recordings);
    return body.recordings;
  }

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function button(testid, text, fn) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.testid = testid;
    b.textContent = text;
    b.addEventListener("click", () => fn().catch((e) => setState(`failed: ${e.message}`)));
    return b;
  }

  function renderList(recordings) {
    const body = $("recording-list").tBodies[0];
    body.textContent = "";
    for (const r of recordings) {
      const tr = document.createElement("tr");
      tr.dataset.sessionId = r.session_id;
      const when = r.opened_at ? new Date(r.opened_at * 1000).toLocaleString() : "";
      const actions = document.createElement("td");
      actions.append(button("recording-play", "Play", () => replay(r.session_id)),
        button("recording-download", "Download", () => download(r.session_id)));
      tr.append(cell(when), cell(r.user || ""), cell(r.device || ""), cell(r.target || ""),
        cell(r.kind || ""), cell(`${Math.ceil((r.bytes || 0) / 1024)} KiB`, "num"), actions);
      body.append(tr);
    }
    if (!recordings.length) {
      const tr = document.createElement("tr");
      const td = cell("No recordings match.", "muted");
      td.colSpan = 7;
      tr.append(td);
      body.append(tr);
    }
  }

  // A new player for the current recording, paused at `at` seconds (player clock); resolves once loaded.
  async function mount(at, autoPlay) {
    if (player) player.dispose();
    const gen = ++generation;
    const el = $("replay");
    $("recordings").open = true;
    el.hidden = false;
    el.textContent = "";
    setState("loading");
    const { cast, header } = current;
    player = AsciinemaPlayer.create({ data: cast }, el, {
      cols: header.width,
      rows: header.height,
      speed: options.speed,
      idleTimeLimit: options.idleTimeLimit || undefined,
      autoPlay: false,
      preload: true,
      controls: true,
      fit: "width",
      terminalFontFamily: FONT,
    });
    const mine = (fn) => function handler(...args) { if (gen === generation) fn(...args); };
    player.addEventListener("play", mine(() => setState("playing")));
    player.addEventListener("playing", mine(() => setState("playing")));
    player.addEventListener("pause", mine(() => setState("paused")));
    player.addEventListener("ended", mine(() => setState("ended")));
    await new Promise((resolve, reject) => {
      // "ready" and "error" are the core's events (not in the typings, but dispatched to listeners).
      player.addEventListener("ready", mine(resolve));
      player.addEventListener("error", mine(() => reject(new Error("the player could not load the recording"))));
    });
    if (gen !== generation) return;
    if (at > 0) await replaySeek(at);
    if (gen !== generation) return;
    setState("ready");
    if (autoPlay) await player.play();
  }

  async function replay(sessionId, opts = {}) {
    setState("loading");
    try {
      const cast = await (await api(`/api/recordings/${encodeURIComponent(sessionId)}`)).text();
      current = { sessionId, cast, ...parseCast(cast) };
      options = {
        speed: opts.speed || options.speed,
        idleTimeLimit: opts.idleTimeLimit !== undefined ? opts.idleTimeLimit : options.idleTimeLimit,
      };
      syncControls();
      $("replay-title").textContent = sessionId;
      await mount(opts.startAt || 0, opts.autoPlay !== false);
    } catch (e) {
      setState("failed");
      throw e;
    }
  }

  // Speed and idle limit are fixed per player: a change reloads it at the same
  // place of the recording (on the new clock when the idle limit changed).
  async function reload(patch) {
    const before = options;
    options = { ...options, ...patch };
    syncControls();
    if (!current || !player) return;
    const wasPlaying = hooks.replayState === "playing";
    const recorded = mapTime(clockPoints(current.times, before.idleTimeLimit), player.getCurrentTime() || 0, 1);
    await mount(mapTime(clockPoints(current.times, options.idleTimeLimit), recorded, 0), wasPlaying);
  }

  async function replaySeek(where) {
    if (!player) throw new Error("no recording loaded");
    await player.seek(where);
    // The screen is drawn on the next animation frames.
    await nextFrame();
    await nextFrame();
    return player.getCurrentTime();
  }

  function replayText() {
    const text = $("replay").querySelector(".ap-term-text");
    if (!text) return "";
    const rows = [...text.querySelectorAll(".ap-line")].map((l) => l.textContent.replace(/\u00a0/g, " ").replace(/\s+$/, ""));
    while (rows.length && rows[rows.length - 1] === "") rows.pop();
    return rows.join("\n");
  }

  async function download(sid) {
    const blob = await (await api(`/api/recordings/${encodeURIComponent(sid)}`)).blob();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${sid}.cast`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  function syncControls() {
    $("recording-speed").value = String(options.speed);
    $("recording-idle").value = String(options.idleTimeLimit || 0);
  }

  function fillSelect(sel, entries) {
    for (const [value, label] of entries) {
      const o = document.createElement("option");
      o.value = String(value);
      o.textContent = label;
      sel.append(o);
    }
  }

  fillSelect($("recording-speed"), SPEEDS.map((x) => [x, `${x}\u00d7`]));
  fillSelect($("recording-idle"), IDLE_LIMITS);
  syncControls();
  const failed = (e) => setState(`failed: ${e.message}`);
  $("recording-speed").addEventListener("change", (ev) => reload({ speed: Number(ev.target.value) }).catch(failed));
  $("recording-idle").addEventListener("change", (ev) => reload({ idleTimeLimit: Number(ev.target.value) || null }).catch(failed));
  $("recordings-refresh").addEventListener("click", () => listRecordings().catch(failed));
  $("recording-filters").addEventListener("submit", (ev) => { ev.preventDefault(); listRecordings().catch(failed); });
  return hooks;
}
