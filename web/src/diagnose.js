// Why a connection failed, in words: what each side gathered, which pairs
// were tried, whether TURN worked. Fed by a peer connection's events and read
// from getStats() when ICE fails; shown in the error banner and as porthole.diagnosis.
//
// Hints name the first cause that fits, most specific first. Addresses are
// never shown (a user sees candidate types and counts, not the device's IPs).

const TURN_AUTH = [401, 438]; // STUN Unauthorized / Stale Nonce
const UNREACHABLE = 701; // RTCPeerConnectionIceErrorEvent: the server could not be reached

export class IceDiagnosis {
  constructor(iceServers, policy) {
    this.hasTurn = (iceServers || []).some((s) => [].concat(s.urls).some((u) => /^turns?:/.test(u)));
    this.policy = policy || "all";
    this.local = { host: 0, srflx: 0, prflx: 0, relay: 0 };
    this.remote = { host: 0, srflx: 0, prflx: 0, relay: 0 };
    this.turnErrors = []; // {code, text, tcp}
    this.pairs = { total: 0, succeeded: 0, failed: 0, inProgress: 0 };
  }

  // pc.onicecandidate: what this browser gathered.
  gathered(candidate) {
    if (candidate && candidate.type in this.local) this.local[candidate.type] += 1;
  }

  // Candidates the device trickled (RTCIceCandidateInit).
  received(init) {
    const m = init && / typ (host|srflx|prflx|relay)/.exec(init.candidate || "");
    if (m) this.remote[m[1]] += 1;
  }

  // pc.onicecandidateerror: a STUN/TURN server refused or did not answer.
  candidateError(ev) {
    const url = ev.url || "";
    if (!/^turns?:/.test(url)) return;
    this.turnErrors.push({ code: ev.errorCode, text: ev.errorText || "", tcp: /transport=tcp|^turns:/.test(url) });
  }

  async readStats(pc) {
    const stats = await pc.getStats();
    const pairs = { total: 0, succeeded: 0, failed: 0, inProgress: 0 };
    stats.forEach((r) => {
      if (r.type !== "candidate-pair") return;
      pairs.total += 1;
      if (r.state === "succeeded") pairs.succeeded += 1;
      else if (r.state === "failed") pairs.failed += 1;
      else if (r.state === "in-progress") pairs.inProgress += 1;
    });
    this.pairs = pairs;
  }

  // A hint: the most likely reason, in words a user can act on.
  hint() {
    const auth = this.turnErrors.find((e) => TURN_AUTH.includes(e.code));
    if (auth) {
      return "The TURN server refused this browser's credential (" + auth.code + "): it expired or the " +
        "Porthole server and the TURN server do not share the same secret.";
    }
    if (this.hasTurn && this.local.relay === 0) {
      const unreachable = this.turnErrors.some((e) => e.code === UNREACHABLE);
      return "This browser could not allocate on the TURN server" +
        (unreachable ? " (not reachable from this network)." : ".");
    }
    if (!this.hasTurn && this.policy === "relay") {
      return "This session must be relayed, but the server sent no TURN server.";
    }
    const remoteTotal = Object.values(this.remote).reduce((a, b) => a + b, 0);
    if (remoteTotal === 0) {
      return "The device sent no candidate: its WebRTC engine found no usable network interface.";
    }
    if (this.remote.relay === 0 && this.local.relay === 0) {
      return this.hasTurn
        ? "Neither side gathered a relay candidate."
        : "The device gathered no relay candidate: TURN is not configured (or not reachable from the " +
          "device), and no direct path exists between this browser and the device.";
    }
    if (this.remote.relay === 0) {
      return "The device gathered no relay candidate: TURN is not configured or not reachable from the device.";
    }
    return "Every candidate pair failed: a firewall drops the traffic between the relay and a peer.";
  }

  // While a session is slow to connect (ICE still checking after a while): what is known so
  // far, in words. A TURN failure is named as when ICE fails; otherwise where ICE stands.
  slowHint(seconds) {
    let why;
    if (this.turnErrors.length) {
      why = this.hint().replace(/\.$/, "");
    } else if (Object.values(this.remote).reduce((a, b) => a + b, 0) === 0) {
      why = "the device has sent no candidate yet";
    } else if (this.pairs.succeeded === 0) {
      why = `no candidate pair has worked yet (${this.pairs.total} tried, ${this.pairs.failed} failed)`;
    } else {
      why = "a candidate pair works; the connection is being set up";
    }
    return `Still connecting after ${seconds} s: ${why}.`;
  }

  summary() {
    const fmt = (c) => Object.entries(c).filter(([, n]) => n).map(([t, n]) => `${n} ${t}`).join(", ") || "none";
    return `${this.hint()} (this browser gathered ${fmt(this.local)}; the device sent ${fmt(this.remote)}; ` +
      `${this.pairs.total} pair(s) tried, ${this.pairs.failed} failed` +
      (this.turnErrors.length ? `; TURN errors: ${this.turnErrors.map((e) => e.code).join(", ")}` : "") + ")";
  }

  toJSON() {
    return { hint: this.hint(), local: this.local, remote: this.remote, pairs: this.pairs,
      turnErrors: this.turnErrors, hasTurn: this.hasTurn, policy: this.policy };
  }
}
