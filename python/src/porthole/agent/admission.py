"""Whether an offer may become a session, decided before anything exists: the
offer's shape (wire.py limits), the grant (signature, session, replay), the
target (inventory and policy), the exec spec, the SDP, the size and the
device's session limit. The server is not trusted blindly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from porthole import errors, grant, resume, share, wire
from porthole.agent import iceoffer, policy
from porthole.agent.config import AgentConfig
from porthole.agent.shell import TERM
from porthole.agent.targets import Inventory, Target
from porthole.agent.views import SessionRegistry
from porthole.errors import PortholeError

NO_ICE = iceoffer.IceOffer()


@dataclass(frozen=True)
class Admitted:
    """An offer that passed every check."""

    session_id: str
    grant: grant.Grant
    target: Target
    spec: policy.ExecSpec | None  # None for a screen
    sdp: str
    cols: int
    rows: int
    ice: iceoffer.IceOffer = NO_ICE  # the device's ICE servers for this session, its policy
    resume_from: str = ""  # the detached session whose shell this one takes back (a checked resume token)
    join_of: str = ""  # the session whose shared terminal this one watches (a checked share token, share.py)
    join_issued_at: int = 0  # when its share token was signed (a revoke refuses older ones)


def size(data: dict) -> tuple[int, int]:
    cols, rows = data.get("cols", wire.DEFAULT_COLS), data.get("rows", wire.DEFAULT_ROWS)
    if not (wire.dim_ok(cols) and wire.dim_ok(rows)):
        raise PortholeError(errors.BAD_REQUEST, f"cols and rows must be integers {wire.MIN_DIM}..{wire.MAX_DIM}")
    return cols, rows


class Admission:
    def __init__(
        self,
        cfg: AgentConfig,
        public_key,
        inventory: Inventory,
        sessions: SessionRegistry,
        accepting: Callable[[], bool],
    ) -> None:
        self.cfg = cfg
        self.public_key = public_key
        self.inventory = inventory
        self.sessions = sessions
        self._accepting = accepting
        self._used_grants: dict[str, float] = {}  # session id → when it may be forgotten
        self._used_resumes: dict[str, float] = {}  # resume token id → when it may be forgotten
        self._used_shares: dict[str, float] = {}  # share token id → when it may be forgotten

    async def check(self, data: object) -> Admitted:
        """The offer as an Admitted, or PortholeError with the code the client gets."""
        if not isinstance(data, dict):
            raise PortholeError(errors.BAD_REQUEST, "offer must be an object")
        sid = data.get("session_id")
        if not wire.session_id_ok(sid):
            raise PortholeError(errors.BAD_REQUEST, "session_id missing or malformed")
        if not self._accepting():
            raise PortholeError(errors.SIDECAR_UNAVAILABLE, "agent is shutting down")
        g = grant.verify(data.get("grant"), self.public_key, device_id=self.cfg.device_id)
        if g.session_id != sid:
            raise PortholeError(errors.GRANT_INVALID, "grant is for another session")
        self._forget_old_grants()
        if sid in self._used_grants or self.sessions.get(sid) is not None:
            raise PortholeError(errors.GRANT_REPLAYED, "grant already used")
        self._used_grants[sid] = g.expires_at + grant.LEEWAY_S
        if g.kind not in ("terminal", "screen"):
            raise PortholeError(errors.GRANT_INVALID, f"sessions of kind {g.kind!r} are not supported")
        target = await self._target(g.target_id)
        if (g.kind == "screen") != (target.kind == "screen"):
            raise PortholeError(errors.BAD_REQUEST, f"target {g.target_id!r} cannot be opened as a {g.kind}")
        # A viewer runs nothing: it watches another session's shell.
        spec = await self._exec_spec(target, data) if g.kind == "terminal" and "join" not in data else None
        sdp = data.get("sdp")
        if (
            data.get("type", "offer") != "offer"
            or not isinstance(sdp, str)
            or not sdp
            or len(sdp.encode()) > wire.MAX_SDP_BYTES
        ):
            raise PortholeError(errors.BAD_SDP, "offer sdp missing, not a string or over 64 KiB")
        cols, rows = size(data)
        ice = iceoffer.parse(data)
        resume_from = self._resume(data.get("resume"), g) if "resume" in data else ""
        join_of, join_iat = self._join(data.get("join"), g) if "join" in data else ("", 0)
        # A resume takes the place of its detached session, which already counts.
        if self.sessions.count() >= self.cfg.max_sessions + (1 if resume_from else 0):
            raise PortholeError(errors.TOO_MANY_SESSIONS, "device session limit reached")
        return Admitted(sid, g, target, spec, sdp, cols, rows, ice, resume_from, join_of, join_iat)

    def _join(self, raw: object, g: grant.Grant) -> tuple[str, int]:
        """The session whose terminal a share token (docs/protocol.md §2f) lets this grant watch,
        and when the token was signed. The owner's session is checked when the channel opens."""
        if not isinstance(raw, dict) or not wire.session_id_ok(raw.get("session_id")):
            raise PortholeError(errors.BAD_REQUEST, "join must be {session_id, token}")
        if g.mode != "view":
            raise PortholeError(wire.SHARE_INVALID, "a viewer's grant must be in view mode")
        tok = share.verify(raw.get("token"), self.public_key, device_id=self.cfg.device_id)
        if tok.session_id != raw["session_id"] or tok.target_id != g.target_id:
            raise PortholeError(wire.SHARE_INVALID, "the share token is for another session or target")
        if not share.for_user(tok, g.user, g.org):
            raise PortholeError(wire.SHARE_DENIED, "the invitation is not for this user")
        if tok.token_id in self._used_shares:
            raise PortholeError(wire.SHARE_USED, "this invitation was used already")
        self._used_shares[tok.token_id] = tok.expires_at + grant.LEEWAY_S
        owner = self.sessions.get(tok.session_id)
        if owner is None or owner.grant.kind != g.kind or owner.grant.target_id != g.target_id:
            raise PortholeError(wire.SHARE_NOT_FOUND, "no shared session of that kind and target on this device")
        return tok.session_id, tok.issued_at

    def _resume(self, raw: object, g: grant.Grant) -> str:
        """The detached session a resume token (docs/protocol.md §4c) lets this grant take back."""
        if not isinstance(raw, dict) or not wire.session_id_ok(raw.get("session_id")):
            raise PortholeError(errors.BAD_REQUEST, "resume must be {session_id, token}")
        if g.kind != "terminal":
            raise PortholeError(wire.RESUME_INVALID, "only a terminal can be resumed")
        tok = resume.verify(raw.get("token"), self.public_key, device_id=self.cfg.device_id)
        if tok.session_id != raw["session_id"]:
            raise PortholeError(wire.RESUME_INVALID, "the resume token is for another session")
        if tok.user != g.user or tok.org != g.org:
            raise PortholeError(wire.RESUME_WRONG_USER, "the resume token is another user's")
        if tok.token_id in self._used_resumes:
            raise PortholeError(wire.RESUME_REPLAYED, "resume token already used")
        self._used_resumes[tok.token_id] = tok.expires_at + grant.LEEWAY_S
        old = self.sessions.get(tok.session_id)
        if old is None or not old.detached:
            raise PortholeError(wire.RESUME_NOT_FOUND, "no detached shell of that session on this device")
        if old.grant.user != g.user or old.grant.org != g.org:
            raise PortholeError(wire.RESUME_WRONG_USER, "that session is another user's")
        if old.grant.target_id != g.target_id or tok.target_id != g.target_id or old.grant.mode != g.mode:
            raise PortholeError(wire.RESUME_INVALID, "the resume is for another target or mode")
        return tok.session_id

    async def _target(self, target_id: str) -> Target:
        target = self.inventory.get(target_id)
        if target is None:
            await self.inventory.refresh()
            target = self.inventory.get(target_id)
        if target is None and target_id in self.inventory.excluded:
            raise PortholeError(policy.TARGET_DENIED, f"target {target_id!r} may not be opened on this device")
        if target is None:
            raise PortholeError(errors.TARGET_NOT_FOUND, f"no target {target_id!r} on this device")
        return target

    async def _exec_spec(self, target: Target, data: dict) -> policy.ExecSpec:
        """What to run, from policy; the offer may only pick among allowed shells, users, variables."""
        p, t = self.cfg.policy, self.cfg.targets
        spec = policy.exec_spec(
            p,
            default_cmd=t.shell,
            default_user=t.user,
            term=TERM,
            shell=data.get("shell"),
            user=data.get("user"),
            env=data.get("env"),
        )
        if target.kind == "host":
            return policy.ExecSpec(cmd=t.host_shell_command, user="", env=spec.env, shell_name="")
        if not spec.user and not p.allow_root:
            api = self.inventory.api
            if api is None:
                raise PortholeError(errors.EXEC_FAILED, "docker is not reachable")
            try:
                info = await asyncio.to_thread(api.inspect_container, target.container_id)
            except Exception as e:
                raise PortholeError(errors.TARGET_NOT_FOUND, "container is gone") from e
            image_user = (info.get("Config") or {}).get("User") or ""
            if not image_user or policy.is_root(image_user):
                raise PortholeError(policy.ROOT_DENIED, "the image's default user is root, which is not allowed")
        return spec

    def _forget_old_grants(self) -> None:
        now = time.time()
        for sid in [s for s, until in self._used_grants.items() if until < now]:
            del self._used_grants[sid]
        for tid in [t for t, until in self._used_resumes.items() if until < now]:
            del self._used_resumes[tid]
        for tid in [t for t, until in self._used_shares.items() if until < now]:
            del self._used_shares[tid]
