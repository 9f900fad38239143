"""The owner's keystroke round trip while 0, 1 and 5 observers watch the session (issue 15)."""

from __future__ import annotations

from porthole.bench.context import Context
from porthole.bench.figures import Figure, num
from porthole.bench.sections import notes, section
from porthole.bench.stack import Session
from porthole.errors import PortholeError

KEY = "observers"
LEVELS = (0, 1, 5)
# Keystrokes not counted after each change of level (a join's scrollback burst, a leave).
BLOCK_WARMUP = 2


def name(level: int) -> str:
    return f"Porthole, owner's keystroke, {level} observer{'' if level == 1 else 's'}"


@section(
    KEY,
    "Keystroke round trip with observers",
    """\
The owner of a terminal (the pion client, JSON mode, opened through the real
server as in the keystroke section) types one byte and times its echo, as in
the keystroke section, while 0, 1 or 5 observers watch the same shell: each
observer (a second user of the org, with a view grant: an owner cannot join
their own session) joined with a one-time link (`share:invite`, then
`session:open` with `join`; docs/protocol.md §2f), has a peer connection of its own to the device
and reads everything it is sent (its output is read and dropped as it arrives,
so it never pushes back). porthole-core reads the shell once and sends every
echo to the owner and to each observer. The levels take turns in rounds (0, 1,
5, then 5, 1, 0: observers join on the way up and leave on the way down), so
that other load on the machine falls on all of them alike; the first keystrokes
after each change are not counted. The ratio is each level's median (p99) over
the median (p99) with no observer.""",
)
async def run(ctx: Context) -> list[Figure]:
    p = ctx.params
    stack, peer = await ctx.stack(), await ctx.peer()
    container = await ctx.container("observers")
    n, interval_ms = p.observer_keystrokes, p.keystroke_interval_ms
    timeout = (n + p.keystroke_warmup) * (interval_ms / 1000 + 0.05) + 60
    how = (
        f"{n * p.observer_rounds} keystrokes, one per {interval_ms:g} ms, levels taking turns in "
        f"{p.observer_rounds} rounds of {n}, each after {BLOCK_WARMUP} warm-up ({p.keystroke_warmup} in the first)"
    )
    owner = await stack.open_terminal(container)
    watchers: list[Session] = []
    samples: dict[int, list[float]] = {lvl: [] for lvl in LEVELS}
    lost = dict.fromkeys(LEVELS, 0)
    # The least output any observer received while the owner typed at that level, bytes.
    seen = dict.fromkeys(LEVELS, 0)

    async def watched() -> list[int]:
        return [(await peer.request("watch", peer=w.peer))["bytes"] for w in watchers]

    async def observe(level: int) -> None:
        while len(watchers) < level:
            w = await stack.open_terminal(container, join=await stack.share_link(owner))
            await peer.request("watch", peer=w.peer)
            watchers.append(w)
        while len(watchers) > level:
            await stack.close_terminal(watchers.pop())

    try:
        first = True
        for r in range(p.observer_rounds):
            for level in LEVELS if r % 2 == 0 else LEVELS[::-1]:
                await observe(level)
                before = await watched()
                warmup = p.keystroke_warmup if first else BLOCK_WARMUP
                first = False
                got = await peer.request(
                    "echo", peer=owner.peer, count=n, warmup=warmup, interval_ms=interval_ms, timeout=timeout
                )
                samples[level] += [x / 1000 for x in got["rtt_us"]]
                lost[level] += got["lost"]
                after = await watched()
                if after:
                    least = min(b - a for a, b in zip(before, after, strict=True))
                    if least <= 0:
                        raise PortholeError("internal", f"an observer received nothing while the owner typed ({level})")
                    seen[level] += least
    finally:
        for w in watchers:
            await stack.close_terminal(w)
        await stack.close_terminal(owner)
    figs = [
        Figure.of(KEY, name(lvl), "porthole", "ms", samples[lvl], how, lost=lost[lvl], observers=lvl) for lvl in LEVELS
    ]
    base = figs[0]
    for f, lvl in zip(figs[1:], LEVELS[1:], strict=True):
        f.extra["observer_bytes_min"] = seen[lvl]
        f.extra["vs"] = {
            "of": "0 observers",
            "median": ratio(f.median, base.median),
            "worst": ratio(f.worst, base.worst),
        }
    return figs


def ratio(x: float, base: float) -> float | None:
    if not base or x != x or base != base:  # none with no baseline (or NaN)
        return None
    return round(x / base, 3)


@notes(KEY)
def _notes(figs: list[Figure]) -> list[str]:
    by = {f.extra.get("observers"): f for f in figs}
    z, one, five = by[0], by[1], by[5]

    def vs(f: Figure) -> str:
        v = f.extra["vs"]
        return f"×{num(v['median'])} median, ×{num(v['worst'])} p99"

    return [
        f"While others watch a shared terminal, the owner's keystroke comes back in {num(z.median)} ms median "
        f"(p99 {num(z.worst)} ms) with no observer, {num(one.median)} ms (p99 {num(one.worst)}; {vs(one)}) "
        f"with 1 and {num(five.median)} ms (p99 {num(five.worst)}; {vs(five)}) with 5, each observer on a "
        f"peer connection of its own reading every echo."
    ]
