// File transfer (docs/protocol.md §5d) on a terminal's `files` data channel:
// upload a file picked or dropped on the terminal (into the shell's working
// directory when the device allows it there, else home), download a path,
// with a progress bar, sha256 checked at both ends, and cancel at any time.
// One transfer at a time, as on the device.

const CHUNK = 64 * 1024;  // the device's `chunk` (ready says it; at most this)
const LOW_WATER = 256 * 1024;  // send more when the channel's buffer drains below this

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256(data) {
  return hex(await crypto.subtle.digest("SHA-256", data));
}

let seq = 0;

export class FileTransfer {
  // dc: the `files` channel (opening); onState(files): the page's view of it,
  // files = {ready, upload, download, maxBytes, dirs (the grant's folders, as configured), cwd, transfer: {id, direction, name,
  // size, done, status: "checking"|"sending"|"receiving"|"done"|"cancelled"|"error", code,
  // message, path, sha256}}; save(name, blob): hand a downloaded file to the user.
  constructor(dc, onState, save) {
    this.dc = dc;
    this.onState = onState;
    this.save = save;
    this.view = { ready: false, upload: false, download: false, maxBytes: 0, dirs: [], cwd: "", transfer: null };
    this.window = 1 << 20;
    this.chunk = CHUNK;
    this.current = null;  // {id, direction, resolve, acked, parts, cancelled}
    dc.binaryType = "arraybuffer";
    dc.bufferedAmountLowThreshold = LOW_WATER;
    dc.onmessage = (ev) => this.receive(ev.data);
    dc.onclose = () => this.finish({ type: "error", code: "channel_closed", message: "The files channel closed." });
  }

  set(patch) {
    Object.assign(this.view, patch);
    this.onState(this.view);
  }

  setTransfer(patch) {
    this.set({ transfer: { ...(this.view.transfer || {}), ...patch } });
  }

  busy() {
    return this.current !== null;
  }

  receive(data) {
    const cur = this.current;
    if (typeof data !== "string") {
      if (cur && cur.direction === "download" && !cur.cancelled) {
        cur.parts.push(data);
        cur.received += data.byteLength;
        this.setTransfer({ done: cur.received });
      }
      return;
    }
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (msg.type === "ready") {
      this.window = msg.window || this.window;
      this.chunk = Math.min(msg.chunk || CHUNK, CHUNK);
      this.set({ ready: true, upload: !!msg.upload, download: !!msg.download, maxBytes: msg.max_bytes || 0,
        dirs: Array.isArray(msg.dirs) ? msg.dirs.filter((d) => typeof d === "string") : [], cwd: msg.cwd || "" });
      return;
    }
    if (!cur || (msg.id && msg.id !== cur.id)) return;
    if (msg.type === "ack") {
      cur.acked = msg.bytes;
      if (cur.wake) cur.wake();
    } else if (msg.type === "accepted") {
      this.setTransfer({ path: msg.path, status: "sending" });
      if (cur.onAccepted) cur.onAccepted();
    } else if (msg.type === "file") {
      this.setTransfer({ name: msg.name, path: msg.path, size: msg.size, status: "receiving" });
    } else if (msg.type === "done" || msg.type === "cancelled" || msg.type === "error") {
      this.finish(msg);
    }
  }

  // Ends the current transfer with the device's last word (done, cancelled or error).
  finish(msg) {
    const cur = this.current;
    if (!cur) return;
    this.current = null;
    if (cur.wake) cur.wake();
    if (cur.onAccepted) cur.onAccepted();
    cur.resolve(msg);
  }

  start(direction, fields) {
    if (this.busy()) return null;
    seq += 1;
    const cur = { id: `t${seq}`, direction, acked: 0, parts: [], received: 0, cancelled: false };
    const done = new Promise((resolve) => { cur.resolve = resolve; });
    this.current = cur;
    this.set({ transfer: { id: cur.id, direction, done: 0, status: "checking", code: null, message: null,
      path: null, sha256: null, ...fields } });
    return { cur, done };
  }

  // Uploads a File (or Blob with a name); dir "" = the shell's working directory (else home).
  async upload(file, dir = "") {
    if (!this.view.ready || this.dc.readyState !== "open") return this.refused("upload", file.name, "channel_closed");
    const started = this.start("upload", { name: file.name, size: file.size });
    if (!started) return this.refused("upload", file.name, "transfer_busy");
    const { cur, done } = started;
    const data = new Uint8Array(await file.arrayBuffer());
    const digest = await sha256(data);
    if (cur.cancelled) return this.outcome(await done);
    const accepted = new Promise((resolve) => { cur.onAccepted = resolve; });
    const msg = { type: "upload", id: cur.id, name: file.name, size: data.byteLength, sha256: digest };
    if (dir) msg.dir = dir;
    cur.announced = true;
    this.dc.send(JSON.stringify(msg));
    await accepted;
    let sent = 0;
    while (sent < data.byteLength && this.current === cur && !cur.cancelled) {
      // The device's window (acknowledged bytes) and the channel's own buffer.
      if (sent - cur.acked >= this.window || this.dc.bufferedAmount > LOW_WATER * 4) {
        await new Promise((resolve) => {
          cur.wake = resolve;
          this.dc.onbufferedamountlow = resolve;
          setTimeout(resolve, 200);
        });
        continue;
      }
      const piece = data.subarray(sent, sent + this.chunk);
      this.dc.send(piece);
      sent += piece.byteLength;
      this.setTransfer({ done: sent });
    }
    const end = await done;
    if (end.type === "done") this.setTransfer({ sha256: end.sha256, path: end.path });
    return this.outcome(end);
  }

  async download(path) {
    if (!this.view.ready || this.dc.readyState !== "open") return this.refused("download", path, "channel_closed");
    const started = this.start("download", { name: path.split("/").pop(), size: 0 });
    if (!started) return this.refused("download", path, "transfer_busy");
    const { cur, done } = started;
    this.dc.send(JSON.stringify({ type: "download", id: cur.id, path }));
    const end = await done;
    if (end.type !== "done") return this.outcome(end);
    const blob = new Blob(cur.parts);
    const digest = await sha256(await blob.arrayBuffer());
    if (digest !== end.sha256 || blob.size !== end.size) {
      return this.outcome({ type: "error", code: "checksum_mismatch", message: "The file arrived damaged." });
    }
    this.setTransfer({ sha256: digest, path: end.path });
    if (this.save) this.save(this.view.transfer.name, blob);
    return this.outcome(end, blob);
  }

  cancel() {
    const cur = this.current;
    if (!cur || cur.cancelled) return;
    cur.cancelled = true;
    if (cur.direction === "upload" && !cur.announced) {
      this.finish({ type: "cancelled", id: cur.id });  // still hashing: the device never heard of it
      return;
    }
    if (this.dc.readyState === "open") this.dc.send(JSON.stringify({ type: "cancel", id: cur.id }));
    if (cur.wake) cur.wake();
  }

  refused(direction, name, code) {
    this.set({ transfer: { direction, name, status: "error", code, message: null, done: 0, size: 0 } });
    return { ok: false, code };
  }

  outcome(end, blob) {
    const status = end.type === "done" ? "done" : end.type === "cancelled" ? "cancelled" : "error";
    this.setTransfer({ status, code: end.code || null, message: end.message || null });
    return { ok: status === "done", status, code: end.code || null, path: end.path, sha256: end.sha256, blob };
  }
}
