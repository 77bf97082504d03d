"""The API and the agent worker, started as real processes, refuse secrets anyone could know:
each exits non-zero with one line naming the variable, before it listens or connects."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest

from lobby.settings import DEV_LIVEKIT_KEY, DEV_LIVEKIT_SECRET, Settings
from scripts.stack import ROOT, free_port
from tests.support.wait import wait_http_ready
from tests.support.worker import settings_env

API = [sys.executable, "-m", "api"]
WORKER = [sys.executable, "-m", "agent.worker", "start"]


def _env(settings: Settings, **change: str) -> dict[str, str]:
    """The environment of a process for the test stack, on the repository's LiveKit pair."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCO_", "LIVEKIT_"))}
    env.update(settings_env(settings))
    env.update(LIVEKIT_API_KEY=DEV_LIVEKIT_KEY, LIVEKIT_API_SECRET=DEV_LIVEKIT_SECRET)
    env.pop("DISCO_ENV", None)
    env.update(change)
    return env


def _refusals(runs: list[tuple[list[str], dict[str, str]]]) -> list[str]:
    """Start the processes together (each takes seconds to import) and return what each said
    on stderr; every one must exit non-zero."""
    procs = [
        subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for argv, env in runs
    ]
    said = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode != 0, (out + err).decode(errors="replace")
        said.append(err.decode(errors="replace"))
    return said


# Importing the agent worker (livekit-agents and its plugins) is slow on a loaded machine.
@pytest.mark.timeout(300)
def test_the_repository_livekit_pair_is_refused_outside_dev(settings: Settings) -> None:
    env = _env(settings)
    for said in _refusals([(API, env), (WORKER, env)]):
        assert "LIVEKIT_API_SECRET" in said
        assert DEV_LIVEKIT_SECRET not in said


@pytest.mark.timeout(300)
def test_a_weak_or_shared_session_secret_is_refused_even_in_dev(settings: Settings) -> None:
    secrets = ["short", DEV_LIVEKIT_SECRET]
    runs = [(API, _env(settings, DISCO_ENV="dev", DISCO_JWT_SECRET=s)) for s in secrets]
    for secret, said in zip(secrets, _refusals(runs), strict=True):
        assert "DISCO_JWT_SECRET" in said
        assert secret not in said.replace("DISCO_JWT_SECRET", "")


def test_the_same_environment_starts_the_api_in_dev(settings: Settings) -> None:
    """The refusals above are the secrets', not something else in the environment."""
    port = free_port()
    env = _env(dataclasses.replace(settings, api_port=port), DISCO_ENV="dev")
    proc = subprocess.Popen(API, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        wait_http_ready(f"http://127.0.0.1:{port}/healthz", alive=lambda: proc.poll() is None)
    finally:
        proc.terminate()
        proc.wait(20)
