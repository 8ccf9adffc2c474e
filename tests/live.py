"""A real `make dev` process on loopback, for tests that talk HTTP to the running stack."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infra.local import loopback

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def eventually(check: Any, timeout: float = 20.0) -> Any:
    """Poll `check` with back-off until it returns something truthy (or time runs out)."""
    delay, deadline = 0.05, time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def call(method: str, url: str, key: str | None = None, body: Any = None, form: str | None = None) -> Any:
    """`method url` on the running stack: (status, body), no redirect followed."""
    status, _headers, data = loopback.call(method, url, key, body, form, timeout=10)
    return status, data


def clean_env() -> dict[str, str]:
    """This process's environment without its AWS and Hark settings (a newcomer's shell)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HARK_"))}


def _start(state_dir: Path, env: dict[str, str], stdout: Any) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.local.devstack", "--port", str(port), "--state-dir", str(state_dir)],
        cwd=ROOT,
        env=env,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, port


def start_make_dev(state_dir: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """`make dev` as a newcomer runs it, its output kept for `stop_make_dev`: the process and
    dev.json's content (with the `port` it serves on)."""
    proc, port = _start(state_dir, clean_env(), subprocess.PIPE)
    dev_json = state_dir / "dev.json"
    if not eventually(dev_json.exists, 60):
        proc.kill()
        output, _ = proc.communicate(timeout=10)
        raise AssertionError(f"make dev did not write dev.json:\n{output}")
    info: dict[str, Any] = json.loads(dev_json.read_text())
    info["port"] = port
    return proc, info


def stop_make_dev(proc: subprocess.Popen[str]) -> str:
    """Ctrl-C, as a developer stops `make dev`: everything it printed."""
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=20)
    return output


@contextmanager
def dev_stack(state_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """Start `python -m infra.local.devstack` on a free port; yield .hark/dev.json's content."""
    env = clean_env()
    env.update(extra_env or {})
    # Output goes to a file: an unread pipe fills up after a few hundred request log lines
    # and then blocks the server.
    log_path = state_dir / "devstack.log"
    log = log_path.open("w")
    proc, _port = _start(state_dir, env, log)
    try:
        dev_json = state_dir / "dev.json"
        if not eventually(lambda: dev_json.exists() or proc.poll() is not None, 90) or not dev_json.exists():
            proc.kill()
            proc.wait(timeout=10)
            raise RuntimeError(f"make dev did not start:\n{log_path.read_text()}")
        info: dict[str, Any] = json.loads(dev_json.read_text())
        info["state_dir"] = str(state_dir)
        info["log"] = str(log_path)
        yield info
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()
