"""QR lookups under load, page weight, the Streamlit comparison, and sticker sheets for a whole ward.

Method
------
- The public service runs as ``uvicorn geomap.web:create_app`` (what ``geomap serve`` runs)
  in its own process group on a free loopback port, 2 workers for the 2 cores.
- Load comes from a second process: ``wrk`` (Debian package; C, event-driven, so the load
  generator takes little of the shared CPU) with a Lua script picking a random active
  token of the demo ward per request and a random ``X-Forwarded-For`` address per request
  (uvicorn trusts it from 127.0.0.1), so the per-client rate limiter is in the path, as in
  production behind a proxy, without one address being throttled. Without ``wrk`` an
  asyncio httpx client does the same (it needs more CPU, so figures are lower).
- Two runs: "cold" with the in-process response cache off (every request is one indexed
  query + status derivation + template render), and "warm" with the default 30 s cache.
- Streamlit comparison: a minimal Streamlit page showing the same lookup (same
  ``qr.lookup`` call, the fields as markdown), against our page, both loaded in headless
  Chromium; we measure time from navigation until the establishment's name is rendered
  and the bytes transferred (all responses). The ratio is Streamlit / ours.
- Scan counting (issue 17): two services side by side, one worker each, ``GEOMAP_QR_SCAN_COUNT``
  off in one and on in the other, no response cache, each loaded by its own ``wrk`` at the same
  time (so the shared machine's other load hits both alike), ``GEOMAP_BENCH_QR_SCAN_ROUNDS``
  rounds (default 3); the cost is the median of 1 - on/off throughput, with the service CPU per
  request either way and the in-process cost of one count. Each round checks the "on" service's
  scans reached ``qr_scan_day`` at its shutdown.
- Sticker sheets: ``qr.stickers.sheet`` for every active code of the ward (A4, 12 a page).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import sqlalchemy as sa

from geomap import config, db
from geomap.wards import data as ward_data

WARD = os.environ.get("GEOMAP_BENCH_WARD", config.DEFAULT_WARD)
DURATION_S = int(os.environ.get("GEOMAP_BENCH_QR_SECONDS", "10"))
CONNECTIONS = 8
PROJECT = config.PROJECT_DIR


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def _group_cpu_s(pgid: int) -> float:
    """User + system CPU seconds of every live process in process group ``pgid`` (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the name: state ppid pgrp ... utime(11) stime(12)
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


class _Server:
    """A subprocess in its own process group, stopped with the whole group."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.proc = subprocess.Popen(args, env={**os.environ, **env}, cwd=PROJECT, start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _prepare(url: str) -> tuple[int, list[str]]:
    from qr import issue

    engine = db.get_engine(url)
    with engine.connect() as conn:
        loaded = conn.execute(sa.text("SELECT 1 FROM ward WHERE slug = :s"), {"s": WARD}).first()
    if not loaded:
        from geomap import demo

        print(f"loading the demo ward {WARD} ...", flush=True)
        demo.load(engine, ward=WARD)
    ward_id = ward_data.ward_id(engine, WARD)
    with db.transaction(engine) as conn:
        issue.issue_missing(conn, ward_id)
        tokens = conn.execute(sa.text(
            "SELECT q.token FROM qr_code q LEFT JOIN establishment e ON e.id = q.establishment_id "
            "LEFT JOIN stall s ON s.id = q.stall_id LEFT JOIN market m ON m.id = s.market_id "
            "WHERE q.revoked_at IS NULL AND COALESCE(e.ward_id, m.ward_id) = :w"), {"w": ward_id}).scalars().all()
    return ward_id, list(tokens)


_WRK_LUA = """
local tokens = {}
for line in io.lines("%s") do tokens[#tokens + 1] = line end
math.randomseed(os.time())
request = function()
  local t = tokens[math.random(#tokens)]
  local ip = "10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
  return wrk.format("GET", "/q/" .. t, {["X-Forwarded-For"] = ip, ["Accept-Language"] = "vi"})
end
"""


def _parse_ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", value)
    if not m:
        return float("nan")
    return round(float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)], 2)


def _load_wrk(base: str, tokens_file: Path, seconds: int) -> dict:
    script = tokens_file.with_suffix(".lua")
    script.write_text(_WRK_LUA % tokens_file)
    out = subprocess.run(["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script), base],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return {"tool": "wrk", "requests": total, "rps": round(rps), "p50_ms": _parse_ms(lat.get("50", "")),
            "p99_ms": _parse_ms(lat.get("99", "")), "non_2xx": int(non2xx.group(1)) if non2xx else 0}


def _load_httpx(base: str, tokens: list[str], seconds: int) -> dict:
    import httpx

    async def worker(client: httpx.AsyncClient, stop: float, lat: list[float], bad: list[int]) -> None:
        while time.perf_counter() < stop:
            ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
            t0 = time.perf_counter()
            r = await client.get(f"/q/{random.choice(tokens)}", headers={"X-Forwarded-For": ip})
            lat.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                bad.append(r.status_code)

    async def main() -> tuple[list[float], list[int], float]:
        lat: list[float] = []
        bad: list[int] = []
        async with httpx.AsyncClient(base_url=base, limits=httpx.Limits(max_connections=CONNECTIONS)) as client:
            t0 = time.perf_counter()
            await asyncio.gather(*(worker(client, t0 + seconds, lat, bad) for _ in range(CONNECTIONS)))
            return lat, bad, time.perf_counter() - t0

    lat, bad, elapsed = asyncio.run(main())
    lat.sort()
    return {"tool": "httpx", "requests": len(lat), "rps": round(len(lat) / elapsed),
            "p50_ms": round(statistics.median(lat), 2), "p99_ms": round(lat[int(0.99 * (len(lat) - 1))], 2),
            "non_2xx": len(bad)}


def _serve(url: str, port: int, cache_s: str, count_scans: bool = True, workers: int = 2) -> _Server:
    env = {"GEOMAP_DATABASE_URL": url, "GEOMAP_QR_CACHE_SECONDS": cache_s, "FORWARDED_ALLOW_IPS": "127.0.0.1",
           "GEOMAP_QR_SCAN_COUNT": "1" if count_scans else "0"}
    server = _Server([sys.executable, "-m", "uvicorn", "geomap.web:create_app", "--factory", "--host", "127.0.0.1",
                      "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"], env)
    _wait_http(f"http://127.0.0.1:{port}/health")
    return server


def _load_run(url: str, tokens: list[str], tokens_file: Path, cache_s: str) -> dict:
    port = _free_port()
    server = _serve(url, port, cache_s)
    base = f"http://127.0.0.1:{port}"
    try:
        if cache_s == "0":
            _load_httpx(base, tokens, 1)  # connections, pools and template compile in both workers
        else:  # every hot code seen by both workers: repeat scans of popular stalls
            _load_httpx(base, tokens, 4)
        time.sleep(2)  # the status memo primes in the background
        cpu0, load0 = _group_cpu_s(server.proc.pid), os.getloadavg()[0]
        if shutil.which("wrk"):
            out = _load_wrk(base, tokens_file, DURATION_S)
        else:
            out = _load_httpx(base, tokens, DURATION_S)
        cpu = _group_cpu_s(server.proc.pid) - cpu0
        # CPU the service itself spent per request: independent of what else the shared machine runs
        out["server_cpu_ms_per_request"] = round(1000 * cpu / max(out["requests"], 1), 2)
        out["capacity_rps_2_cores_estimate"] = round(2000 / max(out["server_cpu_ms_per_request"], 0.01))
        out["load_average_before"] = round(load0, 1)
        return out
    finally:
        server.stop()


#: attributes through which a browser fetches something while rendering (``<a href>`` is a link, not a fetch)
_FETCH_ATTRS = {"src", "srcset", "poster", "data", "background", "xlink:href", "imagesrcset"}
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", re.I)


def _render_requests(html: str) -> list[str]:
    """Every URL the page would make the browser fetch to render it (``data:`` URIs excluded):
    fetching attributes of any element, ``<link href>`` (stylesheets, icons, preloads), ``<image>`` /
    ``<use>`` ``href`` in SVG, and ``url(...)`` / ``@import`` in inline CSS."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Parser(HTMLParser):
        in_style = False

        def handle_endtag(self, tag: str) -> None:
            if tag == "style":
                self.in_style = False

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.in_style = self.in_style or tag == "style"
            for name, value in attrs:
                if not value:
                    continue
                if name in _FETCH_ATTRS or (name == "href" and tag in ("link", "image", "use", "feimage")):
                    urls = [u.strip().split()[0] for u in value.split(",") if u.strip()] if "srcset" in name \
                        else [value.strip()]
                    found.extend(urls)
                elif name == "style":
                    found.extend(a or b for a, b in _CSS_URL.findall(value))

        def handle_data(self, data: str) -> None:
            if self.in_style:
                found.extend(a or b for a, b in _CSS_URL.findall(data))

    Parser().feed(html)
    return [u for u in found if not u.lower().startswith("data:")]


def _page_weight(url: str, tokens: list[str]) -> dict:
    from urllib.parse import urljoin, urlsplit

    from fastapi.testclient import TestClient

    from geomap.web import create_app

    app = create_app(url)
    app.state.limits.qr.configure(per_minute=0, burst=1)
    sizes, gz_sizes = [], []
    external, same_host = set(), set()
    with TestClient(app) as c:
        for token in random.sample(tokens, min(200, len(tokens))):
            r = c.get(f"/q/{token}", headers={"Accept-Encoding": "identity"})
            sizes.append(len(r.content))
            page_url = str(r.url)
            for ref in _render_requests(r.text):
                absolute = urljoin(page_url, ref)
                (same_host if urlsplit(absolute).netloc == urlsplit(page_url).netloc else external).add(absolute)
            g = c.get(f"/q/{token}", headers={"Accept-Encoding": "gzip"})
            gz_sizes.append(int(g.headers.get("content-length", len(g.content))))
    return {"page_bytes_max": max(sizes), "page_bytes_median": int(statistics.median(sizes)),
            "page_gzip_bytes_median": int(statistics.median(gz_sizes)), "pages_checked": len(sizes),
            "external_requests": len(external), "external_urls": sorted(external)[:10],
            "same_host_requests": len(same_host)}


_STREAMLIT_PAGE = """
import streamlit as st
from geomap import db
from qr import lookup


@st.cache_resource
def _state() -> lookup.LookupState:  # what the public service keeps per process (status memo, columns)
    return lookup.LookupState()


token = st.query_params.get("code", "")
with db.get_engine({url!r}).connect() as conn:
    result = lookup.lookup(conn, token, _state())
est = (result.data or {{}}).get("establishment") or {{}}
st.title(est.get("name") or "?")
for key, value in est.items():
    if value not in (None, "", []):
        st.markdown(f"**{{key}}**: {{value}}")
"""


def _chromium_time_to_content(pages: list[tuple[str, str]]) -> dict:
    """Median ms from navigation to the name being visible, and median bytes transferred."""
    from playwright.sync_api import sync_playwright

    times, weights = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        for url, name in pages:
            context = browser.new_context(locale="vi-VN")  # fresh cache: a first scan
            page = context.new_page()
            finished: list = []
            page.on("requestfinished", lambda req, f=finished: f.append(req))
            t0 = time.perf_counter()
            page.goto(url, wait_until="commit")
            page.get_by_text(name, exact=False).first.wait_for(state="visible", timeout=60_000)
            times.append((time.perf_counter() - t0) * 1000)
            page.wait_for_load_state("load")
            total = 0
            for req in list(finished):
                sizes = req.sizes()
                total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
            weights.append(total)
            context.close()
        browser.close()
    return {"ms": round(statistics.median(times), 1), "bytes": int(statistics.median(weights))}


def _streamlit_ratio(url: str, tokens: list[str]) -> dict:
    engine = db.get_engine(url)
    picks = random.sample(tokens, 5)
    names = {}
    with engine.connect() as conn:
        from qr import lookup

        for t in picks:
            est = lookup.lookup(conn, t).data.get("establishment") or {}
            names[t] = est.get("name")
    picks = [t for t in picks if names[t]]
    port_api, port_st = _free_port(), _free_port()
    api = _serve(url, port_api, "0")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "lookup_streamlit.py"
        script.write_text(textwrap.dedent(_STREAMLIT_PAGE.format(url=url)))
        st_server = _Server([sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port_st),
                             "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--browser.gatherUsageStats", "false"], {"PYTHONPATH": str(PROJECT)})
        try:
            _wait_http(f"http://127.0.0.1:{port_st}/_stcore/health")
            ours = _chromium_time_to_content([(f"http://127.0.0.1:{port_api}/q/{t}", names[t]) for t in picks])
            theirs = _chromium_time_to_content([(f"http://127.0.0.1:{port_st}/?code={t}", names[t]) for t in picks])
        finally:
            st_server.stop()
            api.stop()
    return {"ours_ms": ours["ms"], "ours_bytes": ours["bytes"], "streamlit_ms": theirs["ms"],
            "streamlit_bytes": theirs["bytes"],
            "time_ratio": round(theirs["ms"] / ours["ms"], 1), "bytes_ratio": round(theirs["bytes"] / ours["bytes"], 1)}


#: rounds of the scan-counting comparison (each: counting off and on side by side, loaded at the same time)
SCAN_ROUNDS = int(os.environ.get("GEOMAP_BENCH_QR_SCAN_ROUNDS", "3"))


def _scans_stored(url: str) -> int:
    return int(db.scalar(db.get_engine(url), "SELECT COALESCE(sum(count), 0) FROM qr_scan_day") or 0)


def _scan_counting(url: str, tokens: list[str], tokens_file: Path) -> dict:
    """Lookups (no response cache: every request is a lookup) with scan counting off and on in the same run:
    two services side by side (one worker each, so together they fill the 2 cores as the usual 2 workers do),
    one with ``GEOMAP_QR_SCAN_COUNT=0``, both loaded by their own ``wrk`` at the same time, so whatever else
    the shared machine runs hits both alike; repeated ``GEOMAP_BENCH_QR_SCAN_ROUNDS`` times (fresh services).
    The cost is the median over rounds of 1 - on/off throughput. Each round checks that the "on" service's
    scans reached ``qr_scan_day`` (flushed at the workers' shutdown) and the "off" one added none."""
    rounds: list[dict] = []
    stored_ok, discarded = True, 0
    for _ in range(2 * max(SCAN_ROUNDS, 1)):
        before = _scans_stored(url)
        pair = _load_pair(url, tokens, tokens_file)
        added = _scans_stored(url) - before
        stored_ok = stored_ok and added >= pair["on"]["requests"]  # warm-up requests are counted too
        if pair["on"]["non_2xx"] or pair["off"]["non_2xx"]:
            # errors (503s when the shared database is overloaded) answer fast: such a round compares nothing
            discarded += 1
            continue
        rounds.append(pair)
        if len(rounds) == max(SCAN_ROUNDS, 1):
            break
    if not rounds:
        return {"error": f"every round had non-2xx answers ({discarded} rounds)"}
    cost = statistics.median(100 * (1 - r["on"]["rps"] / r["off"]["rps"]) for r in rounds)
    cpu = {m: statistics.median(r[m]["server_cpu_ms_per_request"] for r in rounds) for m in ("off", "on")}
    count_us = _count_cost_us()
    return {"rounds": len(rounds), "rounds_discarded": discarded,
            "rps_off": round(statistics.median(r["off"]["rps"] for r in rounds)),
            "rps_on": round(statistics.median(r["on"]["rps"] for r in rounds)),
            "rps_each_off": [r["off"]["rps"] for r in rounds], "rps_each_on": [r["on"]["rps"] for r in rounds],
            "throughput_cost_pct": round(cost, 1),
            "cpu_ms_off": round(cpu["off"], 3), "cpu_ms_on": round(cpu["on"], 3),
            "cpu_cost_pct": round(100 * (cpu["on"] - cpu["off"]) / cpu["off"], 1),
            "count_us_per_scan": round(count_us, 2),
            "count_share_of_lookup_cpu_pct": round(100 * count_us / 1000 / cpu["off"], 2),
            "scans_stored_as_counted": stored_ok}


def _wait_idle(pgid: int, timeout: float = 180.0) -> None:
    """Until the processes of ``pgid`` use under a tenth of a CPU second in a second (start-up work done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = _group_cpu_s(pgid)
        time.sleep(1.0)
        if _group_cpu_s(pgid) - before < 0.1:
            return


def _load_pair(url: str, tokens: list[str], tokens_file: Path) -> dict[str, dict]:
    """One round of :func:`_scan_counting`: both services up, warmed, then loaded at the same time."""
    import concurrent.futures

    servers, bases = {}, {}
    try:
        for mode in ("off", "on"):
            port = _free_port()
            servers[mode] = _serve(url, port, "0", count_scans=mode == "on", workers=1)
            bases[mode] = f"http://127.0.0.1:{port}"
        for mode in servers:
            _load_httpx(bases[mode], tokens, 1)  # connections, pools and template compile
        for server in servers.values():  # the status memo primes in the background: both done before measuring
            _wait_idle(server.proc.pid)
        cpu0 = {m: _group_cpu_s(servers[m].proc.pid) for m in servers}
        load = _load_wrk if shutil.which("wrk") else (lambda b, f, s: _load_httpx(b, tokens, s))
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            futures = {m: pool.submit(load, bases[m], tokens_file, DURATION_S) for m in servers}
            out = {m: f.result() for m, f in futures.items()}
        for m in servers:
            cpu = _group_cpu_s(servers[m].proc.pid) - cpu0[m]
            out[m]["server_cpu_ms_per_request"] = round(1000 * cpu / max(out[m]["requests"], 1), 3)
        return out
    finally:
        for server in servers.values():
            server.stop()


def _count_cost_us(n: int = 200_000) -> float:
    """Microseconds one ``ScanCounter.count`` takes in this process (5,000 distinct codes, as under load):
    what counting adds to a lookup, independent of the machine's other load at the time of the HTTP runs."""
    import itertools
    import timeit

    from qr import codes, scans

    counter = scans.ScanCounter()
    cycle = itertools.cycle([codes.new_token() for _ in range(5000)])
    total = timeit.timeit(lambda: counter.count(next(cycle), "valid"), number=n)
    empty = timeit.timeit(lambda: next(cycle), number=n)
    return max(total - empty, 0.0) / n * 1e6


def _stickers(url: str, ward_id: int) -> dict:
    from qr import issue, stickers

    engine = db.get_engine(url)
    t0 = time.perf_counter()
    with engine.connect() as conn:
        items = issue.select_codes(conn, ward_id)
    pdf = stickers.sheet(items, title=items[0].ward_name)
    elapsed = time.perf_counter() - t0
    return {"sticker_codes": len(items), "sticker_pages": (len(items) + stickers.PER_PAGE - 1) // stickers.PER_PAGE,
            "sticker_pdf_mb": round(len(pdf) / 1e6, 1), "sticker_seconds": round(elapsed, 1)}


def run() -> dict:
    url = db.database_url()
    ward_id, tokens = _prepare(url)
    print(f"{len(tokens)} active codes in {WARD}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tokens_file = Path(tmp) / "tokens.txt"
        tokens_file.write_text("\n".join(tokens) + "\n")
        cold = _load_run(url, tokens, tokens_file, "0")
        print(f"lookups, no response cache ({cold['tool']}, {CONNECTIONS} connections, 2 workers): "
              f"{cold['rps']} req/s, p50 {cold['p50_ms']} ms, p99 {cold['p99_ms']} ms, non-2xx {cold['non_2xx']}; "
              f"service CPU {cold['server_cpu_ms_per_request']} ms/request (load average before "
              f"{cold['load_average_before']})", flush=True)
        counting = _scan_counting(url, tokens, tokens_file)
        if "error" in counting:
            print(f"scan counting off/on: {counting['error']}", flush=True)
        else:
            print(f"scan counting off/on, no response cache, two services side by side ({counting['rounds']} rounds, "
                  f"{counting['rounds_discarded']} discarded for errors): {counting['rps_off']} / "
                  f"{counting['rps_on']} req/s (each: {counting['rps_each_off']} / {counting['rps_each_on']}) -> "
                  f"throughput cost {counting['throughput_cost_pct']} % (target <= 5 %); service CPU "
                  f"{counting['cpu_ms_off']} / {counting['cpu_ms_on']} ms/request ({counting['cpu_cost_pct']:+} %); "
                  f"one count {counting['count_us_per_scan']} us = {counting['count_share_of_lookup_cpu_pct']} % "
                  f"of a lookup's CPU; scans stored as counted: {counting['scans_stored_as_counted']}", flush=True)
        hot = random.sample(tokens, min(500, len(tokens)))
        hot_file = Path(tmp) / "hot.txt"
        hot_file.write_text("\n".join(hot) + "\n")
        warm = _load_run(url, hot, hot_file, "30")
        print(f"repeat scans of {len(hot)} popular codes, 30 s response cache: {warm['rps']} req/s, "
              f"p50 {warm['p50_ms']} ms, "
              f"p99 {warm['p99_ms']} ms, non-2xx {warm['non_2xx']}; service CPU {warm['server_cpu_ms_per_request']} "
              f"ms/request (load average before {warm['load_average_before']})", flush=True)
    weight = _page_weight(url, tokens)
    print(f"page weight: max {weight['page_bytes_max']} B, median {weight['page_bytes_median']} B "
          f"({weight['page_gzip_bytes_median']} B gzipped); over {weight['pages_checked']} pages "
          f"{weight['external_requests']} distinct external and {weight['same_host_requests']} other resource "
          f"requests needed to render{': ' + ', '.join(weight['external_urls']) if weight['external_urls'] else ''}",
          flush=True)
    try:
        ratio = _streamlit_ratio(url, tokens)
        print(f"first scan in Chromium, time to content: ours {ratio['ours_ms']} ms / {ratio['ours_bytes']} B; "
              f"Streamlit {ratio['streamlit_ms']} ms / {ratio['streamlit_bytes']} B -> "
              f"{ratio['time_ratio']}x slower, {ratio['bytes_ratio']}x heavier", flush=True)
    except Exception as exc:  # the comparison needs Chromium; the other figures stand without it
        ratio = {"error": repr(exc)}
        print(f"Streamlit comparison failed: {exc!r}")
    sheets = _stickers(url, ward_id)
    print(f"sticker sheets: {sheets['sticker_codes']} codes on {sheets['sticker_pages']} A4 pages, "
          f"{sheets['sticker_pdf_mb']} MB in {sheets['sticker_seconds']} s", flush=True)
    return {"codes": len(tokens), "cold": cold, "scan_counting": counting, "warm": warm, **weight,
            "streamlit": ratio, **sheets,
            "targets": {"rps": 1000, "p99_ms": 50, "page_bytes": 20_000, "sticker_seconds": 60,
                        "scan_counting_cost_pct": 5}}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
