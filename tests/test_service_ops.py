"""How the public service runs: a database that does not answer fails a request within the connect
timeout (not the system's minutes), the log rotates (shared by the workers), ``geomap serve`` hands
uvicorn both and leaves forwarded headers to geomap's own rule."""

from __future__ import annotations

import argparse
import logging
import logging.config
import os
import socket
import threading

from geomap import config, db, logs
from geomap.errors import DatabaseUnavailable


def test_connect_timeout_is_set_unless_the_url_names_one(monkeypatch):
    assert db.connect_args("postgresql+psycopg://u@db.example/x") == {"connect_timeout": config.DB_CONNECT_TIMEOUT_S}
    assert config.DB_CONNECT_TIMEOUT_S == 5 and config.DB_POOL_TIMEOUT_S == 10
    assert db.connect_args("postgresql+psycopg://u@db.example/x?connect_timeout=2") == {}
    monkeypatch.setattr(config, "DB_CONNECT_TIMEOUT_S", 0)
    assert db.connect_args("postgresql+psycopg://u@db.example/x") == {}


def test_a_server_that_never_answers_fails_instead_of_hanging(monkeypatch):
    """A socket that accepts the TCP connection and never speaks (a hung server, a black-holing firewall
    in front of it): without a connect timeout the request would wait for ever."""
    monkeypatch.setattr(config, "DB_CONNECT_TIMEOUT_S", 1)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nobody ever reads or writes
    port = silent.getsockname()[1]
    url = f"postgresql+psycopg://nobody@127.0.0.1:{port}/none"
    outcome: list[BaseException | None] = []

    def connect() -> None:
        try:
            db.get_engine(url)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 (reported to the test thread)
            outcome.append(exc)

    worker = threading.Thread(target=connect, daemon=True)
    try:
        worker.start()
        worker.join(120)  # a bound for a hang, not a speed measurement: it returns in about a second
        assert not worker.is_alive(), "connecting to a silent server hung"
        assert isinstance(outcome[0], DatabaseUnavailable) and "timeout" in str(outcome[0]).lower()
    finally:
        silent.close()
        db._engine_for.cache_clear()


def test_the_log_rotates_and_two_workers_share_it(tmp_path):
    path = tmp_path / "logs" / "public.log"
    one = logs.SharedRotatingFileHandler(str(path), maxBytes=2000, backupCount=2)
    two = logs.SharedRotatingFileHandler(str(path), maxBytes=2000, backupCount=2)
    for h in (one, two):
        h.setFormatter(logging.Formatter("%(message)s"))
    try:
        for i in range(400):
            handler = (one, two)[i % 2]
            handler.emit(logging.LogRecord("geomap.web.outage", logging.WARNING, __file__, 1,
                                           f"line {i:04d} " + "x" * 40, None, None))
    finally:
        one.close()
        two.close()
    files = sorted(p.name for p in path.parent.iterdir() if not p.name.endswith(".lock"))
    assert files == ["public.log", "public.log.1", "public.log.2"]  # at most 1 + backups files
    for name in files:
        text = (path.parent / name).read_text()
        assert (path.parent / name).stat().st_size <= 2000
        assert all(line.startswith("line ") and line.endswith("x" * 40) for line in text.splitlines()), name
    newest = (path.parent / "public.log").read_text().splitlines()
    # both workers write into the current file, in order: none kept writing into a rotated one
    assert newest[-1].startswith("line 0399") and newest[-2].startswith("line 0398")
    kept = [line[5:9] for name in reversed(files) for line in (path.parent / name).read_text().splitlines()]
    assert kept == sorted(kept) and kept[-1] == "0399"


def test_uvicorn_log_config_writes_the_rotated_file(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "LOG_DIR", tmp_path)
    monkeypatch.setattr(config, "LOG_MAX_BYTES", 12345)
    names = ("geomap", "qr", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level, logging.getLogger(n).propagate)
             for n in names}
    try:
        logging.config.dictConfig(logs.uvicorn_log_config())
        handler = next(h for h in logging.getLogger("geomap").handlers if isinstance(h, logs.SharedRotatingFileHandler))
        assert handler.maxBytes == 12345 and handler.backupCount == config.LOG_BACKUPS
        logging.getLogger("geomap.web.outage").warning("database unreachable (OperationalError 08006)")
        logging.getLogger("geomap.web.outage").info("not logged: below WARNING")
        for h in logging.getLogger("geomap").handlers:
            h.flush()
        text = (tmp_path / "public.log").read_text()
        assert "database unreachable" in text and "not logged" not in text
    finally:
        for n, (handlers, level, propagate) in saved.items():
            logger = logging.getLogger(n)
            for h in logger.handlers:
                if h not in handlers:
                    h.close()
            logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate


def test_serve_hands_uvicorn_the_log_config_and_no_proxy_headers(monkeypatch, tmp_path):
    import uvicorn

    from geomap.commands import run

    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    monkeypatch.setattr(db, "get_engine", lambda url=None: None)
    monkeypatch.setattr(config, "LOG_DIR", tmp_path)
    monkeypatch.delenv("GEOMAP_WORKERS", raising=False)
    assert run.run_serve(argparse.Namespace(host="127.0.0.1", port=8999, workers=3)) == 0
    assert seen["proxy_headers"] is False and seen["workers"] == 3
    assert seen["log_config"]["handlers"]["file"]["filename"] == str(tmp_path / "public.log")
    assert os.environ.pop("GEOMAP_WORKERS") == "3"  # workers > 1: the rate limits count in the database
