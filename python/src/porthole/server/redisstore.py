"""The Store on Redis: the routing state every server node shares (`server.redis_url`).

Every key starts with the prefix (default `porthole:`):

| key | type | holds |
|---|---|---|
| `sess:{id}` | hash | `data` (the Session's JSON but what changes), `client`, `agent`, `offered`, `*_deadline` |
| `sess:{id}:ice` | list | candidates held before the offer (JSON) |
| `sessions`, `sessions:{client,agent,user,device}:{x}` | sets | session ids: all, and by what looks them up |
| `unoffered` | sorted set | sessions never offered, by offer deadline |
| `detached:{client,agent}` | sorted sets | sessions whose socket is gone (`""`), by the deadline to rebind |
| `ended:{id}` | string | a session remembered as ended (not to be restored), expiring |
| `clients`, `agents`, `targets` | hashes | socket id → ClientConn / AgentConn (JSON) / the agent's inventory |
| `routes` | hash | device id → its agent socket |
| `revoked:{jti}` | string | a revoked login token, expiring when the token would have |
| `attempts:{key}` | sorted set | an attempt budget (limiter.py): attempts by time; expires with its window |
| `node:{id}`, `node:{id}:recorded` | strings | a node's heartbeat (expires unless renewed); its state is here |
| `nodes` | set | every node that beat and was not cleaned up after |

Whatever must be decided once (remove a session, mark it offered, replace a
device's route, reserve an attempt) is one Lua script: atomic in Redis,
whichever node asks. Sockets and sessions carry no TTL: a node that dies is
found by its expired heartbeat and its sockets are cleaned up by another
node (nodes.py). A command that meets a Redis restart is retried a few times
(`RETRY_*`) before it fails.

A method is added in three places: store.py (the interface), memstore.py,
here; the contract tests in tests/server/test_store.py run on both stores.
"""

from __future__ import annotations

import dataclasses
import json
import math
import secrets
import time
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from porthole.server.sessions import Session
from porthole.server.store import AgentConn, ClientConn, Store

DEFAULT_PREFIX = "porthole:"
# A command is retried this many times (backing off from 50 ms to 1 s) when the
# connection breaks: a Redis restart takes about a second.
RETRY_ATTEMPTS = 6
RETRY_BASE_S, RETRY_CAP_S = 0.05, 1.0
# A Redis that does not answer within this long is down for this command.
SOCKET_TIMEOUT_S = 5.0

# Session attributes kept apart from `data` (they change), by their hash field.
_MUTABLE = {
    "client_sid": "client",
    "agent_sid": "agent",
    "offered": "offered",
    "client_deadline": "client_deadline",
    "agent_deadline": "agent_deadline",
}
_SESSION_ATTRS = {f.name for f in dataclasses.fields(Session)}

# KEYS: none (every key is built from the prefix, ARGV[1]); ARGV[2]: session id.
_REMOVE_SESSION = """
local p, id = ARGV[1], ARGV[2]
local k = p .. 'sess:' .. id
local h = redis.call('HGETALL', k)
if #h == 0 then return nil end
local ice = redis.call('LRANGE', k .. ':ice', 0, -1)
redis.call('DEL', k, k .. ':ice')
local f = {}
for i = 1, #h, 2 do f[h[i]] = h[i + 1] end
local d = cjson.decode(f['data'])
redis.call('SREM', p .. 'sessions', id)
if f['client'] and f['client'] ~= '' then redis.call('SREM', p .. 'sessions:client:' .. f['client'], id) end
if f['agent'] and f['agent'] ~= '' then redis.call('SREM', p .. 'sessions:agent:' .. f['agent'], id) end
redis.call('SREM', p .. 'sessions:user:' .. d['user'], id)
redis.call('SREM', p .. 'sessions:device:' .. d['device_id'], id)
redis.call('ZREM', p .. 'unoffered', id)
redis.call('ZREM', p .. 'detached:client', id)
redis.call('ZREM', p .. 'detached:agent', id)
return {h, ice}
"""

# A socket is gone: its sessions get side "" and a deadline to be bound again by.
# ARGV: prefix, side (client|agent), socket id, deadline.
_DETACH = """
local p, side, sid, deadline = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local idx = p .. 'sessions:' .. side .. ':' .. sid
local ids = redis.call('SMEMBERS', idx)
for _, id in ipairs(ids) do
  local k = p .. 'sess:' .. id
  redis.call('HSET', k, side, '', side .. '_deadline', deadline)
  redis.call('ZADD', p .. 'detached:' .. side, deadline, id)
end
redis.call('DEL', idx)
return ids
"""

# Binds one session's side to a socket when the session's `check` attribute (in data) matches.
# ARGV: prefix, side, session id, check attribute, its value, the new socket id.
_REBIND = """
local p, side, id = ARGV[1], ARGV[2], ARGV[3]
local k = p .. 'sess:' .. id
local data = redis.call('HGET', k, 'data')
if not data then return 0 end
if cjson.decode(data)[ARGV[4]] ~= ARGV[5] then return 0 end
local old = redis.call('HGET', k, side)
if old and old ~= '' then redis.call('SREM', p .. 'sessions:' .. side .. ':' .. old, id) end
redis.call('SADD', p .. 'sessions:' .. side .. ':' .. ARGV[6], id)
redis.call('HSET', k, side, ARGV[6], side .. '_deadline', '')
redis.call('ZREM', p .. 'detached:' .. side, id)
return 1
"""

_MARK_OFFERED = """
local p, id = ARGV[1], ARGV[2]
local k = p .. 'sess:' .. id
local offered = redis.call('HGET', k, 'offered')
if not offered or offered == '1' then return nil end
redis.call('HSET', k, 'offered', '1')
redis.call('ZREM', p .. 'unoffered', id)
local ice = redis.call('LRANGE', k .. ':ice', 0, -1)
redis.call('DEL', k .. ':ice')
return {'ok', unpack(ice)}
"""

_HOLD_CANDIDATE = """
local k = ARGV[1] .. 'sess:' .. ARGV[2]
if redis.call('EXISTS', k) == 0 then return 0 end
if redis.call('LLEN', k .. ':ice') >= tonumber(ARGV[4]) then return 0 end
redis.call('RPUSH', k .. ':ice', ARGV[3])
return 1
"""

# Removes a hash field once: returns its value to the one caller that removed it.
_HPOP = """
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then redis.call('HDEL', KEYS[1], ARGV[1]) end
return v
"""

_SET_IF_PRESENT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""

_ADD_AGENT = """
local p, sid, dev = ARGV[1], ARGV[2], ARGV[3]
local old = redis.call('HGET', p .. 'routes', dev)
redis.call('HSET', p .. 'agents', sid, ARGV[4])
redis.call('HSET', p .. 'targets', sid, ARGV[5])
redis.call('HSET', p .. 'routes', dev, sid)
if old == sid then return nil end
return old
"""

_REMOVE_AGENT = """
local p, sid = ARGV[1], ARGV[2]
local v = redis.call('HGET', p .. 'agents', sid)
if not v then return nil end
local t = redis.call('HGET', p .. 'targets', sid)
redis.call('HDEL', p .. 'agents', sid)
redis.call('HDEL', p .. 'targets', sid)
return {v, t}
"""

_RELEASE_DEVICE = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
"""

_SET_TARGETS = """
local p, sid = ARGV[1], ARGV[2]
if redis.call('HEXISTS', p .. 'agents', sid) == 0 then return 0 end
if redis.call('HGET', p .. 'targets', sid) == ARGV[3] then return 0 end
redis.call('HSET', p .. 'targets', sid, ARGV[3])
return 1
"""

# KEYS: the budgets' keys; ARGV: at, since, ttl (ms), a nonce, then each key's limit.
_RESERVE_ATTEMPT = """
for i, k in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', k, '-inf', '(' .. ARGV[2])
  if redis.call('ZCARD', k) >= tonumber(ARGV[4 + i]) then return 0 end
end
for i, k in ipairs(KEYS) do
  redis.call('ZADD', k, ARGV[1], ARGV[1] .. ':' .. ARGV[4])
  redis.call('ZREMRANGEBYRANK', k, 0, -(tonumber(ARGV[4 + i]) + 1))
  redis.call('PEXPIRE', k, ARGV[3])
end
return 1
"""

_RELEASE_ATTEMPT = """
for _, k in ipairs(KEYS) do
  local m = redis.call('ZRANGEBYSCORE', k, ARGV[1], ARGV[1], 'LIMIT', 0, 1)
  if m[1] then redis.call('ZREM', k, m[1]) end
end
return 1
"""

# KEYS: heartbeat, marker, nodes; ARGV: ttl (ms), node id. The marker (no TTL) says the
# node's state is still recorded: gone when Redis lost its data or another node claimed it.
_NODE_ALIVE = """
local had = redis.call('EXISTS', KEYS[2])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
redis.call('SET', KEYS[2], '1')
redis.call('SADD', KEYS[3], ARGV[2])
return had
"""

# KEYS: heartbeat, marker, nodes; ARGV: node id.
_CLAIM_NODE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('SREM', KEYS[3], ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
return 1
"""


def _dumps(v: Any) -> str:
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def _field(attr: str, v: Any) -> str:
    """A changing Session attribute as its hash field: offered "1"/"0", no deadline ""."""
    if attr == "offered":
        return "1" if v else "0"
    if v is None:
        return ""
    return repr(v) if isinstance(v, float) else str(v)


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


class RedisStore(Store):
    shared = True

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.p = prefix
        self.r: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=SOCKET_TIMEOUT_S,
            retry=Retry(ExponentialBackoff(cap=RETRY_CAP_S, base=RETRY_BASE_S), RETRY_ATTEMPTS),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            health_check_interval=10,
        )
        reg = self.r.register_script
        self._remove_session = reg(_REMOVE_SESSION)
        self._detach = reg(_DETACH)
        self._rebind = reg(_REBIND)
        self._mark_offered = reg(_MARK_OFFERED)
        self._hold_candidate = reg(_HOLD_CANDIDATE)
        self._hpop = reg(_HPOP)
        self._set_if_present = reg(_SET_IF_PRESENT)
        self._add_agent = reg(_ADD_AGENT)
        self._remove_agent = reg(_REMOVE_AGENT)
        self._release_device = reg(_RELEASE_DEVICE)
        self._set_targets = reg(_SET_TARGETS)
        self._reserve_attempt = reg(_RESERVE_ATTEMPT)
        self._release_attempt = reg(_RELEASE_ATTEMPT)
        self._node_alive = reg(_NODE_ALIVE)
        self._claim_node = reg(_CLAIM_NODE)

    async def ping(self) -> None:
        await self.r.ping()

    async def close(self) -> None:
        await self.r.aclose()

    # ---------------------------------------------------------------- sessions

    def _k(self, session_id: str) -> str:
        return f"{self.p}sess:{session_id}"

    @staticmethod
    def _session(h: dict[Any, Any], ice: list[Any]) -> Session:
        f = {_s(k): _s(v) for k, v in h.items()}
        d = json.loads(f["data"])
        d["client_sid"], d["agent_sid"] = f.get("client", ""), f.get("agent", "")
        d["offered"] = f.get("offered") == "1"
        for attr in ("client_deadline", "agent_deadline"):
            if attr in _SESSION_ATTRS:
                d[attr] = float(f[attr]) if f.get(attr) else None
        d["pending_ice"] = [json.loads(_s(c)) for c in ice]
        return Session(**d)

    @staticmethod
    def _fields(session: Session) -> dict[str, Any]:
        """The session's hash: `data` and the attributes that change."""
        d = dataclasses.asdict(session)
        del d["pending_ice"]
        out: dict[str, Any] = {}
        for attr, field_name in _MUTABLE.items():
            out[field_name] = _field(attr, d.pop(attr, None))
        out["data"] = _dumps(d)
        return out

    def _write_session(self, tx: Any, session: Session) -> None:
        """Queues the commands that store the session and its indexes on a pipeline."""
        k, p, sid = self._k(session.id), self.p, session.id
        tx.delete(k, k + ":ice")
        tx.hset(k, mapping=self._fields(session))
        if session.pending_ice:
            tx.rpush(k + ":ice", *[_dumps(c) for c in session.pending_ice])
        tx.sadd(p + "sessions", sid)
        if session.client_sid:
            tx.sadd(f"{p}sessions:client:{session.client_sid}", sid)
        if session.agent_sid:
            tx.sadd(f"{p}sessions:agent:{session.agent_sid}", sid)
        tx.sadd(f"{p}sessions:user:{session.user}", sid)
        tx.sadd(f"{p}sessions:device:{session.device_id}", sid)
        if not session.offered:
            tx.zadd(p + "unoffered", {sid: session.offer_deadline})
        for side in ("client", "agent"):
            deadline = getattr(session, f"{side}_deadline", None)
            if deadline is not None:
                tx.zadd(f"{p}detached:{side}", {sid: deadline})

    async def add_session(self, session: Session) -> None:
        async with self.r.pipeline(transaction=True) as tx:
            self._write_session(tx, session)
            await tx.execute()

    async def get_session(self, session_id: str) -> Session | None:
        found = await self._sessions([session_id])
        return found[0] if found else None

    async def _sessions(self, ids: list[Any]) -> list[Session]:
        """The sessions with these ids that still exist, oldest first."""
        if not ids:
            return []
        async with self.r.pipeline(transaction=True) as tx:
            for i in ids:
                tx.hgetall(self._k(_s(i)))
                tx.lrange(self._k(_s(i)) + ":ice", 0, -1)
            res = await tx.execute()
        out = [self._session(h, ice) for h, ice in zip(res[0::2], res[1::2], strict=True) if h]
        return sorted(out, key=lambda s: (s.created_at, s.id))

    async def remove_session(self, session_id: str) -> Session | None:
        r = await self._remove_session(args=[self.p, session_id])
        if r is None:
            return None
        flat, ice = r
        return self._session(dict(zip(flat[0::2], flat[1::2], strict=True)), ice)

    async def mark_offered(self, session_id: str) -> list[dict[str, Any] | None] | None:
        r = await self._mark_offered(args=[self.p, session_id])
        return None if r is None else [json.loads(_s(c)) for c in r[1:]]

    async def hold_candidate(self, session_id: str, candidate: dict[str, Any] | None, limit: int) -> bool:
        return bool(await self._hold_candidate(args=[self.p, session_id, _dumps(candidate), limit]))

    async def sessions_of_client(self, client_sid: str) -> list[Session]:
        return await self._sessions(list(await self.r.smembers(f"{self.p}sessions:client:{client_sid}")))

    async def sessions_of_agent(self, agent_sid: str) -> list[Session]:
        return await self._sessions(list(await self.r.smembers(f"{self.p}sessions:agent:{agent_sid}")))

    async def count_sessions(self, user: str | None = None) -> int:
        key = self.p + "sessions" if user is None else f"{self.p}sessions:user:{user}"
        return int(await self.r.scard(key))

    async def unoffered_before(self, deadline: float) -> list[Session]:
        return await self._sessions(list(await self.r.zrangebyscore(self.p + "unoffered", "-inf", f"({deadline!r}")))

    # ---------------------------------------------------------------- signaling losses
    # The methods of the sessions-survive work (issue 11: detach on a lost socket, rebind
    # on re-announce, restore from a device's grant), ready for when the Store has them.

    async def detach_client(self, client_sid: str, deadline: float) -> list[Session]:
        return await self._sessions(await self._detach(args=[self.p, "client", client_sid, repr(deadline)]))

    async def detach_agent(self, agent_sid: str, deadline: float) -> list[Session]:
        return await self._sessions(await self._detach(args=[self.p, "agent", agent_sid, repr(deadline)]))

    async def rebind_client(self, session_id: str, user: str, client_sid: str) -> Session | None:
        if not await self._rebind(args=[self.p, "client", session_id, "user", user, client_sid]):
            return None
        return await self.get_session(session_id)

    async def rebind_agent(self, session_id: str, device_id: str, agent_sid: str) -> Session | None:
        if not await self._rebind(args=[self.p, "agent", session_id, "device_id", device_id, agent_sid]):
            return None
        return await self.get_session(session_id)

    async def restore_session(self, session: Session) -> bool:
        k, ended = self._k(session.id), f"{self.p}ended:{session.id}"
        async with self.r.pipeline(transaction=True) as tx:
            await tx.watch(k, ended)
            if await tx.exists(k, ended):
                return False
            tx.multi()
            self._write_session(tx, session)
            try:
                await tx.execute()
            except WatchError:
                return False  # stored or ended meanwhile by another node
        return True

    async def mark_ended(self, session_id: str, until: float) -> None:
        at_ms = math.ceil(until * 1000)
        if at_ms <= int(time.time() * 1000):  # remembered until a time already past: not at all
            await self.r.delete(f"{self.p}ended:{session_id}")
            return
        await self.r.set(f"{self.p}ended:{session_id}", "1", pxat=at_ms)

    async def was_ended(self, session_id: str) -> bool:
        return bool(await self.r.exists(f"{self.p}ended:{session_id}"))

    async def detached_before(self, deadline: float) -> list[Session]:
        ids: set[Any] = set()
        for side in ("client", "agent"):
            ids.update(await self.r.zrangebyscore(f"{self.p}detached:{side}", "-inf", f"({deadline!r}"))
        return await self._sessions(sorted(ids))

    # ---------------------------------------------------------------- clients

    async def add_client(self, conn: ClientConn) -> None:
        await self.r.hset(self.p + "clients", conn.sid, _dumps(dataclasses.asdict(conn)))

    async def get_client(self, sid: str) -> ClientConn | None:
        v = await self.r.hget(self.p + "clients", sid)
        return ClientConn(**json.loads(v)) if v is not None else None

    async def remove_client(self, sid: str) -> ClientConn | None:
        v = await self._hpop(keys=[self.p + "clients"], args=[sid])
        return ClientConn(**json.loads(v)) if v is not None else None

    async def clients(self) -> list[ClientConn]:
        return [ClientConn(**json.loads(v)) for v in await self.r.hvals(self.p + "clients")]

    async def set_client_expiry(self, sid: str, expires_at: float) -> None:
        c = await self.get_client(sid)
        if c is not None:
            c.token_expires_at = expires_at
            await self._set_if_present(keys=[self.p + "clients"], args=[sid, _dumps(dataclasses.asdict(c))])

    # ---------------------------------------------------------------- agents and device routes

    @staticmethod
    def _agent(v: Any, targets: Any) -> AgentConn:
        a = AgentConn(**json.loads(v))
        a.targets = json.loads(targets) if targets is not None else []
        return a

    async def add_agent(self, conn: AgentConn) -> str | None:
        d = dataclasses.asdict(conn)
        targets = d.pop("targets")
        old = await self._add_agent(args=[self.p, conn.sid, conn.device_id, _dumps(d), _dumps(targets)])
        return _s(old) if old is not None else None

    async def get_agent(self, sid: str) -> AgentConn | None:
        async with self.r.pipeline(transaction=True) as tx:
            tx.hget(self.p + "agents", sid)
            tx.hget(self.p + "targets", sid)
            v, t = await tx.execute()
        return self._agent(v, t) if v is not None else None

    async def remove_agent(self, sid: str) -> AgentConn | None:
        r = await self._remove_agent(args=[self.p, sid])
        return self._agent(r[0], r[1] if len(r) > 1 else None) if r is not None else None

    async def release_device(self, device_id: str, sid: str) -> bool:
        return bool(await self._release_device(keys=[self.p + "routes"], args=[device_id, sid]))

    async def agent_for(self, device_id: str) -> AgentConn | None:
        sid = await self.r.hget(self.p + "routes", device_id)
        return await self.get_agent(_s(sid)) if sid is not None else None

    async def set_targets(self, sid: str, targets: list[dict[str, str]]) -> bool:
        return bool(await self._set_targets(args=[self.p, sid, _dumps(targets)]))

    async def agents(self) -> list[AgentConn]:
        async with self.r.pipeline(transaction=True) as tx:
            tx.hgetall(self.p + "agents")
            tx.hgetall(self.p + "targets")
            agents, targets = await tx.execute()
        return [self._agent(v, targets.get(sid)) for sid, v in agents.items()]

    async def revoke_token(self, token_id: str, expires_at: float) -> None:
        # Kept until the token expires anyway (at least a second: a past expiry would delete it at once).
        at_ms = max(math.ceil(expires_at * 1000), int(time.time() * 1000) + 1000)
        await self.r.set(f"{self.p}revoked:{token_id}", "1", pxat=at_ms)

    async def token_revoked(self, token_id: str) -> bool:
        return bool(await self.r.exists(f"{self.p}revoked:{token_id}"))

    # ---------------------------------------------------------------- attempt budgets (limiter.py)

    def _ak(self, key: str) -> str:
        return f"{self.p}attempts:{key}"

    async def reserve_attempt(self, budgets: list[tuple[str, int]], at: float, since: float) -> bool:
        ttl_ms = max(1000, math.ceil((at - since) * 1000) + 1000)
        keys = [self._ak(k) for k, _ in budgets]
        args: list[Any] = [repr(at), repr(since), ttl_ms, secrets.token_hex(4), *[limit for _, limit in budgets]]
        return bool(await self._reserve_attempt(keys=keys, args=args))

    async def release_attempt(self, keys: list[str], at: float) -> None:
        await self._release_attempt(keys=[self._ak(k) for k in keys], args=[repr(at)])

    async def clear_attempts(self, key: str) -> None:
        await self.r.delete(self._ak(key))

    # ---------------------------------------------------------------- nodes

    def _node_keys(self, node: str) -> list[str]:
        return [f"{self.p}node:{node}", f"{self.p}node:{node}:recorded", self.p + "nodes"]

    async def node_alive(self, node: str, ttl_s: float) -> bool:
        return bool(await self._node_alive(keys=self._node_keys(node), args=[int(ttl_s * 1000), node]))

    async def dead_nodes(self) -> list[str]:
        nodes = sorted(_s(n) for n in await self.r.smembers(self.p + "nodes"))
        if not nodes:
            return []
        async with self.r.pipeline(transaction=False) as tx:
            for n in nodes:
                tx.exists(f"{self.p}node:{n}")
            found = await tx.execute()
        return [n for n, f in zip(nodes, found, strict=True) if not f]

    async def claim_node(self, node: str) -> bool:
        return bool(await self._claim_node(keys=self._node_keys(node), args=[node]))
