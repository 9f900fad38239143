// One screen session: the device's VP8 video track in a <video>, and the
// `input` data channel for pointer, wheel and keys (X keysyms) when the grant
// allows input (docs/protocol.md, screen sessions), with the `clipboard`
// channel (screenclip.js). Signaling, ICE, closing and the connection stats
// are the terminal session's (session.js). A viewer of a shared screen (join,
// docs/protocol.md §2f) opens in mode view; its pointer and keys are attached
// when the owner hands it control (setMode, from share.js) and go quiet when
// the owner takes it back.

import { TerminalSession, request } from "./session.js";
import { keysymOf } from "./keysyms.js";
import { ScreenClipboard, PASTE_WAIT_MS } from "./screenclip.js";

// Pointer moves are coalesced to one message per animation frame: 60/s is
// all the display can show, and a mouse reports up to 1000/s.
const WHEEL_PIXELS_PER_NOTCH = 100; // Chromium reports 100 px per wheel notch
const MAX_WHEEL_STEPS = 20; // the protocol's limit per message
// DOM button index → X button (left, middle, right, back, forward).
const X_BUTTONS = [1, 2, 3, 8, 9];

export class ScreenSession extends TerminalSession {
  // opts: {socket, video, clipPanel, deviceId, targetId, onChange(state), onEnd(code, message),
  //   join: {session_id, token} (watch a shared screen, §2f)}
  constructor(opts) {
    super({ ...opts, term: null, binary: false, cols: 0, rows: 0 });
    Object.assign(this.state, { videoWidth: 0, videoHeight: 0, fps: 0, kbps: 0, freezes: 0,
      framesDecoded: 0, inputErrors: 0, lastInputError: null,
      clipboardSent: 0, clipboardReceived: 0, clipboardCopied: null, lastClipboardError: null });
    this.clipPanel = opts.clipPanel || null;
    this.clip = null;
    this.pasteKey = null; // a Ctrl+V waiting for its paste event: {code, ks, up, timer}
    this.listeners = [];
    this.inputAttached = false;
    this.held = new Map(); // KeyboardEvent.code → keysym pressed, released with the same keysym
    this.pendingMove = null;
    this.lastVideoBytes = null;
  }

  async open() {
    this.set({ session: "opening" });
    const body = { device_id: this.deviceId, target_id: this.targetId, kind: "screen" };
    if (this.join) body.join = this.join;  // a viewer of a shared screen (§2f)
    const ack = await request(this.socket, "session:open", body);
    if (this.ended) return;
    this.id = ack.session_id;
    this.mode = ack.mode || "interactive";
    const pc = this.newPeerConnection(ack.ice_servers, ack.ice_transport_policy);
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (ev) => {
      // A screen wants the newest frame now, not smooth playout: no extra jitter buffering.
      if ("jitterBufferTarget" in ev.receiver) ev.receiver.jitterBufferTarget = 0;
      this.video.srcObject = ev.streams[0] || new MediaStream([ev.track]);
      this.video.play().catch(() => {});
    };
    // The channel is opened even for a view-only grant: it tells us the
    // session is up, and the device answers any input with input_not_allowed.
    const dc = pc.createDataChannel("input", { ordered: true });
    this.dc = dc;
    dc.onopen = () => {
      this.set({ session: "open", channel: "open" });
      if (this.mode !== "view") this.attachInput();
    };
    dc.onclose = () => this.channelClosed();
    dc.onmessage = (ev) => this.receive(ev.data);
    // The clipboard only for an interactive grant: a viewer may not write the
    // remote clipboard, nor read it (docs/protocol.md §5c), with or without control.
    if (this.mode !== "view" && !this.join) {
      this.clip = new ScreenClipboard(pc.createDataChannel("clipboard", { ordered: true }), this.clipPanel,
        (patch) => this.set(patch));
    }
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    if (this.ended) return;
    this.set({ session: "connecting", channel: "connecting" });
    await request(this.socket, "webrtc:offer", { session_id: this.id, type: "offer", sdp: pc.localDescription.sdp });
    this.startStats();
  }

  receive(data) {
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (msg.type === "error") {
      // Input refused: the stream goes on; count it and show the last one.
      this.set({ inputErrors: this.state.inputErrors + 1, lastInputError: msg.code || "internal" });
    }
  }

  close() {
    if (this.ended) return;
    if (this.id) request(this.socket, "webrtc:disconnect", { session_id: this.id, reason: "user_closed" }).catch(() => {});
    this.finish(null, "Session closed.", false);
  }

  finish(code, message, notify, delayMs = 0) {
    if (this.ended) return;
    this.releaseAll();
    if (this.clip) this.clip.close();
    for (const [el, ev, fn] of this.listeners) el.removeEventListener(ev, fn);
    this.listeners = [];
    if (this.video) this.video.srcObject = null;
    super.finish(code, message, notify, delayMs);
  }

  // ---- input ---------------------------------------------------------------

  // A viewer given control (share:state names it the controller) sends its pointer and keys from now
  // on; taken back, it sends nothing more (the device released what it held down).
  setMode(mode) {
    if (mode === this.mode) return;
    if (mode === "view") this.held.clear();
    this.mode = mode;
    if (mode !== "view" && this.dc && this.dc.readyState === "open") this.attachInput();
  }

  sendInput(msg) {
    if (this.mode === "view" || !this.dc || this.dc.readyState !== "open") return;
    this.dc.send(JSON.stringify(msg));
  }

  // Video pixel under a client point, or null outside the picture (the
  // <video> letterboxes: object-fit contain).
  videoPoint(clientX, clientY) {
    const v = this.video;
    const w = v.videoWidth;
    const h = v.videoHeight;
    if (!w || !h) return null;
    const r = v.getBoundingClientRect();
    const scale = Math.min(r.width / w, r.height / h);
    const left = r.left + (r.width - w * scale) / 2;
    const top = r.top + (r.height - h * scale) / 2;
    const x = Math.floor((clientX - left) / scale);
    const y = Math.floor((clientY - top) / scale);
    if (x < 0 || y < 0 || x >= w || y >= h) return null;
    return { x, y };
  }

  listen(el, ev, fn, opts) {
    el.addEventListener(ev, fn, opts);
    this.listeners.push([el, ev, fn]);
  }

  attachInput() {
    if (this.inputAttached) return;
    this.inputAttached = true;
    const v = this.video;
    v.tabIndex = 0;
    this.listen(v, "pointermove", (ev) => {
      const p = this.videoPoint(ev.clientX, ev.clientY);
      if (!p) return;
      const first = this.pendingMove === null;
      this.pendingMove = p;
      if (first) {
        requestAnimationFrame(() => {
          const m = this.pendingMove;
          this.pendingMove = null;
          if (m) this.sendInput({ type: "move", x: m.x, y: m.y });
        });
      }
    });
    const button = (down) => (ev) => {
      const p = this.videoPoint(ev.clientX, ev.clientY);
      const b = X_BUTTONS[ev.button];
      if (!p || !b) return;
      ev.preventDefault();
      if (down) v.focus();
      this.pendingMove = null;
      this.sendInput({ type: "button", button: b, down, x: p.x, y: p.y });
    };
    this.listen(v, "pointerdown", button(true));
    this.listen(v, "pointerup", button(false));
    this.listen(v, "contextmenu", (ev) => ev.preventDefault());
    this.listen(v, "wheel", (ev) => {
      ev.preventDefault();
      const p = this.videoPoint(ev.clientX, ev.clientY);
      const steps = (d) => (d === 0 ? 0 : Math.sign(d)
        * Math.min(MAX_WHEEL_STEPS, Math.max(1, Math.round(Math.abs(d) / WHEEL_PIXELS_PER_NOTCH))));
      const msg = { type: "wheel", dx: steps(ev.deltaX), dy: steps(ev.deltaY) };
      if (p) Object.assign(msg, p);
      if (msg.dx || msg.dy) this.sendInput(msg);
    }, { passive: false });
    this.listen(v, "keydown", (ev) => {
      const ks = keysymOf(ev);
      if (ks === null) return;
      if (this.clip && (ev.ctrlKey || ev.metaKey) && !ev.altKey && ev.key.toLowerCase() === "v" && !ev.repeat) {
        // Not prevented: the browser fires `paste` with its clipboard; the
        // key goes to the remote app once the remote clipboard holds it.
        this.pasteKey = { code: ev.code, ks, up: false,
          timer: setTimeout(() => this.sendPasteKey(), PASTE_WAIT_MS) };
        return;
      }
      ev.preventDefault();
      this.held.set(ev.code, ks);
      this.sendInput({ type: "key", keysym: ks, down: true });
    });
    this.listen(v, "paste", (ev) => {
      ev.preventDefault();
      const text = ev.clipboardData ? ev.clipboardData.getData("text/plain") : "";
      if (!this.clip) return;
      if (this.pasteKey) clearTimeout(this.pasteKey.timer);
      if (text) this.clip.paste(text, () => this.sendPasteKey());
      else this.sendPasteKey();
    });
    this.listen(v, "keyup", (ev) => {
      if (this.pasteKey && this.pasteKey.code === ev.code) {
        this.pasteKey.up = true; // released before the remote clipboard was set: sent with the press
        ev.preventDefault();
        return;
      }
      const ks = this.held.has(ev.code) ? this.held.get(ev.code) : keysymOf(ev);
      this.held.delete(ev.code);
      if (ks === null) return;
      ev.preventDefault();
      this.sendInput({ type: "key", keysym: ks, down: false });
    });
    this.listen(v, "blur", () => this.releaseAll());
  }

  // The V of a Ctrl+V, after its paste reached the remote clipboard.
  sendPasteKey() {
    const p = this.pasteKey;
    if (!p) return;
    clearTimeout(p.timer);
    this.pasteKey = null;
    this.sendInput({ type: "key", keysym: p.ks, down: true });
    if (p.up) this.sendInput({ type: "key", keysym: p.ks, down: false });
    else this.held.set(p.code, p.ks);
  }

  // Keys still down when focus leaves are released (the device also
  // releases everything when the session ends).
  releaseAll() {
    for (const ks of this.held.values()) this.sendInput({ type: "key", keysym: ks, down: false });
    this.held.clear();
  }

  // ---- stats -----------------------------------------------------------------

  startStats() {
    this.statsTimer = setInterval(() => this.readStats(), 1000);
  }

  async readStats() {
    await super.readStats();
    if (!this.pc || this.ended) return;
    const stats = await this.pc.getStats();
    stats.forEach((r) => {
      if (r.type !== "inbound-rtp" || r.kind !== "video") return;
      const now = r.timestamp;
      let kbps = this.state.kbps;
      if (this.lastVideoBytes) {
        const dt = (now - this.lastVideoBytes.t) / 1000;
        if (dt > 0) kbps = Math.round(((r.bytesReceived - this.lastVideoBytes.b) * 8) / 1000 / dt);
      }
      this.lastVideoBytes = { t: now, b: r.bytesReceived };
      this.set({
        videoWidth: r.frameWidth || 0, videoHeight: r.frameHeight || 0,
        fps: r.framesPerSecond || 0, kbps, freezes: r.freezeCount || 0, framesDecoded: r.framesDecoded || 0,
      });
    });
  }
}
