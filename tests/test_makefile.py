"""``make run`` listens on this machine only unless told twice: HOST alone is refused, HOST with PUBLIC=1 warns."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def check_host(env_host: str | None = None, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("HOST", "PUBLIC")}
    if env_host is not None:
        env["HOST"] = env_host
    return subprocess.run(["make", "-s", "check-host", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60)


def test_the_loopback_is_the_default_and_needs_nothing():
    for host in (None, "127.0.0.1", "localhost"):
        out = check_host(host)
        assert out.returncode == 0 and out.stderr == "", out.stderr


def test_another_host_from_the_environment_or_the_command_line_is_refused_without_public():
    for out in (check_host("0.0.0.0"), check_host(None, "HOST=0.0.0.0")):
        assert out.returncode != 0
        assert "HOST=0.0.0.0 would let other machines reach the app; add PUBLIC=1" in out.stderr


def test_public_1_lets_it_listen_everywhere_with_a_warning():
    out = check_host("0.0.0.0", "PUBLIC=1")
    assert out.returncode == 0
    assert out.stderr.strip() == "warning: the app listens on 0.0.0.0:8501: anyone who can reach this machine can use it"
