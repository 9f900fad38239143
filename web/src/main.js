// Porthole browser page: log in, pick a device and a target, open a terminal
// over WebRTC. Protocol: docs/protocol.md. Bundled by web/build.mjs into
// python/src/porthole/server/static/app.js (index.html there loads it).
//
// Test hooks (stable; Playwright tests rely on them)
// ---------------------------------------------------
// window.porthole:
//   state            live object: {login: "logged_out"|"logged_in", user,
//                    socket: "disconnected"|"connecting"|"connected",
//                    session: "idle"|"opening"|"connecting"|"open"|"exited"|"closed"|"failed"|"resuming",
//                    sessionId, ice (RTCIceConnectionState), pc (RTCPeerConnectionState),
//                    channel: "none"|"connecting"|"open"|"closed", binary (bool),
//                    signaling: "connected"|"reconnecting" (a live session whose socket is
//                    away: the page re-announces it when back), iceRestarts (count),
//                    localCandidateType, remoteCandidateType, relayProtocol ("udp"|"tcp"|"tls"
//                    when this side is relayed, else null), rttMs, bytesReceived,
//                    slowHint: null, or why a session still connecting 8 s after its offer
//                    is slow, in words (also shown: data-testid slow-hint),
//                    warning: null or {reason, endsInS, extendable, extendError} while the
//                    device warns of a coming policy end (session:warning),
//                    loginRestored: true when this load took the tab's saved login
//                    (sessionStorage, LOGIN_KEY) instead of the form,
//                    duplicateTab: true when this tab is a copy of a live one (tabclaim.js)}
//   extend()         → Promise<bool>: "Stay connected" (session:extend); false when refused
//   lastError        error code of the last failure (docs/protocol.md §6, plus
//                    "network", "server_gone", "channel_closed", "ended"), or null
//   lastErrorMessage the human message shown for it
//   devices          the last devices:list result
//   diagnosis        why the last session could not connect (web/src/diagnose.js): {hint,
//                    local, remote (candidate counts by type), pairs, turnErrors, hasTurn, policy}
//   pc, dc           the current RTCPeerConnection and `terminal` RTCDataChannel
//   socket           the socket.io-client Socket on /client
//   term             the xterm.js Terminal
//   terminalText()   the terminal buffer as text (lines joined with "\n", right-trimmed)
//   login(user, password) → Promise, open(deviceId, targetId, {binary}) → Promise,
//   close(), type(text) (as if typed), paste(text) (as if pasted: xterm.js turns "\n" into
//   "\r" and brackets it in bracketed paste mode; session.js splits it into messages of at
//   most 32 KiB, sent in order with backpressure), inputBacklog (characters not yet sent),
//   refreshDevices() → Promise, restartIce() → Promise
//                    (an ICE restart of the live session now, as a network change makes one)
//   resumable        detached sessions this page may take back (docs/protocol.md §2e): the
//                    terminals this user had open in this browser that did not end, as
//                    [{session_id, device_id, target_id, binary}]; after a reload the tab's
//                    login (sessionStorage) is used again without the form, and its own
//                    terminal (sessionStorage) is resumed by itself as soon as the socket is
//                    connected (state.autoResume: its old session id; state.resumes 1 when
//                    done), the others are offered (data-testid resume-offers, one
//                    resume-offer button each)
//   resume(sessionId) → Promise<newId>: resume one (as its button does); a terminal whose
//                    connection is lost without an end is resumed by itself (state.session
//                    "resuming", then "open"; state.resumes counts them)
//   waitState(key, value, timeoutMs=15000) → Promise: resolves when state[key] === value
//   waitText(substring, timeoutMs=15000) → Promise: resolves when terminalText() has it
//   video            the <video> of a screen session (data-testid screen)
//   files            the live terminal's file transfer (files.js, docs/protocol.md §5d):
//                    upload(file, dir) and download(path) → Promise<{ok, status, code, path,
//                    sha256, blob}>, cancel(), view; state.files = {ready, upload, download,
//                    maxBytes, dirs, cwd, transfer: {direction, name, size, done, status, code}}
//   Screen sessions (a target of kind "screen"; open() picks the kind from
//   the target) add to state: videoWidth, videoHeight, fps, kbps, freezes,
//   framesDecoded (from getStats' inbound-rtp), inputErrors, lastInputError, and of
//   the clipboard (interactive grants, screenclip.js): clipboardSent and
//   clipboardReceived (bytes of the last text each way), clipboardCopied (true: the
//   last remote copy is in the browser's clipboard; false: it waits in the clip
//   panel), lastClipboardError.
//   (The CSP has no 'unsafe-eval', so Playwright's string predicates in
//   wait_for_function fail on this page; await these from page.evaluate instead,
//   or use a context with bypass_csp=True.)
// data-testid: login, login-form, login-username, login-password, login-submit,
//   login-error, login-note, console, whoami, socket-state (data-state), logout,
//   error-banner (data-code), error-message, error-dismiss, device-select
//   (option values = device ids, data-online), target-select (option values =
//   target ids, data-kind), host-warning, binary-mode, open-terminal,
//   close-terminal, status, session-state, ice-state, candidate-pair, rtt, slow-hint, terminal,
//   session-warning (data-reason), session-warning-message, session-extend,
//   clip-panel, clip-text, clip-bytes, clip-copy, clip-dismiss (a remote copy
//   the browser would not take without a click), files (the file transfer bar, shown when
//   the grant allows a direction), files-upload, files-path, files-download,
//   files-dirs ("allowed folders: ~, /tmp": the grant's folders from the device's `ready`),
//   files-progress, files-status, files-cancel; the share panel's (web/src/share.js).
// porthole.share: invite(user or "") → Promise<token or link>, control(viewerSessionId or null),
//   askControl(), revoke(), joinInvite({session_id, device_id, target_id, token}); state.share.

import "@xterm/xterm/css/xterm.css";
import "asciinema-player/dist/bundle/asciinema-player.css";
import "./style.css";
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { io } from "socket.io-client";
import { describe } from "./messages.js";
import { SessionError, TerminalSession, request } from "./session.js";
import { ScreenSession } from "./screen.js";
import { setupRecordings } from "./recordings.js";
import { setupWarning } from "./warning.js";
import { setupShare } from "./share.js";
import { setupFiles } from "./filesui.js";
import { claimTab } from "./tabclaim.js";

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

const state = {
  login: "logged_out", user: null, socket: "disconnected", session: "idle", sessionId: null,
  ice: null, pc: null, channel: "none", binary: false, signaling: "connected", iceRestarts: 0,
  localCandidateType: null, remoteCandidateType: null, relayProtocol: null, rttMs: null, bytesReceived: 0,
  warning: null,
};

let token = null;  // and in this tab's sessionStorage (LOGIN_KEY); never in a URL, a cookie or localStorage
let tokenTimer = null;
let loginEpoch = 0;  // counts logouts: work started before one stops
let socket = null;
let everConnected = false;  // this socket was connected once: "connecting" now means reconnecting
let term = null;
let fit = null;
let session = null;
let lastSession = null;  // kept after it ends, for porthole.diagnosis
let devices = [];

const hooks = {
  state,
  lastError: null,
  lastErrorMessage: null,
  get devices() { return devices; },
  // Why the current (or last) session could not connect: web/src/diagnose.js.
  get diagnosis() { return lastSession && lastSession.diagnosis ? lastSession.diagnosis.toJSON() : null; },
  get pc() { return session ? session.pc : null; },
  get dc() { return session ? session.dc : null; },
  get socket() { return socket; },
  get term() { return term; },
  get video() { return $("screen"); },
  // The live terminal's file transfer (files.js): upload(file, dir), download(path), cancel(), view.
  get files() { return session && session.files ? session.files : null; },
  terminalText,
  login: (user, password) => login(user, password),
  open: (deviceId, targetId, opts = {}) => openTerminal(deviceId, targetId, opts),
  close: () => closeTerminal(),
  type: (text) => { if (session) session.input(text); },
  // As if pasted (xterm.js brackets it when the app enabled bracketed paste mode).
  paste: (text) => { if (term) term.paste(text); },
  // Characters of input not yet handed to the data channel (a paste being sent).
  get inputBacklog() { return session && session.inputBacklog ? session.inputBacklog : 0; },
  refreshDevices: () => refreshDevices(),
  extend: () => warning.extend(),
  // An ICE restart now (as on a network change); resolves when the restart offer was sent.
  restartIce: () => (session && !session.ended ? session.restartIce(true) : Promise.resolve()),
  get resumable() { return resumableList(); },
  resume: (sessionId) => resumeSession(sessionId),
  waitState: (key, value, timeoutMs) => waitUntil(() => state[key] === value, timeoutMs, `state.${key} === ${value}`),
  waitText: (text, timeoutMs) => waitUntil(() => terminalText().includes(text), timeoutMs, `terminal text ${text}`),
};
window.porthole = hooks;
// Shared sessions (share.js): invite, who is in, who has control, hand it over, join.
const share = setupShare({
  $, state,
  getSocket: () => socket,
  getSession: () => (session instanceof TerminalSession ? session : null),
  // A link opened at login joins before the device list came: the list says the target's kind
  // (a terminal, or a screen: openTerminal opens the screen view for it).
  join: async (deviceId, targetId, join) => {
    if (!targetKind(deviceId, targetId)) await refreshDevices();
    return openTerminal(deviceId, targetId, { join });
  },
});
hooks.share = share;
// File transfer on the terminal's `files` channel (filesui.js): the files bar, drop on the terminal.
const filesUi = setupFiles({ $, state, current: () => session, describe });
// The coming policy end of the session (warning.js): a bar, a countdown, "Stay connected".
const warning = setupWarning({
  $, state,
  extendRequest: () => {
    if (!socket || !session || !session.id) return Promise.reject(new SessionError("session_not_found", "No session."));
    return request(socket, "session:extend", { session_id: session.id });
  },
});
// Recordings panel (recordings.js): list, download, play back; its hooks join these.
const recordings = setupRecordings(() => token);
for (const k of ["listRecordings", "replay", "replaySeek", "replayPlay", "replayPause", "replaySetSpeed",
  "replaySetIdleLimit", "replayTime", "replayDuration", "replayText"]) hooks[k] = recordings[k];
Object.defineProperty(hooks, "replayState", { get: () => recordings.replayState });
Object.defineProperty(hooks, "replayOptions", { get: () => recordings.replayOptions });

// Polls for the test hooks above; rejects with the current state on timeout.
const WAIT_POLL_MS = 50;
function waitUntil(predicate, timeoutMs = 15000, what = "condition") {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const tick = () => {
      if (predicate()) return resolve(true);
      if (Date.now() > deadline) {
        return reject(new Error(`timed out waiting for ${what}; state=${JSON.stringify(state)} lastError=${hooks.lastError}`));
      }
      return setTimeout(tick, WAIT_POLL_MS);
    };
    tick();
  });
}

// ---- messages --------------------------------------------------------------

function showError(code, detail) {
  const message = describe(code, detail);
  hooks.lastError = code;
  hooks.lastErrorMessage = message;
  const banner = $("error-banner");
  banner.dataset.code = code;
  banner.dataset.kind = "error";
  $("error-message").textContent = detail && detail !== message && code !== "unauthenticated"
    ? `${message} (${detail})` : message;
  banner.hidden = false;
}

function showInfo(message) {
  const banner = $("error-banner");
  banner.dataset.code = "";
  banner.dataset.kind = "info";
  $("error-message").textContent = message;
  banner.hidden = false;
}

function clearBanner() {
  $("error-banner").hidden = true;
}

// ---- login -----------------------------------------------------------------

async function login(username, password) {
  $("login-error").hidden = true;
  let res;
  try {
    res = await fetch("/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    return loginFailed("network");
  }
  let body = {};
  try { body = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) {
    const code = res.status === 401 ? "login_failed" : (body.error && body.error.code) || "internal";
    return loginFailed(code, body.error && body.error.message);
  }
  const sameUser = state.user === body.user;
  const saved = { token: body.token, user: body.user, org: body.org, expiresAt: Date.now() + body.expires_in * 1000 };
  loggedIn(saved);
  saveLogin(saved);
  clearBanner();
  if (socket && socket.connected && sameUser) {
    // Keep the socket (and any open terminal): just extend its authority.
    try {
      await request(socket, "auth:refresh", { token });
      return refreshDevices();
    } catch { /* fall through to a new socket */ }
  }
  connectSocket();
  return undefined;
}

// The console for a login (from the form, or this tab's saved one after a reload).
function loggedIn(l) {
  token = l.token;
  state.login = "logged_in";
  state.user = l.user;
  clearTimeout(tokenTimer);
  tokenTimer = setTimeout(tokenExpired, Math.max(5000, l.expiresAt - Date.now() - TOKEN_MARGIN_MS));
  $("login-password").value = "";
  $("login").hidden = true;
  $("login-note").hidden = true;
  $("console").hidden = false;
  $("whoami").textContent = `${l.user} (${l.org})`;
  $("whoami").hidden = false;
  $("logout").hidden = false;
  ensureTerminal();
}

// This tab's login survives a reload of the tab (docs/security.md, "The page's login"):
// sessionStorage is per tab and gone with it, so a new tab starts logged out. Never
// localStorage (shared by every tab, kept on disk after the browser closes), a cookie (sent
// by the browser by itself: CSRF) or a URL (history, logs, Referer).
const LOGIN_KEY = "porthole.login";
const TOKEN_MARGIN_MS = 5000;  // a token this close to its end counts as expired

function saveLogin(l) {
  try { sessionStorage.setItem(LOGIN_KEY, JSON.stringify(l)); } catch { /* storage off: memory only */ }
}

function clearLogin() {
  try { sessionStorage.removeItem(LOGIN_KEY); } catch { /* storage off */ }
}

// The saved login, if any: {token, user, org, expiresAt}, or {expired: user} when its time is up.
function savedLogin() {
  let l = null;
  try { l = JSON.parse(sessionStorage.getItem(LOGIN_KEY) || "null"); } catch { /* corrupt: ignored */ }
  if (!l || typeof l.token !== "string" || typeof l.user !== "string" || typeof l.org !== "string"
    || typeof l.expiresAt !== "number") {
    if (l) clearLogin();
    return null;
  }
  if (l.expiresAt - TOKEN_MARGIN_MS <= Date.now()) {
    clearLogin();
    return { expired: l.user };
  }
  return l;
}

// At load: use this tab's saved login at once (connect with it); the server has the last word
// (connect_error "unauthenticated": loginRefused).
function restoreLogin() {
  const l = savedLogin();
  if (!l) return;
  if (l.expired) {
    $("login-username").value = l.expired;
    showLoginNote("Your login expired. Log in again.");
    return;
  }
  state.loginRestored = true;
  loggedIn(l);
  connectSocket();
}

// The server refused this tab's saved login at connect (expired, revoked, or signed with a key
// the server no longer has): back to the login form, with why.
function loginRefused() {
  const user = state.user;
  clearLogin();
  clearTimeout(tokenTimer);
  token = null;
  state.login = "logged_out";
  state.user = null;
  state.loginRestored = false;
  $("console").hidden = true;
  $("whoami").hidden = true;
  $("logout").hidden = true;
  $("login-username").value = user || "";
  showLoginNote("This tab's login is no longer accepted by the server (it expired, was revoked, or the server "
    + "changed its key). Log in again.");
}

function showLoginNote(text) {
  $("login-note").textContent = text;
  $("login-note").hidden = false;
  $("login").hidden = false;
  hooks.lastError = "unauthenticated";
  hooks.lastErrorMessage = text;
}

function loginFailed(code, detail) {
  const message = code === "login_failed" ? "Wrong user name or password." : describe(code, detail);
  hooks.lastError = code;
  hooks.lastErrorMessage = message;
  $("login-error").textContent = message;
  $("login-error").hidden = false;
}

function tokenExpired(note) {
  token = null;
  clearLogin();
  clearTimeout(tokenTimer);
  state.login = "logged_out";
  showLoginNote(note || "Your login expired. Log in again to open new sessions (an open terminal keeps running).");
}

function logout() {
  loginEpoch++;
  closeTerminal();
  clearTimeout(tokenTimer);
  clearLogin();
  setTabSession(null);
  token = null;
  if (socket) socket.disconnect();
  socket = null;
  state.login = "logged_out";
  state.user = null;
  $("console").hidden = true;
  $("login").hidden = false;
  $("whoami").hidden = true;
  $("logout").hidden = true;
  setSocketState("disconnected");
}

// ---- socket ----------------------------------------------------------------

function setSocketState(s) {
  state.socket = s;
  const pill = $("socket-state");
  // "connecting" after a connection was lost reads "reconnecting": the page is on its way back.
  // With a live session it reads "signaling reconnecting" until the server routes the session
  // again: the terminal keeps working meanwhile (docs/protocol.md §2c).
  const live = session && !session.ended && session.state.signaling === "reconnecting";
  state.signaling = live ? "reconnecting" : "connected";
  if (live) pill.textContent = "signaling reconnecting";
  else pill.textContent = s === "connecting" && everConnected ? "reconnecting" : s;
  pill.dataset.state = s;
}

// Socket.IO reconnects with a capped, jittered backoff (socket.io-client's
// Manager): 1 s doubling to 10 s, ±50 %. Named here so docs/protocol.md can cite it.
const RECONNECT = { reconnectionDelay: 1000, reconnectionDelayMax: 10000, randomizationFactor: 0.5 };

function connectSocket() {
  if (socket) socket.disconnect();
  setSocketState("connecting");
  // Same origin; the token goes in the auth payload, never in the URL. On a
  // reconnect the callback hands over the newest token.
  everConnected = false;
  socket = io("/client", { auth: (cb) => cb({ token }), transports: ["websocket", "polling"], ...RECONNECT });
  share.wire(socket);
  socket.on("connect", () => {
    everConnected = true;
    setSocketState("connected");
    share.onConnected();
    // The tab's own terminal first (its requests go out before devices:list: it needs nothing
    // from the list), then the list.
    resumeOwnTerminal();
    refreshDevices();
    renderResumeOffers();
    if (session && !session.ended && session.state.signaling === "reconnecting") {
      session.signalingBack().then(() => setSocketState(state.socket));
    }
  });
  socket.on("connect_error", (err) => {
    const code = err && err.data && err.data.code;
    if (code === "unauthenticated") {
      // Once, no retry loop: a refused token stays refused.
      socket.disconnect();
      setSocketState("disconnected");
      if (state.loginRestored && !everConnected) loginRefused();
      else tokenExpired("Your login expired or is no longer valid. Log in again.");
    } else {
      setSocketState("connecting");
    }
  });
  socket.on("disconnect", (reason) => {
    // A server that stops gracefully (a deploy, a restart) ends the socket with
    // "io server disconnect", after which socket.io-client does not come back by
    // itself. Ask it to: the Manager then retries with the backoff above until
    // the server answers again (a revoked login comes back as connect_error
    // "unauthenticated", handled above).
    if (reason === "io server disconnect" && token && socket) socket.connect();
    setSocketState(socket && socket.active ? "connecting" : "disconnected");
    // A session whose peer connection is up lives on without the server (its bytes go peer
    // to peer): it is re-announced when the socket is back. One still being set up ends.
    if (session && !session.ended && !session.signalingLost()) session.finish("server_gone", null, false);
    setSocketState(state.socket);
  });
  socket.on("devices:changed", () => refreshDevices());
  socket.on("session:warning", (data) => {
    if (session && !session.ended && data && data.session_id === session.id) warning.show(data);
  });
  for (const ev of ["webrtc:answer", "webrtc:ice", "webrtc:error", "webrtc:disconnect"]) {
    socket.on(ev, (data) => {
      if (session && data && data.session_id === session.id) session.signal(ev, data);
    });
  }
}

async function refreshDevices() {
  if (!socket || !socket.connected) return;
  try {
    const ack = await request(socket, "devices:list");
    devices = ack.devices;
    renderDevices();
  } catch (e) {
    if (e.code === "unauthenticated") tokenExpired();
    else showError(e.code, e.message);
  }
}

// ---- picker ----------------------------------------------------------------

function option(value, text, data) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = text;
  for (const [k, v] of Object.entries(data || {})) o.dataset[k] = v;
  return o;
}

function renderDevices() {
  const sel = $("device-select");
  const keep = sel.value;
  sel.replaceChildren(...devices.map((d) =>
    option(d.id, `${d.name}${d.name !== d.id ? ` [${d.id}]` : ""} \u2014 ${d.online ? "online" : "offline"}`,
      { online: String(d.online) })));
  if (devices.some((d) => d.id === keep)) sel.value = keep;
  else {
    const firstOnline = devices.find((d) => d.online);
    if (firstOnline) sel.value = firstOnline.id;
  }
  renderTargets();
}

function renderTargets() {
  const dev = devices.find((d) => d.id === $("device-select").value);
  const sel = $("target-select");
  const keep = sel.value;
  const targets = dev ? dev.targets : [];
  sel.replaceChildren(...targets.map((t) => {
    const label = t.label || t.name || t.id;
    const state = t.state ? ` \u00b7 ${t.state}` : "";
    const text = t.kind === "host" ? `\u26a0 HOST \u2014 ${label}` : `${label}${state}`;
    return option(t.id, text, { kind: t.kind });
  }));
  if (!targets.length) sel.append(option("", dev && !dev.online ? "(device offline)" : "(no targets)"));
  if (targets.some((t) => t.id === keep)) sel.value = keep;
  updateHostWarning();
}

function updateHostWarning() {
  const opt = $("target-select").selectedOptions[0];
  $("host-warning").hidden = !(opt && opt.dataset.kind === "host");
  $("open-terminal").textContent = opt && opt.dataset.kind === "screen" ? "Open screen" : "Open terminal";
}

// ---- terminal --------------------------------------------------------------

function ensureTerminal() {
  if (term) return;
  term = new Terminal({
    cursorBlink: true,
    fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
    fontSize: 14,
    scrollback: 5000,
    theme: { background: "#000000" },
  });
  fit = new FitAddon();
  term.loadAddon(fit);
  term.open($("terminal"));
  term.onData((data) => { if (session) session.input(data); });
  term.onResize(({ cols, rows }) => { if (session) session.resize(cols, rows); });
  let pending = false;
  const refit = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      if (!$("console").hidden) fit.fit();
    });
  };
  new ResizeObserver(refit).observe($("terminal"));
  window.addEventListener("resize", refit);
  refit();
}

function terminalText() {
  if (!term) return "";
  const buf = term.buffer.active;
  const lines = [];
  for (let i = 0; i < buf.length; i++) {
    const line = buf.getLine(i);
    lines.push(line ? line.translateToString(true) : "");
  }
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines.join("\n");
}

function renderSessionState(s) {
  if (["closed", "failed", "idle", "opening"].includes(s.session) && state.warning) warning.hide();
  if (s.signaling !== state.signaling) setSocketState(state.socket);
  state.iceRestarts = s.iceRestarts;
  Object.assign(state, {
    session: s.session, ice: s.ice, pc: s.pc, channel: s.channel,
    localCandidateType: s.localCandidateType, remoteCandidateType: s.remoteCandidateType,
    relayProtocol: s.relayProtocol,
    rttMs: s.rttMs, bytesReceived: s.bytesReceived, slowHint: s.slowHint || null,
  });
  const slow = ["connecting", "opening"].includes(s.session) ? s.slowHint : null;
  $("slow-hint").textContent = slow || "";
  $("slow-hint").hidden = !slow;
  if (s.videoWidth !== undefined) {
    Object.assign(state, {
      videoWidth: s.videoWidth, videoHeight: s.videoHeight, fps: s.fps, kbps: s.kbps,
      freezes: s.freezes, framesDecoded: s.framesDecoded, inputErrors: s.inputErrors, lastInputError: s.lastInputError,
      clipboardSent: s.clipboardSent, clipboardReceived: s.clipboardReceived, clipboardCopied: s.clipboardCopied,
      lastClipboardError: s.lastClipboardError,
    });
    $("video-size").textContent = s.videoWidth ? `${s.videoWidth}\u00d7${s.videoHeight}` : "\u2013";
    $("video-fps").textContent = String(s.fps);
    $("video-kbps").textContent = String(s.kbps);
    $("video-freezes").textContent = String(s.freezes);
  }
  $("session-state").textContent = s.session;
  $("ice-state").textContent = s.ice || "\u2013";
  const relay = s.relayProtocol ? ` (${s.relayProtocol})` : "";
  $("candidate-pair").textContent = s.localCandidateType
    ? `${s.localCandidateType}${relay} \u2192 ${s.remoteCandidateType}` : "\u2013";
  $("candidate-pair").title = s.localAddress ? `${s.localAddress} \u2192 ${s.remoteAddress}` : "";
  $("rtt").textContent = s.rttMs === null || s.rttMs === undefined ? "\u2013" : `${s.rttMs} ms`;
  const busy = ["opening", "connecting", "open", "exited", "resuming"].includes(s.session);
  $("open-terminal").disabled = busy;
  $("close-terminal").disabled = !busy;
  share.render();
}

async function openTerminal(deviceId, targetId, opts = {}) {
  if (session && !session.ended) session.close();
  deviceId = deviceId || $("device-select").value;
  targetId = targetId || $("target-select").value;
  const binary = opts.binary !== undefined ? !!opts.binary : $("binary-mode").checked;
  clearBanner();
  hooks.lastError = null;
  hooks.lastErrorMessage = null;
  if (!socket || !socket.connected) return showError("network", "Not connected to the server.");
  if (!targetId) return showError("target_not_found");
  if (targetKind(deviceId, targetId) === "screen") return openScreen(deviceId, targetId, opts.join || null);
  showScreen(false);
  ensureTerminal();
  fit.fit();
  if (!opts.keepScreen) term.reset();
  state.binary = binary;
  const s = new TerminalSession({
    socket, term, deviceId, targetId, binary, cols: term.cols, rows: term.rows, resume: opts.resume || null,
    join: opts.join || null,
    onChange: (st) => { if (session === s) renderSessionState(st); },
    // Lost without an end: the device keeps the shell detached; take it back (§2e).
    onLost: (lost) => { if (session === lost) resumeSession(lost.id, lost); },
    makeFiles: filesUi.makeFiles,
    onEnd: (code, message, { fatal }) => {
      if (fatal && s.id) forget(s.id);
      if (fatal && session === s) filesUi.hide();
      if (session !== s && fatal) return;
      if (code === "unauthenticated") tokenExpired();
      else if (code) showError(code, message);
      else if (message) showInfo(message);
    },
  });
  session = s;
  lastSession = s;
  try {
    await s.open();
    state.sessionId = s.id;
    if (!s.ended) share.onSessionOpened(s, opts.join || null);
    if (!s.ended && !opts.join) remember(s);
    renderResumeOffers();
    term.focus();
  } catch (e) {
    const err = e instanceof SessionError ? e : new SessionError("internal", e.message);
    s.finish(err.code, err.message, false);
  }
  state.sessionId = s.id;
  return s.id;
}

// ---- resume (docs/protocol.md §2e) -------------------------------------------

// The terminals of this user in this browser that did not end (localStorage, per user): after a
// reload (or a lost connection) the device may keep their shells detached for a while.
const RESUMABLE_KEY = "porthole.resumable";
const RESUME_RETRY_MS = 2000;
const RESUME_TRIES = 30;

function resumableAll() {
  try { return JSON.parse(localStorage.getItem(RESUMABLE_KEY) || "{}") || {}; } catch { return {}; }
}

function resumableList() {
  const all = resumableAll();
  return state.user && Array.isArray(all[state.user]) ? all[state.user] : [];
}

function saveResumable(list) {
  if (!state.user) return;
  const all = resumableAll();
  all[state.user] = list.slice(-8);
  try { localStorage.setItem(RESUMABLE_KEY, JSON.stringify(all)); } catch { /* storage full or off */ }
}

// The terminal this tab has open (sessionStorage: it survives a reload of the tab, and a new tab
// starts without it, so a tab never takes another tab's live terminal by itself).
const TAB_KEY = "porthole.tabSession";
let ownResumeTried = false;

function tabSession() {
  try { return JSON.parse(sessionStorage.getItem(TAB_KEY) || "null"); } catch { return null; }
}

function setTabSession(entry) {
  try {
    if (entry) sessionStorage.setItem(TAB_KEY, JSON.stringify({ user: state.user, ...entry }));
    else sessionStorage.removeItem(TAB_KEY);
  } catch { /* storage off */ }
}

function remember(s) {
  if (!s.id) return;
  const entry = { session_id: s.id, device_id: s.deviceId, target_id: s.targetId, binary: !!s.binary };
  saveResumable([...resumableList().filter((e) => e.session_id !== s.id), entry]);
  setTabSession(entry);
}

function forget(id) {
  saveResumable(resumableList().filter((e) => e.session_id !== id));
  const own = tabSession();
  if (own && own.session_id === id) setTabSession(null);
  renderResumeOffers();
}

// Is this tab a copy of another (Chrome's "Duplicate tab" copies sessionStorage)? A copy
// keeps the login it was given but not the other tab's terminal: it forgets the copied
// TAB_KEY entry (that terminal stays a "Resume" offer) and has an id of its own (tabclaim.js).
let tabClaimed = false;
const tabClaim = claimTab().then((c) => {
  if (c.duplicate) {
    const copied = tabSession();
    setTabSession(null);
    state.duplicateTab = true;
    if (copied) showInfo("This tab is a copy of another tab: it kept the login; the other tab's terminal stays there.");
  }
  tabClaimed = true;
  return c;
}, () => { tabClaimed = true; });

// After a reload, once the socket is connected: the tab takes its own terminal back by itself
// (as its "Resume" button would; nothing waits for the device list); the other remembered ones
// stay offers.
function resumeOwnTerminal() {
  if (!tabClaimed) {
    tabClaim.then(() => { if (socket && socket.connected) resumeOwnTerminal(); });
    return;
  }
  const own = tabSession();
  if (ownResumeTried || !own || own.user !== state.user || (session && !session.ended)) return;
  ownResumeTried = true;
  state.autoResume = own.session_id;
  resumeSession(own.session_id, null, own);
  renderResumeOffers();
}

// After a reload: one "Resume" button per remembered terminal, above the terminal.
function renderResumeOffers() {
  let box = $("resume-offers");
  if (!box) {
    box = document.createElement("div");
    box.id = "resume-offers";
    box.dataset.testid = "resume-offers";
    $("terminal").before(box);
  }
  box.replaceChildren();
  const live = session && !session.ended ? session.id : null;
  for (const e of resumableList()) {
    if (e.session_id === live || e.session_id === state.autoResume) continue;
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.testid = "resume-offer";
    b.dataset.sessionId = e.session_id;
    b.textContent = `Resume ${e.target_id} on ${e.device_id}`;
    b.addEventListener("click", () => resumeSession(e.session_id));
    box.append(b);
  }
  box.hidden = box.childElementCount === 0;
}

// Takes back the detached shell of sessionId: bind the old session to this socket, get a
// resume token, open a new session with it. Retries while the device has not detached it yet.
async function resumeSession(sessionId, old = null, known = null) {
  const entry = resumableList().find((e) => e.session_id === sessionId) || known
    || (old && { session_id: sessionId, device_id: old.deviceId, target_id: old.targetId, binary: old.binary });
  if (!entry) return showError("resume_not_found");
  const epoch = loginEpoch;
  for (let i = 0; i < RESUME_TRIES; i++) {
    if (epoch !== loginEpoch) return null;  // logged out meanwhile
    // The tab's own terminal after a reload: a terminal opened meanwhile wins.
    if (known && session && !session.ended) return null;
    if (!socket || !socket.connected) {
      await new Promise((r) => setTimeout(r, RESUME_RETRY_MS));
      continue;
    }
    let code;
    try {
      // Both at once (one round trip): the server handles a socket's events in order, so the
      // token is asked for once the session is bound to this socket.
      const [, tok] = await Promise.all([
        request(socket, "session:rebind", { sessions: [{ session_id: sessionId }] }),
        request(socket, "session:resume_token", { session_id: sessionId }),
      ]);
      if (epoch !== loginEpoch) return null;
      const id = await openTerminal(entry.device_id, entry.target_id, {
        binary: entry.binary, resume: { session_id: sessionId, token: tok.token }, keepScreen: !!old,
      });
      if (session && session.id === id && !session.ended) {
        await waitUntil(() => session.ended || state.channel === "open", 60000, "the resumed channel");
        if (!session.ended) {
          state.resumes = (state.resumes || 0) + 1;
          forget(sessionId);
          return id;
        }
      }
      code = hooks.lastError;
    } catch (e) {
      code = e instanceof SessionError ? e.code : "internal";
      const quiet = ["resume_not_found", "device_offline"].concat(known ? ["session_not_found"] : []);
      if (!quiet.includes(code)) showError(code, e.message);
    }
    // Gone for good: nothing to take back (a closed connection's shell is detached at once,
    // so not found twice there means the device does not keep it: resume is off, or it ended).
    // The same after a reload: leaving the page detached it at once.
    const gone = code === "resume_not_found" && ((old && old.lostHow === "channel") || known) && i >= 1;
    if (gone || ["resume_denied", "resume_wrong_user", "session_not_found", "resume_invalid", "denied"].includes(code)) {
      forget(sessionId);
      // Not asked for by the user: an ended terminal is news, not an error.
      if (known && (gone || code === "session_not_found")) {
        hooks.lastError = null;
        showInfo("The terminal of this tab ended while the page was away.");
      }
      return null;
    }
    await new Promise((r) => setTimeout(r, RESUME_RETRY_MS));
  }
  forget(sessionId);
  showError("resume_not_found");
  return null;
}

function targetKind(deviceId, targetId) {
  const dev = devices.find((d) => d.id === deviceId);
  const t = dev && dev.targets.find((x) => x.id === targetId);
  return t ? t.kind : null;
}

// The <video> replaces the terminal while a screen session is shown.
function showScreen(on) {
  $("screen").hidden = !on;
  $("screen-status").hidden = !on;
  $("terminal").hidden = on;
}

async function openScreen(deviceId, targetId, join = null) {
  showScreen(true);
  const s = new ScreenSession({
    socket, video: $("screen"), deviceId, targetId, join,
    clipPanel: { root: $("clip-panel"), text: $("clip-text"), bytes: $("clip-bytes"),
      copy: $("clip-copy"), dismiss: $("clip-dismiss") },
    onChange: (st) => { if (session === s) renderSessionState(st); },
    onEnd: (code, message, { fatal }) => {
      if (session !== s && fatal) return;
      if (code === "unauthenticated") tokenExpired();
      else if (code) showError(code, message);
      else if (message) showInfo(message);
    },
  });
  session = s;
  lastSession = s;
  try {
    await s.open();
    state.sessionId = s.id;
    if (!s.ended) share.onSessionOpened(s, join);
  } catch (e) {
    const err = e instanceof SessionError ? e : new SessionError("internal", e.message);
    s.finish(err.code, err.message, false);
  }
  state.sessionId = s.id;
  return s.id;
}

function closeTerminal() {
  if (session && !session.ended) session.close();
}

// ---- wiring ----------------------------------------------------------------

function init() {
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    login($("login-username").value, $("login-password").value);
  });
  $("logout").addEventListener("click", logout);
  $("error-dismiss").addEventListener("click", clearBanner);
  $("device-select").addEventListener("change", renderTargets);
  $("target-select").addEventListener("change", updateHostWarning);
  $("open-terminal").addEventListener("click", () => openTerminal());
  $("close-terminal").addEventListener("click", closeTerminal);
  share.init();
  $("login-username").focus();
  restoreLogin();
  // Leaving the page (closing the tab, reloading) does not end its terminal: it tells the
  // device at once that its peer is gone ({"type":"close"} on the channel), and the device
  // keeps the shell detached for a while (or ends it, when resume is off there); the page
  // offers to resume it when it comes back (docs/protocol.md §2e; renderResumeOffers).
  window.addEventListener("pagehide", () => { if (session && !session.ended) session.send({ type: "close" }); });
  // A network change may have taken the peer connection's path: an ICE restart (§2d).
  const networkChanged = () => { if (session && !session.ended) session.networkChanged(); };
  window.addEventListener("online", networkChanged);
  if (navigator.connection) navigator.connection.addEventListener("change", networkChanged);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
