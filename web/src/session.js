// One terminal session: session:open, the RTCPeerConnection, the `terminal`
// data channel, trickle ICE both ways and the connection stats
// (docs/protocol.md §2 and §5).

import { IceDiagnosis } from "./diagnose.js";

// How long to wait for any ack from the server.
const ACK_TIMEOUT_MS = 10000;
// How often the connection stats (ICE, candidate pair, RTT) are read.
const STATS_INTERVAL_MS = 1000;
// A session whose ICE has not connected this long after its offer is slow: the page says
// why so far (state.slowHint, web/src/diagnose.js), before ICE fails (30 s or more).
const SLOW_SETUP_MS = 8000;
// After {"type":"close"} is sent, time for it to leave before the pc closes.
const CLOSE_FLUSH_MS = 300;
// webrtc:disconnect reasons that are policy decisions, shown as errors with their own message.
const POLICY_ENDS = ["idle_timeout", "max_duration", "grant_expired", "login_expired"];
// Input larger than this (a paste) goes as several messages, each at most this
// many bytes on the wire (the JSON message, or the raw bytes in binary mode):
// half the device's 64 KiB limit on one incoming message (docs/protocol.md §5).
export const MAX_INPUT_MESSAGE = 32 * 1024;
// While a paste is sent, the page waits when the channel holds more than
// INPUT_HIGH_WATER bytes until it is down to INPUT_LOW_WATER (bufferedamountlow),
// so that a 5 MB paste never sits in the browser's send buffer all at once.
const INPUT_HIGH_WATER = 1024 * 1024;
const INPUT_LOW_WATER = 256 * 1024;
const PASTE_START = "\x1b[200~";
const PASTE_END = "\x1b[201~";

// Text for one input: a bracketed paste (what xterm.js sends when the app
// enabled mode 2004) keeps its own markers, but markers inside the pasted text
// are dropped, so that pasted text cannot end the bracket early and run as typed.
export function sanitizePaste(text) {
  if (!text.startsWith(PASTE_START) || !text.endsWith(PASTE_END) || text.length < PASTE_START.length + PASTE_END.length) {
    return text;
  }
  const inner = text.slice(PASTE_START.length, -PASTE_END.length);
  if (!inner.includes(PASTE_START) && !inner.includes(PASTE_END)) return text;
  return PASTE_START + inner.split(PASTE_START).join("").split(PASTE_END).join("") + PASTE_END;
}

// Splits `text` into pieces whose wire size (size(piece), bytes) is at most
// `limit`, never inside a surrogate pair; in order, nothing lost.
export function splitInput(text, limit, size) {
  const out = [];
  let pos = 0;
  let guess = limit;  // characters; one byte each for ASCII, refined by measuring
  while (pos < text.length) {
    let n = Math.min(guess, text.length - pos);
    for (;;) {
      if (n < text.length - pos && n > 1) {
        const c = text.charCodeAt(pos + n - 1);
        if (c >= 0xd800 && c <= 0xdbff) n -= 1;  // keep a surrogate pair together
      }
      const bytes = size(text.slice(pos, pos + n));
      if (bytes <= limit || n <= 1) break;
      n = Math.max(1, Math.floor((n * limit) / bytes) - 8);
    }
    out.push(text.slice(pos, pos + n));
    pos += n;
    guess = Math.max(guess, n);
  }
  return out;
}
// ICE restart (docs/protocol.md §4b) of a session that was connected: ICE "disconnected" for this
// long (a blip often heals by itself), or "failed", or a network change, makes a new offer with
// iceRestart; while ICE stays down, another one follows after RESTART_RETRY_MS, doubling to
// RESTART_RETRY_MAX_MS. The device closes a session it cannot reach for long (ice_failed).
const DISCONNECTED_GRACE_MS = 2000;
const RESTART_RETRY_MS = 3000;
const RESTART_RETRY_MAX_MS = 6000;
// session:rebind answered "pending" (the device has not re-announced it yet): ask again after this.
const REBIND_RETRY_MS = 1000;

export class SessionError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

export async function request(socket, event, data) {
  let ack;
  try {
    ack = data === undefined
      ? await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event)
      : await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, data);
  } catch {
    throw new SessionError("network", "The server did not answer in time.");
  }
  if (!ack || ack.ok !== true) {
    const err = (ack && ack.error) || {};
    throw new SessionError(err.code || "internal", err.message);
  }
  return ack;
}

function iceServers(list) {
  return (list || []).map((s) => {
    const out = { urls: s.urls };
    if (s.username !== undefined) out.username = s.username;
    if (s.credential !== undefined) out.credential = s.credential;
    return out;
  });
}

export class TerminalSession {
  // opts: {socket, term, deviceId, targetId, binary, cols, rows, onChange(state), onEnd(code, message),
  //   resume: {session_id, token} (take back a detached shell, docs/protocol.md §2e),
  //   join: {session_id, token} (watch a shared terminal, §2f),
  //   onLost(session): the connection went without an end (the device keeps the shell detached),
  //   makeFiles(dc): wraps the session's `files` channel (files.js), kept as this.files}
  constructor(opts) {
    Object.assign(this, opts);
    this.id = null;
    this.pc = null;
    this.dc = null;
    this.ended = false;
    this.exited = false;
    this.remoteQueue = [];
    this.inputQueue = [];  // input waiting behind a paste, in order
    this.sendingInput = false;
    this.inputBacklog = 0;  // characters queued, not yet handed to the channel
    this.encoder = new TextEncoder();
    this.state = { session: "idle", ice: "new", pc: "new", channel: "none",
      localCandidateType: null, remoteCandidateType: null, rttMs: null, bytesReceived: 0,
      signaling: "connected", iceRestarts: 0, slowHint: null };
    this.statsTimer = null;
    this.everConnected = false;  // ICE was connected once: a loss now is for an ICE restart
    this.restartTimer = null;
    this.restartDelay = RESTART_RETRY_MS;
    this.restarting = false;  // a restart offer is on its way (until its answer)
  }

  set(patch) {
    Object.assign(this.state, patch);
    this.onChange(this.state);
  }

  // "interactive" or "view": a viewer of a shared session gets control and loses it (share.js).
  setMode(mode) {
    this.mode = mode;
  }

  async open() {
    this.set({ session: "opening" });
    const body = {
      device_id: this.deviceId, target_id: this.targetId, kind: "terminal", cols: this.cols, rows: this.rows,
    };
    if (this.resume) body.resume = this.resume;
    if (this.join) body.join = this.join;  // a viewer of a shared terminal (§2f)
    const ack = await request(this.socket, "session:open", body);
    if (this.ended) return;
    this.id = ack.session_id;
    this.mode = ack.mode || "interactive";
    const pc = this.newPeerConnection(ack.ice_servers, ack.ice_transport_policy);
    const dc = pc.createDataChannel("terminal", { ordered: true, protocol: this.binary ? "porthole-binary" : "" });
    dc.binaryType = "arraybuffer";
    dc.bufferedAmountLowThreshold = INPUT_LOW_WATER;
    this.dc = dc;
    dc.onopen = () => {
      // A resume replays the shell's scrollback first: it redraws the screen from a clean one.
      if (this.resume || this.join) this.term.reset();
      this.set({ session: "open", channel: "open" });
      this.resize(this.term.cols, this.term.rows);
    };
    dc.onclose = () => this.channelClosed();
    dc.onmessage = (ev) => this.receive(ev.data);
    // File transfer (files.js, docs/protocol.md §5d): its own channel, opened with the terminal.
    if (this.makeFiles) this.files = this.makeFiles(pc.createDataChannel("files", { ordered: true }));
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    if (this.ended) return;
    this.set({ session: "connecting", channel: "connecting" });
    await request(this.socket, "webrtc:offer", {
      session_id: this.id, type: "offer", sdp: pc.localDescription.sdp, cols: this.cols, rows: this.rows,
    });
    this.statsTimer = setInterval(() => this.readStats(), STATS_INTERVAL_MS);
  }

  // The peer connection with trickle ICE and state tracking (screen.js too).
  // policy "relay" (the org's or device's, from the session:open ack): TURN only.
  newPeerConnection(servers, policy) {
    const pc = new RTCPeerConnection({
      iceServers: iceServers(servers), iceTransportPolicy: policy === "relay" ? "relay" : "all",
    });
    this.pc = pc;
    this.offeredAt = Date.now();  // the offer follows at once
    this.diagnosis = new IceDiagnosis(servers, policy);
    pc.onicecandidateerror = (ev) => this.diagnosis.candidateError(ev);
    pc.onicecandidate = (ev) => {
      if (this.ended) return;
      this.diagnosis.gathered(ev.candidate);
      const candidate = ev.candidate ? ev.candidate.toJSON() : null;
      request(this.socket, "webrtc:ice", { session_id: this.id, candidate }).catch((e) => {
        // Once connected, a candidate lost with the signaling socket is not fatal: the
        // next ICE restart gathers new ones.
        if (!this.everConnected) this.fail(e);
      });
    };
    pc.oniceconnectionstatechange = () => {
      this.set({ ice: pc.iceConnectionState });
      this.iceChanged(pc.iceConnectionState);
    };
    pc.onconnectionstatechange = () => {
      this.set({ pc: pc.connectionState });
      if (pc.connectionState === "failed" && !this.everConnected) this.fail(new SessionError("ice_failed"));
    };
    return pc;
  }

  // ---- ICE restart (docs/protocol.md §4b) ----

  iceChanged(st) {
    if (this.ended) return;
    if (st === "connected" || st === "completed") {
      this.everConnected = true;
      this.restartDelay = RESTART_RETRY_MS;
      clearTimeout(this.restartTimer);
      this.restartTimer = null;
      return;
    }
    if (!this.everConnected) {
      if (st === "failed") this.fail(new SessionError("ice_failed"));
      return;
    }
    if (st === "disconnected") this.scheduleRestart(DISCONNECTED_GRACE_MS);
    else if (st === "failed") this.scheduleRestart(0);
  }

  scheduleRestart(ms) {
    if (this.ended || this.restartTimer) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.restartIce(false);
    }, ms);
  }

  iceUp() {
    const st = this.pc ? this.pc.iceConnectionState : "new";
    return st === "connected" || st === "completed";
  }

  // A new offer with iceRestart on the same RTCPeerConnection, through the server; the
  // device answers on its same peer connection. force: even while ICE is up (the network
  // changed under it).
  async restartIce(force) {
    if (this.ended || !this.pc || !this.everConnected || this.restarting) return;
    if (!force && this.iceUp()) return;
    if (!this.socket.connected) return;  // the socket's reconnect asks again (signalingBack)
    this.restarting = true;
    try {
      if (this.pc.signalingState !== "stable") await this.pc.setLocalDescription({ type: "rollback" });
      await this.pc.setLocalDescription(await this.pc.createOffer({ iceRestart: true }));
      this.set({ iceRestarts: this.state.iceRestarts + 1 });
      await request(this.socket, "webrtc:restart", {
        session_id: this.id, type: "offer", sdp: this.pc.localDescription.sdp,
      });
    } catch {
      this.restarting = false;  // refused or no answer from the server: the retry below
    }
    if (this.ended) return;
    // Not back after a while (no path yet, the answer lost): another restart, backing off.
    const delay = this.restartDelay;
    this.restartDelay = Math.min(this.restartDelay * 2, RESTART_RETRY_MAX_MS);
    setTimeout(() => {
      if (this.ended || this.iceUp()) return;
      this.restarting = false;
      this.restartIce(false);
    }, delay);
  }

  // The device could not answer a restart (webrtc:error restart_failed): back to the old
  // description; the retry timer of restartIce tries again.
  async restartRefused() {
    if (this.pc && this.pc.signalingState === "have-local-offer") {
      try { await this.pc.setLocalDescription({ type: "rollback" }); } catch { /* closed */ }
    }
    this.restarting = false;
    // Refused while ICE is down: the device gave up on this peer connection (its shell is
    // detached, §2e): resume it in a new session rather than restart forever.
    if (!this.iceUp()) this.lost("restart");
  }

  // The network changed (online, navigator.connection): the path may be gone.
  networkChanged() {
    if (this.everConnected) this.restartIce(true);
  }

  // ---- signaling is not the session (docs/protocol.md §2c) ----

  signalingLost() {
    if (this.ended) return false;
    if (!this.everConnected) return false;  // still being set up: that needs the server
    this.set({ signaling: "reconnecting" });
    return true;
  }

  // The socket is back: re-announce the session until the server routes it to us again.
  async signalingBack() {
    if (this.rebinding) return;  // one loop, whatever number of reconnects
    this.rebinding = true;
    try {
      await this.rebindLoop();
    } finally {
      this.rebinding = false;
    }
  }

  async rebindLoop() {
    while (!this.ended && this.socket.connected) {
      let ack;
      try {
        ack = await request(this.socket, "session:rebind", { sessions: [{ session_id: this.id }] });
      } catch {
        ack = null;
      }
      const st = ack && ack.sessions && ack.sessions[0] ? ack.sessions[0].status : null;
      if (st === "rebound") {
        this.set({ signaling: "connected" });
        if (!this.iceUp()) this.restartIce(false);
        return;
      }
      if (st === "gone") {
        this.finish("ended", "The session ended while the connection to the server was lost.", false);
        return;
      }
      await new Promise((r) => setTimeout(r, REBIND_RETRY_MS));
    }
  }

  // Signaling events for this session, dispatched by main.js.
  async signal(event, data) {
    if (this.ended || !this.pc) return;
    try {
      if (event === "webrtc:answer") {
        // After a restart was rolled back, a late answer has nothing to answer.
        if (this.everConnected && this.pc.signalingState !== "have-local-offer") return;
        await this.pc.setRemoteDescription({ type: "answer", sdp: data.sdp });
        this.restarting = false;
        for (const c of this.remoteQueue.splice(0)) await this.addCandidate(c);
      } else if (event === "webrtc:ice") {
        // Before the (restart's) answer, candidates wait for it.
        if (!this.pc.remoteDescription || this.pc.signalingState === "have-local-offer") {
          this.remoteQueue.push(data.candidate);
        } else await this.addCandidate(data.candidate);
      } else if (event === "webrtc:error" && data.code === "restart_failed") {
        await this.restartRefused();
      } else if (event === "webrtc:error") {
        this.finish(data.code, data.message, false);
      } else if (event === "webrtc:disconnect") {
        const why = data.reason ? ` (${data.reason})` : "";
        // Ended by policy (docs/security.md): the reason is the code, and main.js explains it.
        const policy = POLICY_ENDS.includes(data.reason);
        this.finish(this.exited ? null : (policy ? data.reason : "ended"),
          policy ? null : `The session ended${why}.`, false);
      }
    } catch (e) {
      this.fail(new SessionError("bad_sdp", `WebRTC refused the device's answer: ${e.message}`));
    }
  }

  async addCandidate(c) {
    if (this.diagnosis) this.diagnosis.received(c);
    if (c && c.candidate) await this.pc.addIceCandidate(c);
    else await this.pc.addIceCandidate();  // end of candidates
  }

  receive(data) {
    if (typeof data !== "string") {
      this.term.write(new Uint8Array(data));
      return;
    }
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (msg.type === "output" && typeof msg.data === "string") {
      this.term.write(msg.data);
    } else if (msg.type === "exit") {
      this.exited = true;
      this.exitCode = msg.code;
      this.term.write(`\r\n\x1b[2m[process exited with code ${msg.code}]\x1b[0m\r\n`);
      if (!this.ended) this.set({ session: "exited" });
    } else if (msg.type === "error" && !this.ended) {
      if (POLICY_ENDS.includes(msg.code)) this.policyEnd = msg.code;  // the device closes next
      this.onEnd(msg.code || "internal", msg.message, { fatal: false });
    }
  }

  send(obj) {
    if (this.dc && this.dc.readyState === "open") this.dc.send(JSON.stringify(obj));
  }

  // Keystrokes and pastes, in the order given. A keystroke goes out at once;
  // input over MAX_INPUT_MESSAGE is split, and input that comes while a paste
  // is still being sent waits behind it (a bracketed paste stays whole).
  input(text) {
    if (!this.dc || this.dc.readyState !== "open" || this.mode === "view" || !text) return;
    const clean = sanitizePaste(text);
    this.inputQueue.push(clean);
    this.inputBacklog += clean.length;
    if (!this.sendingInput) this.sendInput();
  }

  // Runs synchronously until the channel's buffer is over INPUT_HIGH_WATER.
  async sendInput() {
    this.sendingInput = true;
    const dc = this.dc;
    try {
      while (this.inputQueue.length) {
        const text = this.inputQueue.shift();
        const pieces = text.length * 6 + 32 <= MAX_INPUT_MESSAGE ? [text]
          : splitInput(text, MAX_INPUT_MESSAGE, (t) => this.inputSize(t));
        for (const piece of pieces) {
          if (dc.readyState !== "open") return;
          if (dc.bufferedAmount > INPUT_HIGH_WATER) await this.bufferDrained(dc);
          if (dc.readyState !== "open") return;
          dc.send(this.inputWire(piece));
          this.inputBacklog -= piece.length;
        }
      }
    } finally {
      this.sendingInput = false;
      if (dc.readyState !== "open") {
        this.inputQueue = [];
        this.inputBacklog = 0;
      }
    }
  }

  // One input message as sent: raw UTF-8 bytes (binary mode) or the JSON text.
  inputWire(text) {
    return this.binary ? this.encoder.encode(text) : JSON.stringify({ type: "input", data: text });
  }

  // Its size on the wire, in bytes.
  inputSize(text) {
    const wire = this.inputWire(text);
    return typeof wire === "string" ? this.encoder.encode(wire).length : wire.length;
  }

  bufferDrained(dc) {
    return new Promise((resolve) => {
      const done = () => {
        dc.removeEventListener("bufferedamountlow", done);
        dc.removeEventListener("close", done);
        resolve();
      };
      dc.addEventListener("bufferedamountlow", done);
      dc.addEventListener("close", done);
      if (dc.bufferedAmount <= dc.bufferedAmountLowThreshold || dc.readyState !== "open") done();
    });
  }

  resize(cols, rows) {
    if (this.ended) return;
    this.cols = cols;
    this.rows = rows;
    this.send({ type: "resize", cols, rows });
  }

  // The user's Close: tell the device on the channel and the server, then tear down.
  close() {
    if (this.ended) return;
    this.send({ type: "close" });
    if (this.id) request(this.socket, "webrtc:disconnect", { session_id: this.id, reason: "user_closed" }).catch(() => {});
    this.finish(null, "Session closed.", false, CLOSE_FLUSH_MS);
  }

  channelClosed() {
    if (this.ended) return;
    this.set({ channel: "closed" });
    if (this.exited) this.finish(null, `The process exited with code ${this.exitCode}.`, true);
    else if (this.policyEnd) this.finish(this.policyEnd, null, false);
    else if (!this.lost("channel")) this.finish("channel_closed", null, true);
  }

  // The connection went without an end (no exit, no policy end): the device keeps the shell
  // detached for a while (docs/protocol.md §2e). Hands over to onLost, which resumes it in a
  // new session; true when it did.
  // how: "channel" (the device closed the connection: its shell is detached at once, if
  // resume is on there) or "restart" (an ICE restart refused: it may still be detaching).
  lost(how) {
    if (this.ended || !this.everConnected || !this.onLost || this.exited || this.policyEnd) return false;
    this.lostHow = how;
    this.ended = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.statsTimer);
    if (this.dc) this.dc.close();
    if (this.pc) this.pc.close();
    this.set({ session: "resuming", channel: "closed" });
    this.onLost(this);
    return true;
  }

  fail(err) {
    const code = err instanceof SessionError ? err.code : "internal";
    this.finish(code, err.message, true);
  }

  // Ends the session once. code null: a normal end. notify: tell the server.
  finish(code, message, notify, delayMs = 0) {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.restartTimer);
    // No path to the device (seen here, or by the device first): say why, in words.
    if (code === "ice_failed" && this.diagnosis) message = this.diagnosis.summary();
    clearInterval(this.statsTimer);
    if (notify && this.id) {
      request(this.socket, "webrtc:disconnect", { session_id: this.id, reason: code || "closed" }).catch(() => {});
    }
    const teardown = () => {
      if (this.dc) this.dc.close();
      if (this.pc) this.pc.close();
    };
    if (delayMs) setTimeout(teardown, delayMs);
    else teardown();
    const failed = code && code !== "ended" && !POLICY_ENDS.includes(code);
    this.set({ session: failed ? "failed" : "closed", channel: "closed" });
    this.onEnd(code, message, { fatal: true });
  }

  async readStats() {
    if (!this.pc || this.ended) return;
    if (this.diagnosis && !this.state.localCandidateType) await this.diagnosis.readStats(this.pc);
    const waited = Date.now() - this.offeredAt;
    if (!this.everConnected && this.diagnosis && waited >= SLOW_SETUP_MS) {
      this.set({ slowHint: this.diagnosis.slowHint(Math.floor(waited / 1000)) });
    } else if (this.state.slowHint) {
      this.set({ slowHint: null });
    }
    const stats = await this.pc.getStats();
    let pair = null;
    stats.forEach((r) => {
      if (r.type === "transport" && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
    });
    if (!pair) {
      stats.forEach((r) => {
        if (!pair && r.type === "candidate-pair" && r.nominated && r.state === "succeeded") pair = r;
      });
    }
    if (!pair) return;
    const local = stats.get(pair.localCandidateId);
    const remote = stats.get(pair.remoteCandidateId);
    const rtt = pair.currentRoundTripTime;
    this.set({
      localCandidateType: local ? local.candidateType : null,
      remoteCandidateType: remote ? remote.candidateType : null,
      // How this browser reaches its TURN server when the pair is relayed: udp, tcp or tls.
      relayProtocol: local && local.candidateType === "relay" ? local.relayProtocol || null : null,
      localAddress: local ? `${local.address || local.ip}:${local.port} ${local.protocol}` : null,
      remoteAddress: remote ? `${remote.address || remote.ip}:${remote.port} ${remote.protocol}` : null,
      rttMs: typeof rtt === "number" ? Math.round(rtt * 10000) / 10 : null,
      bytesReceived: pair.bytesReceived || 0,
      bytesSent: pair.bytesSent || 0,
    });
  }
}
