// Which tab is this? A per-tab id in sessionStorage, claimed so that a copy of a tab
// (Chrome's "Duplicate tab", which copies sessionStorage) is told apart from a reload of it.
//
// A reload keeps the tab's id (and with it the tab's own terminal, main.js TAB_KEY). A copy
// finds its id held by the live original: it takes a fresh id and reports `duplicate`, and
// main.js then drops the copied terminal entry (the copy offers that terminal as a "Resume"
// button, it never takes it by itself).
//
// How: each tab holds a Web Lock named after its id for its whole life (released by the
// browser when the document goes). A reload finds the lock free at once: no wait. When it is
// held, the holder is either a live original (it answers "mine" on a BroadcastChannel at
// once) or the reloaded document not yet torn down (its lock comes free a moment later):
// both are events, no timer decides. Without Web Locks (a page served over plain http from
// a host that is not localhost is no secure context), the tab asks on the channel and takes
// silence within FALLBACK_WAIT_MS as "nobody has it".

const ID_KEY = "porthole.tabId";
const CHANNEL = "porthole.tabs";
// Only a frozen original tab can leave a held lock without an answer: then the copy gives in.
const CONTESTED_WAIT_MS = 1500;
const FALLBACK_WAIT_MS = 250;

const lockName = (id) => `porthole.tab.${id}`;
const locks = typeof navigator !== "undefined" && navigator.locks ? navigator.locks : null;

function freshId() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function read() {
  try { return sessionStorage.getItem(ID_KEY); } catch { return null; }
}

function write(id) {
  try { sessionStorage.setItem(ID_KEY, id); } catch { /* storage off: a tab of its own anyway */ }
}

// Holds the lock of id until the document goes; resolves true once held, false when another
// holder has it (ifAvailable) or signal aborted the wait.
function hold(id, { ifAvailable = false, signal } = {}) {
  if (!locks) return Promise.resolve(true);
  return new Promise((resolve) => {
    const opts = ifAvailable ? { ifAvailable: true } : { signal };
    locks.request(lockName(id), opts, (lock) => {
      // Granted as the wait was given up (the race went to "copy"): let it go at once, or
      // the original tab, reloaded, would find its id held by this copy.
      if (lock && signal && signal.aborted) lock = null;
      resolve(!!lock);
      return lock ? new Promise(() => {}) : undefined;  // held for the document's life
    }).catch(() => resolve(false));  // aborted
  });
}

// Resolves true when another live tab answers that it holds id.
function someoneHas(channel, id, signal) {
  if (!channel) return new Promise(() => {});
  return new Promise((resolve) => {
    const onMessage = (ev) => {
      if (ev.data && ev.data.type === "mine" && ev.data.id === id) {
        channel.removeEventListener("message", onMessage);
        resolve(true);
      }
    };
    channel.addEventListener("message", onMessage);
    signal.addEventListener("abort", () => channel.removeEventListener("message", onMessage));
    channel.postMessage({ type: "who", id });
  });
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener("abort", () => clearTimeout(t));
});

// → Promise<{tabId, duplicate}>: duplicate when this tab's stored id belongs to another live
// tab (this one is its copy). Call once, as early as possible.
export async function claimTab() {
  const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(CHANNEL) : null;
  let mine = null;
  // Answer copies of this tab (and tabs asking about an id that is not ours: silence).
  if (channel) {
    channel.addEventListener("message", (ev) => {
      if (mine && ev.data && ev.data.type === "who" && ev.data.id === mine) channel.postMessage({ type: "mine", id: mine });
    });
  }
  const stored = read();
  let duplicate = false;
  if (stored) {
    if (locks) {
      if (!(await hold(stored, { ifAvailable: true }))) {
        const stop = new AbortController();
        const outcome = await Promise.race([
          hold(stored, { signal: stop.signal }).then((held) => (held ? "ours" : "copy")),
          someoneHas(channel, stored, stop.signal).then(() => "copy"),
          sleep(CONTESTED_WAIT_MS, stop.signal).then(() => "copy"),
        ]);
        stop.abort();
        duplicate = outcome === "copy";
      }
    } else if (channel) {
      const stop = new AbortController();
      duplicate = await Promise.race([someoneHas(channel, stored, stop.signal), sleep(FALLBACK_WAIT_MS, stop.signal).then(() => false)]);
      stop.abort();
    }
  }
  const id = stored && !duplicate ? stored : freshId();
  if (id !== stored) {
    write(id);
    hold(id);  // a fresh name: free at once
  }
  mine = id;
  return { tabId: id, duplicate };
}
