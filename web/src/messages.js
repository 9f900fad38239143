// Human messages for the error codes of docs/protocol.md §6.

const MESSAGES = {
  bad_request: "The server refused a malformed request (a bug in this page?).",
  unauthenticated: "Your login expired or is no longer valid. Log in again.",
  rate_limited: "Too many failed logins. Wait a minute, then try again.",
  denied: "You are not allowed to open this target.",
  device_offline: "The device is offline.",
  target_not_found: "That container is gone (or the device no longer offers it). Pick another target.",
  too_many_sessions: "You have too many sessions open. Close one first.",
  session_not_found: "The server no longer knows this session (it ended or expired). Open it again.",
  grant_invalid: "The device refused the session grant as invalid. Does the device have this server's public key?",
  grant_expired: "The session's grant expired (if at the start: try again, and check the device's clock).",
  grant_wrong_device: "The device refused a grant meant for another device.",
  grant_replayed: "The device refused a grant that was already used. Open a new session.",
  resume_invalid: "That session cannot be resumed. Open a new one.",
  resume_expired: "The resume took too long; try again.",
  resume_replayed: "That resume was already used. Try again.",
  resume_wrong_user: "That session belongs to another user.",
  resume_denied: "You may no longer open that target, so its session cannot be resumed.",
  resume_not_found: "The device no longer keeps that session's shell (it ended or waited too long). Open a new one.",
  bad_sdp: "The device could not understand this browser's connection offer.",
  ice_failed: "No network path to the device (ICE failed). A TURN server may be needed between you and the device.",
  exec_failed: "The shell could not be started on the target.",
  sidecar_unavailable: "The device's WebRTC engine is not running. Try again shortly.",
  bad_message: "The device refused a terminal message.",
  message_too_large: "The device refused a terminal message that was too large.",
  internal: "An internal error occurred; details are in the server or device log.",
  network: "Cannot reach the server.",
  server_gone: "The connection to the server was lost; the session ended.",
  channel_closed: "The terminal connection closed.",
  // Device policy (docs/security.md).
  target_denied: "The device does not allow sessions into that container.",
  root_denied: "The device does not allow shells as root.",
  user_denied: "The device does not allow that user.",
  shell_denied: "The device does not offer that shell.",
  env_denied: "The device does not accept that environment variable.",
  audit_unavailable: "The audit log cannot be written, so no new session may start.",
  view_only: "View only: you see the output, your typing is ignored.",
  idle_timeout: "The session was closed after being idle too long.",
  max_duration: "The session reached its maximum length and was closed.",
  not_extendable: "The device's policy does not allow this session to be extended.",
  login_expired: "Your login expired, and with it this session. Log in again.",
};

export function describe(code, fallback) {
  return MESSAGES[code] || fallback || `Error: ${code}`;
}
