"""The scale bench's arithmetic (bench/_scale_figures.py): percentiles, the figures made of the
clients' records, /proc parsing and the verdicts it prints."""

from __future__ import annotations

import math
import os
import statistics
from pathlib import Path

import pytest

from bench._scale_figures import (
    ClientRecord,
    busiest,
    cpu_seconds,
    lobby_figures,
    lobby_verdicts,
    per_room,
    quantile,
    stat_fields,
    table,
    thread_seconds,
    verdict,
)


def test_quantile_matches_the_standard_librarys_inclusive_method() -> None:
    values = [0.5, 0.1, 0.9, 0.3, 0.7, 0.2]
    for pct in (1, 50, 90, 99):
        expected = statistics.quantiles(values, n=100, method="inclusive")[pct - 1]
        assert quantile(values, pct) == pytest.approx(expected)
    assert quantile([], 50) != quantile([], 50)  # NaN
    assert quantile([0.4], 99) == 0.4
    assert quantile([1.0, 2.0], 0) == 1.0 and quantile([1.0, 2.0], 100) == 2.0


def test_a_pair_is_timed_from_its_later_join_reply_to_its_later_proposal() -> None:
    records = [
        ClientRecord(0, join_sent=10.0, join_replied=10.2, proposed=10.5),
        ClientRecord(0, join_sent=10.1, join_replied=10.4, proposed=10.3),
        # the second pair: one join failed, so it is not timed, nor counted unproposed
        ClientRecord(1, join_sent=11.0, join_replied=None, proposed=None),
        ClientRecord(1, join_sent=11.0, join_replied=11.1, proposed=None),
        # the third: both joined, one never saw the proposal
        ClientRecord(2, join_sent=12.0, join_replied=12.1, proposed=12.3),
        ClientRecord(2, join_sent=12.0, join_replied=12.1, proposed=None),
    ]
    f = lobby_figures(records, rpc_calls=9, rpc_failed=1)
    assert f.joins == pytest.approx((0.2, 0.3, 0.1, 0.1, 0.1))
    assert f.proposals == pytest.approx((0.1,))  # 10.5 - 10.4
    assert f.from_sent == pytest.approx((0.4,))  # 10.5 - 10.1
    assert (f.pairs, f.unproposed, f.failed_joins) == (3, 1, 1)
    assert (f.rpc_calls, f.rpc_failed) == (9, 1)


def test_proc_stat_fields_survive_a_command_name_with_spaces_and_parentheses() -> None:
    line = "4242 (python (worker) x) S 17 4242 4242 0 -1 4194560 1 0 0 0 130 25 0 0 20 0 9 0"
    assert stat_fields(line) == (17, 155)


def test_cpu_seconds_of_this_process_grows_with_work() -> None:
    before = cpu_seconds(os.getpid())
    sum(i * i for i in range(2_000_000))
    assert cpu_seconds(os.getpid()) > before


def test_cpu_seconds_counts_children(tmp_path: Path) -> None:
    ticks = os.sysconf("SC_CLK_TCK")
    fake = {1: (0, 5 * ticks), 2: (1, 2 * ticks), 3: (2, ticks), 4: (9, 7 * ticks)}
    for pid, (parent, used) in fake.items():
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(
            f"{pid} (p) S {parent} 0 0 0 0 0 0 0 0 0 {used} 0 0 0"
        )
    (tmp_path / "self").mkdir()
    assert cpu_seconds(2, tmp_path) == pytest.approx(3.0)
    assert cpu_seconds(1, tmp_path) == pytest.approx(8.0)


def test_thread_seconds_sum_threads_by_name(tmp_path: Path) -> None:
    ticks = os.sysconf("SC_CLK_TCK")
    task = tmp_path / "7" / "task"
    for tid, name, used in ((7, "python", 3), (8, "tokio-runtime-w", 5), (9, "tokio-runtime-w", 1)):
        (task / str(tid)).mkdir(parents=True)
        (task / str(tid) / "stat").write_text(
            f"{tid} ({name}) S 1 0 0 0 0 0 0 0 0 0 {used * ticks} 0 0 0"
        )
    found = thread_seconds(7, tmp_path)
    assert found == pytest.approx({"python": 3.0, "tokio-runtime-w": 6.0})
    assert busiest({"python": 1.0}, found, top=1) == "tokio-runtime-w 6.00 s"


def test_verdicts_say_pass_miss_or_not_measured() -> None:
    assert verdict("p99", 0.2, 0.25).startswith("PASS")
    assert verdict("p99", 0.25, 0.25).startswith("MISS")
    assert verdict("p99", math.nan, 0.25).startswith("NOT MEASURED")
    assert "0.40 %" in verdict("idle room", 0.004, 0.005, "%")
    assert all(line.startswith("NOT MEASURED") for line in lobby_verdicts(None))
    failing = lobby_figures([ClientRecord(0, 1.0, None, None)], rpc_calls=2, rpc_failed=2)
    assert lobby_verdicts(failing)[2].startswith("MISS")
    assert per_room(0.5, 10.0, 5) == pytest.approx(0.01)
    assert math.isnan(per_room(1.0, 10.0, 0))


def test_table_aligns_columns() -> None:
    out = table(("N", "deployment", "p99"), [("20", "one", "5"), ("400", "two nodes", "120")])
    lines = out.splitlines()
    assert lines[0] == "  N  deployment  p99"
    assert lines[2] == " 20  one           5"
    assert lines[3] == "400  two nodes   120"
