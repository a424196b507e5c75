"""The public service's log: one file that rotates, shared by every uvicorn worker.

``geomap serve`` (and ``geomap run``, which starts it) hands uvicorn :func:`uvicorn_log_config`: the
``uvicorn`` and ``geomap`` loggers write WARNING and above to standard error and to
``config.LOG_DIR / "public.log"``, rotated at ``GEOMAP_LOG_MAX_BYTES`` (10 MiB) with
``GEOMAP_LOG_BACKUPS`` (5) old files kept: at most (1 + backups) × max bytes on disk, whatever an
outage or an attack throws at it (the outage log lines are throttled as well, :mod:`geomap.web.outage`).

Several worker processes write the same file, so :class:`SharedRotatingFileHandler` rolls it over
under an exclusive ``flock`` and re-checks the size there (one worker rotates, not each), and a
worker whose file was rotated by another reopens the new file (as ``WatchedFileHandler`` does)
instead of writing on into ``public.log.1``.
"""

from __future__ import annotations

import fcntl
import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from geomap import config

LOG_NAME = "public.log"


class SharedRotatingFileHandler(RotatingFileHandler):
    """A size-rotated log file that several processes may write (see the module doc)."""

    def __init__(self, filename: str, maxBytes: int = 0, backupCount: int = 0,  # noqa: N803 (logging's names)
                 encoding: str | None = "utf-8") -> None:
        Path(filename).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(filename, maxBytes=maxBytes, backupCount=backupCount, encoding=encoding)
        self._lockfile = open(f"{self.baseFilename}.lock", "a")  # noqa: SIM115 (held for the handler's life)

    def _moved(self) -> bool:
        try:
            st = os.stat(self.baseFilename)
        except FileNotFoundError:
            return True
        if self.stream is None:
            return False
        own = os.fstat(self.stream.fileno())
        return (st.st_ino, st.st_dev) != (own.st_ino, own.st_dev)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fcntl.flock(self._lockfile, fcntl.LOCK_EX)
            try:
                if self.stream is not None and self._moved():  # another worker rotated it
                    self.stream.close()
                    self.stream = None  # type: ignore[assignment]
                if self.stream is None:
                    self.stream = self._open()
                if self.shouldRollover(record):
                    self.doRollover()
                logging.FileHandler.emit(self, record)
            finally:
                fcntl.flock(self._lockfile, fcntl.LOCK_UN)
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        super().close()
        if not self._lockfile.closed:
            self._lockfile.close()


def log_file() -> Path:
    return config.LOG_DIR / LOG_NAME


def uvicorn_log_config(level: str = "WARNING") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn: standard error plus the rotated file, for uvicorn and geomap."""
    fmt = {"format": "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"}
    handlers = ["stderr", "file"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": fmt},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"},
            "file": {"()": SharedRotatingFileHandler, "formatter": "plain", "filename": str(log_file()),
                     "maxBytes": config.LOG_MAX_BYTES, "backupCount": config.LOG_BACKUPS},
        },
        "loggers": {
            "uvicorn": {"handlers": handlers, "level": level, "propagate": False},
            "uvicorn.error": {"handlers": handlers, "level": level, "propagate": False},
            "uvicorn.access": {"handlers": handlers, "level": level, "propagate": False},
            "geomap": {"handlers": handlers, "level": level, "propagate": False},
            "qr": {"handlers": handlers, "level": level, "propagate": False},
        },
    }
