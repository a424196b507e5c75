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
def staff_app(env: Mapping[str, str], port: int | None = None, timeout_s: float = 120) -> Iterator[tuple[str, int]]:
    """Run the staff app with ``env`` added to the environment; yields (url, pid) once it answers."""
    port = port or free_port()
    proc = subprocess.Popen(command(port), cwd=config.PROJECT_DIR, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None:
                    raise GeomapError(f"The staff app exited: {proc.stderr.read().decode()[-2000:]}") from None
                if time.monotonic() > deadline:
                    raise GeomapError(f"The staff app did not answer within {timeout_s:.0f} s.") from None
                time.sleep(0.5)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
