// The session's coming policy end (docs/protocol.md §2, `session:warning`):
// a bar with a countdown and, when the device allows it, a "Stay connected"
// button that sends `session:extend`. For an idle timeout any typing also puts
// the end off; the device then clears the warning itself.

const COUNTDOWN_MS = 1000;
const REASONS = {
  idle_timeout: "for inactivity",
  max_duration: "at its maximum length",
  grant_expired: "when its grant expires",
};

export function setupWarning({ $, state, extendRequest }) {
  let timer = null;
  let endsAt = 0;

  function render() {
    const w = state.warning;
    if (!w) return;
    const left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
    const then = w.extendable ? "Type anything or press Stay connected to keep it."
      : "This cannot be extended: save your work.";
    const failed = w.extendError ? ` Could not extend it: ${w.extendMessage}` : "";
    $("session-warning-message").textContent =
      `This session ends in ${left} s ${REASONS[w.reason] || `(${w.reason})`}. ${then}${failed}`;
  }

  function hide() {
    clearInterval(timer);
    timer = null;
    state.warning = null;
    $("session-warning").hidden = true;
    $("session-warning").dataset.reason = "";
  }

  // A `session:warning` for the current session.
  function show(data) {
    if (data.cleared) {
      if (state.warning && state.warning.reason === data.reason) hide();
      return;
    }
    endsAt = Date.now() + data.ends_in_s * 1000;
    state.warning = {
      reason: data.reason, endsInS: data.ends_in_s, extendable: !!data.extendable, extendError: null, extendMessage: null,
    };
    const bar = $("session-warning");
    bar.dataset.reason = data.reason;
    $("session-extend").hidden = !data.extendable;
    $("session-extend").disabled = false;
    bar.hidden = false;
    render();
    clearInterval(timer);
    timer = setInterval(render, COUNTDOWN_MS);
  }

  // "Stay connected": resolves with the device's answer; hides the bar when it agreed.
  async function extend() {
    $("session-extend").disabled = true;
    try {
      await extendRequest();
      hide();
      return true;
    } catch (e) {
      if (state.warning) {
        state.warning.extendError = e.code || "internal";
        state.warning.extendMessage = e.message || e.code;
        render();
      }
      return false;
    } finally {
      $("session-extend").disabled = false;
    }
  }

  $("session-extend").addEventListener("click", () => { extend(); });
  return { show, hide, extend };
}
