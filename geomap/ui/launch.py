"""Starting the staff app as a process: ``geomap run``, the browser tests and the benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from geomap import config
from geomap.errors import GeomapError


def command(port: int, host: str = "127.0.0.1") -> list[str]:
    """The ``streamlit run app.py`` command line (run it from the project folder)."""
    return [sys.executable, "-m", "streamlit", "run", str(config.PROJECT_DIR / "app.py"),
            "--server.address", host, "--server.port", str(port), "--server.headless", "true",
            "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(cmd: list[str], health_path: str, name: str, env: Mapping[str, str], port: int,
           timeout_s: float = 120) -> Iterator[tuple[str, int]]:
    """Run ``cmd`` (a server listening on ``port``) with ``env`` added; yields (url, pid) once ``health_path``
    answers 200, and stops it afterwards. ``name`` says which server in the error when it exits or never answers."""
    proc = subprocess.Popen(cmd, cwd=config.PROJECT_DIR, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{url}{health_path}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None:
                    raise GeomapError(f"The {name} exited: {proc.stderr.read().decode()[-2000:]}") from None
                if time.monotonic() > deadline:
                    raise GeomapError(f"The {name} did not answer within {timeout_s:.0f} s.") from None
                time.sleep(0.5)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def staff_app(env: Mapping[str, str], port: int | None = None, timeout_s: float = 120) -> Iterator[tuple[str, int]]:
    """Run the staff app with ``env`` added to the environment; yields (url, pid) once it answers."""
    port = port or free_port()
    with served(command(port), "/_stcore/health", "staff app", env, port, timeout_s) as running:
        yield running
