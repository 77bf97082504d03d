"""The scale bench's arithmetic, apart from the servers: what each simulated client recorded,
the figures made of those records, the CPU time of a process read from /proc, and the table
and the verdicts it prints. Nothing here talks to a server, so tests/unit can check it."""

from __future__ import annotations

import collections
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

# The targets, judged at TARGET_N people with the sharded cluster.
TARGET_N = 400
JOIN_P99_TARGET = 1.0  # seconds
PROPOSAL_P99_TARGET = 0.25  # seconds
IDLE_ROOM_TARGET = 0.005  # of one core


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """One simulated client's run: which pair it belongs to, when it sent `lobby.join` and
    had the reply (None: the join failed), and when it first saw its proposal, by the
    `proposed` event or a `lobby.status` reply naming the match (None: never)."""

    pair: int
    join_sent: float
    join_replied: float | None
    proposed: float | None


@dataclass(frozen=True, slots=True)
class LobbyFigures:
    joins: tuple[float, ...]  # lobby.join round trips, seconds
    proposals: tuple[float, ...]  # per pair: both joined -> both saw the proposal
    from_sent: tuple[float, ...]  # per pair: the later join sent -> both saw the proposal
    pairs: int
    unproposed: int  # pairs that both joined but were not both shown a proposal in time
    failed_joins: int
    rpc_calls: int
    rpc_failed: int  # lobby RPC attempts that failed, retried ones included


def quantile(values: Sequence[float], pct: float) -> float:
    """The `pct` percentile (0..100) of `values`, linear between the closest ranks (as
    `statistics.quantiles(method="inclusive")`); NaN when there is none."""
    if not values:
        return math.nan
    if len(values) == 1:
        return float(values[0])
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def lobby_figures(records: Iterable[ClientRecord], rpc_calls: int, rpc_failed: int) -> LobbyFigures:
    """The figures of one run from every client's record (the two of a pair may have run in
    different processes: records meet here by pair number)."""
    by_pair: dict[int, list[ClientRecord]] = collections.defaultdict(list)
    joins: list[float] = []
    failed = 0
    for r in records:
        by_pair[r.pair].append(r)
        if r.join_replied is None:
            failed += 1
        else:
            joins.append(r.join_replied - r.join_sent)
    proposals: list[float] = []
    from_sent: list[float] = []
    unproposed = 0
    for pair in by_pair.values():
        replied = [r.join_replied for r in pair]
        if len(pair) != 2 or None in replied:
            continue
        seen = [r.proposed for r in pair]
        if None in seen:
            unproposed += 1
            continue
        both = max(s for s in seen if s is not None)
        proposals.append(both - max(t for t in replied if t is not None))
        from_sent.append(both - max(r.join_sent for r in pair))
    return LobbyFigures(
        tuple(joins),
        tuple(proposals),
        tuple(from_sent),
        len(by_pair),
        unproposed,
        failed,
        rpc_calls,
        rpc_failed,
    )


# -- CPU time from /proc ------------------------------------------------------------------------
def stat_fields(line: str) -> tuple[int, int]:
    """(parent pid, user + system clock ticks) from a /proc/<pid>/stat line. The command name
    is in parentheses and may hold spaces or parentheses itself: fields are counted after the
    last ')'."""
    rest = line[line.rindex(")") + 2 :].split()
    # After the name: state, ppid, ... utime is field 14 of the line, stime 15 (proc(5)).
    return int(rest[1]), int(rest[11]) + int(rest[12])


def cpu_seconds(pid: int, proc: Path = Path("/proc")) -> float:
    """CPU time (user + system, every thread) used so far by `pid` and its descendants."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent, used = stat_fields((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue  # it ended while we looked
        parents[int(entry.name)], ticks[int(entry.name)] = parent, used
    tree = {pid}
    grew = True
    while grew:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(ticks.get(p, 0) for p in tree) / os.sysconf("SC_CLK_TCK")


def thread_seconds(pid: int, proc: Path = Path("/proc")) -> dict[str, float]:
    """CPU time so far of `pid`'s threads, summed by thread name (the SDK's native threads
    are named, Python's all carry the process's name): where a process spends its time."""
    found: dict[str, float] = collections.defaultdict(float)
    tick = os.sysconf("SC_CLK_TCK")
    for task in (proc / str(pid) / "task").iterdir():
        try:
            line = (task / "stat").read_text()
        except OSError:
            continue
        name = line[line.index("(") + 1 : line.rindex(")")]
        found[name] += stat_fields(line)[1] / tick
    return dict(found)


def busiest(before: dict[str, float], after: dict[str, float], top: int = 4) -> str:
    """The threads (by name) that used the most CPU between two readings."""
    used = {k: v - before.get(k, 0.0) for k, v in after.items()}
    ranked = sorted(used.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in ranked)


# -- printing -----------------------------------------------------------------------------------
def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.0f}"


LOBBY_HEADER = (
    "N",
    "deployment",
    "settle s",
    "join p50 ms",
    "join p99 ms",
    "prop p50 ms",
    "prop p99 ms",
    "prop p99 from sent ms",
    "pairs",
    "unproposed",
    "failed RPCs",
)


def lobby_row(n: int, label: str, settle: float, f: LobbyFigures) -> tuple[str, ...]:
    return (
        str(n),
        label,
        f"{settle:.1f}",
        ms(quantile(f.joins, 50)),
        ms(quantile(f.joins, 99)),
        ms(quantile(f.proposals, 50)),
        ms(quantile(f.proposals, 99)),
        ms(quantile(f.from_sent, 99)),
        str(f.pairs),
        str(f.unproposed),
        f"{f.rpc_failed} of {f.rpc_calls}",
    )


def table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A plain text table, columns as wide as their widest cell; column `left` (a label) is
    aligned left, the others (figures) right."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def verdict(label: str, value: float | None, limit: float, unit: str = "ms") -> str:
    """One target's line: PASS when the value is measured and below the limit, else MISS (or
    NOT MEASURED when the run did not measure it)."""
    scale, digits = (1000, 0) if unit == "ms" else (100, 2)
    target = f"{label} < {limit * scale:g} {unit}"
    if value is None or math.isnan(value):
        return f"NOT MEASURED  {target}"
    mark = "PASS" if value < limit else "MISS"
    return f"{mark:12}  {target}: {value * scale:.{digits}f} {unit}"


def lobby_verdicts(f: LobbyFigures | None) -> list[str]:
    """The lobby targets against the run at TARGET_N people with the sharded cluster."""
    at = f"N = {TARGET_N}, 2 nodes, 4 shards"
    if f is None:
        return [
            verdict(f"{at}: join-reply p99", None, JOIN_P99_TARGET),
            verdict(f"{at}: proposal p99", None, PROPOSAL_P99_TARGET),
            f"NOT MEASURED  {at}: no failed RPC",
        ]
    failed = f.rpc_failed + f.failed_joins + f.unproposed
    return [
        verdict(f"{at}: join-reply p99", quantile(f.joins, 99), JOIN_P99_TARGET),
        verdict(f"{at}: proposal p99", quantile(f.proposals, 99), PROPOSAL_P99_TARGET),
        f"{'PASS' if failed == 0 else 'MISS':12}  {at}: no failed RPC: "
        f"{f.rpc_failed} failed attempts, {f.failed_joins} failed joins,"
        f" {f.unproposed} pairs not proposed",
    ]


def per_room(cpu: float, window: float, rooms: int) -> float:
    """Share of one core a room used: CPU seconds over the window, per room."""
    return cpu / window / rooms if rooms and window > 0 else math.nan


def pct(share: float) -> str:
    return "-" if math.isnan(share) else f"{share * 100:.2f}"
