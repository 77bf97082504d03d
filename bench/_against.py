"""Run one benchmark on an older commit and on this tree, taking turns, in one run: a change
that must not make something slower prints both figures side by side, measured against the
same Redis on the same (possibly busy) machine a few seconds apart.

`python -m bench.pairing --against HEAD~1 --rounds 3`: the older commit is taken with
`git archive` into a temporary folder and its benchmark runs there, with this interpreter
(`--after REV` does the same for the newer side, so the tree can change meanwhile).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from bench._servers import redis_url

ROOT = Path(__file__).resolve().parents[1]


def compare(module: str, rev: str, rounds: int, after: str | None = None) -> None:
    """`python -m <module>` on `rev` and on this tree (or on commit `after`), `rounds` times
    each, alternating."""
    with tempfile.TemporaryDirectory() as tmp:
        trees = [(f"{_git('rev-parse', '--short', rev)} (before)", _extract(rev, tmp, "before"))]
        if after is None:
            trees.append(("this tree (after)", ROOT))
        else:
            trees.append(
                (f"{_git('rev-parse', '--short', after)} (after)", _extract(after, tmp, "after"))
            )
        with redis_url() as url:
            for n in range(1, rounds + 1):
                for label, tree in trees:
                    print(f"-- round {n}, {label}", flush=True)
                    _run(module, tree, url)


def _run(module: str, tree: Path, redis_url: str) -> None:
    env = {**os.environ, "REDIS_URL": redis_url, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-m", module], cwd=tree, env=env, capture_output=True, text=True
    )
    print(out.stdout.rstrip(), flush=True)
    if out.returncode != 0:
        print(out.stderr[-2000:], file=sys.stderr, flush=True)


def _extract(rev: str, tmp: str, name: str) -> Path:
    into = Path(tmp) / name
    into.mkdir()
    archive = Path(tmp) / f"{name}.tar"
    with archive.open("wb") as f:
        subprocess.run(["git", "archive", rev], cwd=ROOT, stdout=f, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
