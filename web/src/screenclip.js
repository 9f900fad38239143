// The screen clipboard (docs/protocol.md §5c) on the `clipboard` data
// channel: a paste on the screen (Ctrl+V, or the paste event) sends the
// text to the remote selections before the key reaches the remote app; a
// copy on the remote display goes to the browser's clipboard, or, when the
// browser refuses writeText (no focus, no permission), to a small panel
// with a Copy button (a click is the gesture writeText needs).

const CHUNK = 8192; // UTF-16 units a message: under 64 KiB even escaped
const MAX_TEXT = 1 << 20; // bytes of UTF-8, the device's limit
// How long a Ctrl+V waits for the paste event before the key goes anyway.
const PASTE_WAIT_MS = 300;

// Pieces of text, never cutting a surrogate pair.
export function clipChunks(text) {
  const out = [];
  let i = 0;
  do {
    let j = Math.min(i + CHUNK, text.length);
    const c = text.charCodeAt(j - 1);
    if (j < text.length && c >= 0xd800 && c <= 0xdbff) j -= 1;
    out.push(text.slice(i, j));
    i = j;
  } while (i < text.length);
  return out.map((t, k) => ({ type: "clipboard", text: t, more: k < out.length - 1 }));
}

export class ScreenClipboard {
  // dc: the open-or-opening `clipboard` channel; panel: {root, text, bytes,
  // copy, dismiss} elements (may be null); onState(patch) updates the state.
  constructor(dc, panel, onState) {
    this.dc = dc;
    this.panel = panel;
    this.onState = onState;
    this.incoming = "";
    this.afterSet = null; // what to do once the device owns the pasted text
    dc.onmessage = (ev) => this.receive(ev.data);
    if (panel) {
      panel.copy.onclick = () => this.copyFromPanel();
      panel.dismiss.onclick = () => { panel.root.hidden = true; };
    }
  }

  // Sends text to the remote clipboard; then() runs when the device has it
  // (or at once when it was refused or could not be sent).
  paste(text, then) {
    const bytes = new TextEncoder().encode(text).length;
    if (this.dc.readyState !== "open" || bytes > MAX_TEXT) {
      this.onState({ lastClipboardError: bytes > MAX_TEXT ? "clipboard_too_large" : "channel_closed" });
      if (then) then();
      return;
    }
    this.afterSet = then || null;
    for (const m of clipChunks(text)) this.dc.send(JSON.stringify(m));
    this.onState({ clipboardSent: bytes });
  }

  receive(data) {
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (msg.type === "clipboard") {
      this.incoming += msg.text || "";
      if (msg.more) return;
      const text = this.incoming;
      this.incoming = "";
      this.copied(text);
    } else if (msg.type === "clipboard_set" || msg.type === "error") {
      if (msg.type === "error") this.onState({ lastClipboardError: msg.code || "internal" });
      const then = this.afterSet;
      this.afterSet = null;
      if (then) then();
    }
  }

  // A copy on the remote display.
  copied(text) {
    this.onState({ clipboardReceived: new TextEncoder().encode(text).length });
    const show = () => this.showPanel(text);
    if (!navigator.clipboard || !document.hasFocus()) { show(); return; }
    navigator.clipboard.writeText(text).then(() => {
      if (this.panel) this.panel.root.hidden = true;
      this.onState({ clipboardCopied: true });
    }, show);
  }

  showPanel(text) {
    this.onState({ clipboardCopied: false });
    if (!this.panel) return;
    this.panel.text.value = text;
    this.panel.bytes.textContent = String(new TextEncoder().encode(text).length);
    this.panel.root.hidden = false;
  }

  copyFromPanel() {
    const p = this.panel;
    const done = () => { p.root.hidden = true; this.onState({ clipboardCopied: true }); };
    const fallback = () => {
      p.text.select();
      if (document.execCommand("copy")) done();
    };
    if (navigator.clipboard) navigator.clipboard.writeText(p.text.value).then(done, fallback);
    else fallback();
  }

  close() {
    if (this.panel) this.panel.root.hidden = true;
  }
}

export { PASTE_WAIT_MS };
