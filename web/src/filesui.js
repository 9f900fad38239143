// The page's file transfer bar (data-testid files) and drop target (the
// terminal) for the live session's FileTransfer (files.js).
import { FileTransfer } from "./files.js";

function saveBlob(name, blob) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name || "download";
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 30000);
}

function human(n) {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

// $: the page's data-testid lookup; state: the page's state (state.files mirrors the view);
// current(): the live TerminalSession or null. Returns makeFiles for TerminalSession.
export function setupFiles({ $, state, current, describe }) {
  const bar = $("files");
  const render = (v) => {
    state.files = v;
    bar.hidden = !v.ready || (!v.upload && !v.download);
    $("files-upload").disabled = !v.upload;
    $("files-upload").parentElement.classList.toggle("disabled", !v.upload);
    $("files-download").disabled = !v.download;
    $("files-path").disabled = !v.download;
    // The grant's folders (the device refuses any path outside them: path_not_allowed).
    $("files-dirs").textContent = v.dirs && v.dirs.length ? `allowed folders: ${v.dirs.join(", ")}` : "";
    const t = v.transfer;
    const running = t && ["checking", "sending", "receiving"].includes(t.status);
    $("files-cancel").disabled = !running;
    $("files-progress").value = t && t.size ? t.done / t.size : t && t.status === "done" ? 1 : 0;
    let text = "";
    if (t) {
      const what = `${t.direction === "upload" ? "\u2191" : "\u2193"} ${t.path || t.name}`;
      if (running) text = `${what}: ${human(t.done || 0)} of ${human(t.size || 0)}`;
      else if (t.status === "done") text = `${what}: done, ${human(t.size || 0)}, sha256 ${String(t.sha256).slice(0, 12)}\u2026`;
      else if (t.status === "cancelled") text = `${what}: cancelled`;
      else text = `${what}: ${describe(t.code, t.message) || t.code}`;
    }
    $("files-status").textContent = text;
  };
  const files = () => { const s = current(); return s && s.files ? s.files : null; };
  $("files-upload").addEventListener("change", (ev) => {
    const f = ev.target.files && ev.target.files[0];
    ev.target.value = "";
    if (f && files()) files().upload(f, "");
  });
  const download = () => {
    const path = $("files-path").value.trim();
    if (path && files()) files().download(path);
  };
  $("files-download").addEventListener("click", download);
  $("files-path").addEventListener("keydown", (ev) => { if (ev.key === "Enter") download(); });
  $("files-cancel").addEventListener("click", () => { if (files()) files().cancel(); });
  // Drop on the terminal: into the shell's working directory (the device falls back to home).
  const target = $("terminal");
  target.addEventListener("dragover", (ev) => {
    if (files() && files().view.upload) { ev.preventDefault(); ev.dataTransfer.dropEffect = "copy"; }
  });
  target.addEventListener("drop", (ev) => {
    const f = ev.dataTransfer && ev.dataTransfer.files && ev.dataTransfer.files[0];
    if (!f || !files()) return;
    ev.preventDefault();
    files().upload(f, "");
  });
  return {
    makeFiles: (dc) => new FileTransfer(dc, (v) => { if (current() && current().files && current().files.view === v) render(v); }, saveBlob),
    hide: () => { bar.hidden = true; state.files = null; },
  };
}
