"""Through a TURN relay next to the direct path: setup and keystroke round trip."""

from __future__ import annotations

import asyncio

from porthole.bench.context import Context
from porthole.bench.figures import Figure, num
from porthole.bench.sections import notes, section

KEY = "relay"
# Between sessions: let the previous one's close (exec kill, peer close, TURN deallocation) finish.
PAUSE_S = 0.3
# Keystroke blocks, taking turns between the two paths.
BLOCKS = 5


@section(
    KEY,
    "Through a TURN relay",
    """\
The same pion client opens Porthole terminals in two ways, taking turns:
**direct** = as in the setup and keystroke sections (host candidates, peer to
peer); **relayed** = the client uses its relay candidate only
(iceTransportPolicy `relay`), allocated on a real coturn (Debian's, the
shipped deploy/coturn/turnserver.conf) with the TURN credential minted for it
in the `session:open` ack; the device answers from its host candidate through
the relay. coturn runs on the bench's own address, so the relay adds its
processing and one more hop, not a network's distance. Setup is offer → first
prompt byte (as in the setup section; the relayed client is created after the
ack, when it has its credential, and its gathering, TURN allocation included,
is not in the total); keystrokes as in the keystroke section, JSON mode.""",
)
async def run(ctx: Context) -> list[Figure]:
    p = ctx.params
    stack, peer = await ctx.stack(), await ctx.peer()
    if stack.turn is None:
        raise RuntimeError("no relay: install Debian's coturn (make setup does) to run this section")
    container = await ctx.container("relay")
    setups: dict[str, list[float]] = {"direct": [], "relayed": []}
    for _ in range(p.setup_reps):
        for path in setups:
            s = await stack.open_terminal(container, relay=path == "relayed")
            setups[path].append((s.signaling_s + s.ice_dtls_s + s.exec_s) * 1000)
            await stack.close_terminal(s)
            await asyncio.sleep(PAUSE_S)

    direct = await stack.open_terminal(container)
    relayed = await stack.open_terminal(container, relay=True)
    per_block = max(1, p.keystrokes // BLOCKS)
    interval_ms = p.keystroke_interval_ms
    timeout = (per_block + p.keystroke_warmup) * (interval_ms / 1000 + 0.05) + 60
    rtt: dict[str, list[float]] = {"direct": [], "relayed": []}
    lost = dict.fromkeys(rtt, 0)
    try:
        for block in range(BLOCKS):
            for path, s in (("direct", direct), ("relayed", relayed)):
                r = await peer.request(
                    "echo",
                    peer=s.peer,
                    count=per_block,
                    interval_ms=interval_ms,
                    warmup=p.keystroke_warmup if block == 0 else 2,
                    timeout=timeout,
                )
                rtt[path] += [x / 1000 for x in r["rtt_us"]]
                lost[path] += r["lost"]
    finally:
        await stack.close_terminal(direct)
        await stack.close_terminal(relayed)
    n = f"{p.setup_reps} sessions each, one at a time, the two paths taking turns"
    k = f"{per_block * BLOCKS} keystrokes each, one per {interval_ms:g} ms, in {BLOCKS} blocks taking turns"
    return [
        Figure.of(KEY, "setup, direct: offer → first prompt byte", "reference", "ms", setups["direct"], n),
        Figure.of(KEY, "setup, through the relay: offer → first prompt byte", "porthole", "ms", setups["relayed"], n),
        Figure.of(KEY, "keystroke round trip, direct", "reference", "ms", rtt["direct"], k, lost=lost["direct"]),
        Figure.of(
            KEY, "keystroke round trip, through the relay", "porthole", "ms", rtt["relayed"], k, lost=lost["relayed"]
        ),
    ]


@notes(KEY)
def _notes(figs: list[Figure]) -> list[str]:
    by = {f.name: f for f in figs}
    sd, sr = by["setup, direct: offer → first prompt byte"], by["setup, through the relay: offer → first prompt byte"]
    kd, kr = by["keystroke round trip, direct"], by["keystroke round trip, through the relay"]
    return [
        f"Through a local coturn a session is ready {num(sr.median)} ms after the offer (direct "
        f"{num(sd.median)} ms), and a keystroke comes back in {num(kr.median)} ms (direct {num(kd.median)} ms, "
        f"ratio {kr.median / kd.median:.2f}): the relay's own cost, without a network's distance."
    ]
