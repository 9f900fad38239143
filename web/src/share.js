// Shared sessions (docs/protocol.md §2f): the owner of a terminal or a screen invites a user
// (or makes a single-use link), sees who is in the session and who has control, hands
// control to a viewer and takes it back; a viewer sees the same and may ask for control;
// invitations arriving on this socket are offered with a Join button, and a link
// (#join=S&device=D&target=T&token=K) joins once logged in. The same for a screen: a join
// opens the screen view (main.js picks the kind from the target), and a viewer given control
// sends its pointer and keys (ScreenSession.setMode).
//
// data-testid: share-panel, share-user, share-invite, share-link, share-participants
// (one share-participant each, data-role, data-session, data-control), share-handoff
// (data-session), share-takeback, share-control-notice (the owner's page while a viewer has
// control: its keys reach no shell), share-request, share-revoke, share-requests,
// share-invites (one share-join button each, data-session).
// state.share: {role: "owner"|"viewer"|null, ownerSessionId, participants, controller,
// invites: [{session_id, device_id, target_id, from, token}], requests: [{viewer_session_id, user}]}.

import { request } from "./session.js";

export function setupShare({ $, state, getSocket, getSession, join }) {
  state.share = { role: null, ownerSessionId: null, participants: [], controller: "", invites: [], requests: [] };
  const sh = state.share;

  function el(tag, text, attrs = {}) {
    const e = document.createElement(tag);
    if (text) e.textContent = text;
    for (const [k, v] of Object.entries(attrs)) e.dataset[k] = v;
    return e;
  }

  function mySession() {
    const s = getSession();
    return s && !s.ended && s.id ? s : null;
  }

  // The page's own session may type when it has control (a viewer) or nobody else has (the owner).
  function applyControl() {
    const s = mySession();
    if (!s || sh.role !== "viewer") return;
    s.setMode(sh.controller === s.id ? "interactive" : "view");
  }

  function render() {
    const panel = $("share-panel");
    if (!panel) return;
    const s = mySession();
    panel.hidden = !s && sh.invites.length === 0;
    const owner = !!s && sh.role !== "viewer";
    $("share-invite").disabled = !owner;
    $("share-revoke").disabled = !owner;
    $("share-takeback").hidden = !owner || !sh.controller;
    // The owner's keys are refused (and audited) while a viewer has control: say so.
    const notice = $("share-control-notice");
    const holder = sh.participants.find((p) => p.session_id === sh.controller);
    notice.hidden = !owner || !sh.controller;
    const what = s && s.video ? "your pointer and keys do not reach the screen" : "what you type is not sent";
    notice.textContent = notice.hidden ? "" :
      `${holder ? holder.user : "A viewer"} has control: ${what} until you take control back.`;
    $("share-request").hidden = !s || sh.role !== "viewer" || sh.controller === s.id;
    const list = $("share-participants");
    list.replaceChildren();
    for (const p of sh.participants) {
      const has = sh.controller ? p.session_id === sh.controller : p.role === "owner";
      const li = el("li", `${p.user} (${p.role})${has ? " \u2013 has control" : ""}`,
        { testid: "share-participant", role: p.role, session: p.session_id, control: String(has) });
      if (owner && p.role === "viewer" && !has) {
        const b = el("button", "Hand control", { testid: "share-handoff", session: p.session_id });
        b.type = "button";
        b.addEventListener("click", () => control(p.session_id));
        li.append(" ", b);
      }
      list.append(li);
    }
    const reqs = $("share-requests");
    reqs.replaceChildren(...sh.requests.map((r) => el("li", `${r.user} asks for control`)));
    const inv = $("share-invites");
    inv.replaceChildren();
    for (const i of sh.invites) {
      const li = el("li", `${i.from} invites you to watch ${i.target_id} on ${i.device_id} `);
      const b = el("button", "Join", { testid: "share-join", session: i.session_id });
      b.type = "button";
      b.addEventListener("click", () => joinInvite(i));
      li.append(b);
      inv.append(li);
    }
  }

  async function invite(user) {
    const s = mySession();
    if (!s) throw new Error("no session to share");
    const body = { session_id: s.id };
    if (user) body.user = user;
    const ack = await request(getSocket(), "share:invite", body);
    if (!user) {
      const q = new URLSearchParams({ join: s.id, device: s.deviceId, target: s.targetId, token: ack.token });
      const link = `${location.origin}${location.pathname}#${q.toString()}`;
      $("share-link").value = link;
      return link;
    }
    $("share-link").value = `Invitation sent to ${user}.`;
    return ack.token;
  }

  async function control(to) {
    const s = mySession();
    if (!s) throw new Error("no session");
    const ack = await request(getSocket(), "share:control", { session_id: s.id, to: to || null });
    sh.requests = sh.requests.filter((r) => r.viewer_session_id !== to);
    render();
    return ack.controller;
  }

  async function askControl() {
    const s = mySession();
    if (s) await request(getSocket(), "share:request", { session_id: s.id });
  }

  async function revoke() {
    const s = mySession();
    if (s) await request(getSocket(), "share:revoke", { session_id: s.id });
  }

  function joinInvite(i) {
    sh.invites = sh.invites.filter((x) => x !== i);
    sh.role = "viewer";
    render();
    return join(i.device_id, i.target_id, { session_id: i.session_id, token: i.token });
  }

  // A link opened before or after the login: join once the socket is up.
  function fromHash() {
    const q = new URLSearchParams(location.hash.replace(/^#/, ""));
    if (!q.get("join") || !q.get("token")) return null;
    history.replaceState(null, "", location.pathname + location.search);
    return { session_id: q.get("join"), device_id: q.get("device"), target_id: q.get("target"),
      token: q.get("token"), from: "a link" };
  }
  let pendingLink = fromHash();

  function onConnected() {
    if (pendingLink) {
      const i = pendingLink;
      pendingLink = null;
      joinInvite(i);
    }
  }

  function onSessionOpened(s, joining) {
    sh.role = joining ? "viewer" : "owner";
    sh.ownerSessionId = joining ? joining.session_id : s.id;
    sh.participants = [];
    sh.controller = "";
    sh.requests = [];
    render();
  }

  function wire(socket) {
    socket.on("share:invited", (d) => { sh.invites.push(d); render(); });
    socket.on("share:state", (d) => {
      const s = mySession();
      if (!s || d.session_id !== s.id) return;
      sh.ownerSessionId = d.owner_session_id;
      sh.participants = d.participants || [];
      sh.controller = d.controller || "";
      applyControl();
      render();
    });
    socket.on("share:control_requested", (d) => {
      const s = mySession();
      if (!s || d.session_id !== s.id) return;
      sh.requests.push(d);
      render();
    });
  }

  function init() {
    $("share-invite").addEventListener("click", () => invite($("share-user").value.trim()).catch(() => {}));
    $("share-takeback").addEventListener("click", () => control(null).catch(() => {}));
    $("share-request").addEventListener("click", () => askControl().catch(() => {}));
    $("share-revoke").addEventListener("click", () => revoke().catch(() => {}));
    render();
  }

  return { init, wire, render, onConnected, onSessionOpened, invite, control, askControl, revoke,
    joinInvite: (i) => joinInvite(i) };
}
