"""The field app's "Today" on a throttled phone, beside the Streamlit on-site page it replaces.

Method (issue 12's figures; one run, one machine):

- The demo ward (Hòa Cường, 6,000 establishments) in a scratch database; an inspector with a saved
  route of 12 stops for today (planned by :func:`geomap.inspections.planning.plan`).
- The public service runs as ``uvicorn geomap.web:create_app``; the Streamlit on-site page as it was
  before it was retired (its source read from git, commit :data:`LEGACY_COMMIT`, rendered for the same
  inspector and route; its sign-in is not counted, which favours it).
- Headless Chromium, phone viewport 360 × 740, network throttled through CDP
  ``Network.emulateNetworkConditions``: 1.6 Mbit/s down, 750 kbit/s up, 150 ms round trip. Bytes are
  CDP's ``encodedDataLength`` of every response plus WebSocket frames (Streamlit's data comes over its
  websocket); requests are CDP ``requestWillBeSent``.
- First open of "Today" signed in, fresh browser cache: bytes and requests until the page is loaded and
  its offline copy is kept, and the time from the navigation's start until stop 1 can be tapped (the
  page script's ``field-ready`` performance mark; the harness' own clock, which adds Playwright's
  round trips, is printed beside it). The Streamlit page: until the first stop's name is shown (harness'
  clock: it has no such mark).
- Reopen from the phone's cache (service worker), online and offline: time until stop 1 can be tapped.
- Saving one result without photo on loopback: ``POST /field/visits`` (median of 30, httpx).
- 30 results queued offline, then the network returns (throttled): time until the outbox is empty,
  every one applied once.

Targets: ≤ 150 KB and ≤ 2 s first open; ≤ 300 ms reopen; ≤ 200 ms save; ≤ 5 s for 30 queued results.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench._support import bench_database, drop_database
from geomap import auth, db, status

PROJECT = Path(__file__).resolve().parents[1]
#: the last commit with the Streamlit on-site page that recorded results (before the field app)
LEGACY_COMMIT = "3f54b37"
PASSWORD = "mật-khẩu-bench-hiện-trường"
THROTTLE = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TAPPABLE = ("() => { const c = document.querySelector('#stop-1 .stop-head');"
            " return !!(c && c.offsetParent !== null && window.geomapVisits); }")
#: ms from the navigation's start until the page script made the stops tappable (its "field-ready" mark)
READY_MARK = "performance.getEntriesByName('field-ready')[0].startTime"

_LEGACY_RUNNER = """
import streamlit as st
from geomap import db
from geomap.ui.context import Context
from geomap.users import User
import legacy_onsite

user = User(id={uid}, username={username!r}, full_name={full_name!r}, role="inspector", ward_id={ward_id})
legacy_onsite.render(Context(db.get_engine({url!r}), "vi", "hoa-cuong", {ward_id}, user))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


class _Server:
    def __init__(self, args: list[str], env: dict[str, str]):
        self.proc = subprocess.Popen(args, env={**os.environ, **env}, cwd=PROJECT, start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _prepare(url: str) -> dict:
    """The demo ward and an inspector with a saved 12-stop route for today."""
    from geomap import demo
    from geomap.inspections import planning, routing
    from geomap.wards import data as ward_data

    engine = db.get_engine(url)
    demo.load(engine, ward="hoa-cuong")
    ward_id = ward_data.ward_id(engine, "hoa-cuong")
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM app_user WHERE username = 'bench.kiemtra'"))
        user = auth.create_user(c, "bench.kiemtra", "Cán Bộ Đo Hiện Trường", "inspector", PASSWORD, ward_id=ward_id)
    due = planning.due_list(engine, ward_id, "hoa-cuong")
    due = due[due["lon"].notna()]
    ids = [int(i) for i in due["id"].head(40)]
    settings = routing.DaySettings(day_start="00:00", day_end="23:59", lunch_min=0, time_limit_s=1.0)
    chosen = ids[:12]
    for _ in range(4):
        crew = [routing.Inspector(user.full_name, user_id=user.id)]
        result = planning.plan(engine, ward_id, "hoa-cuong", chosen, crew, settings, date=status.today())
        if result.kept >= 12:
            break
        chosen = chosen + ids[len(chosen):len(chosen) + 12 - result.kept]
    planning.save_plan(engine, ward_id, result, user=user)
    return {"ward_id": ward_id, "user": user, "stops": result.kept, "engine": engine}


class _Meter:
    """Bytes and requests of one browser context: every HTTP response (headers and body, the service
    worker's own fetches included, a response the worker answered from its cache not counted twice)
    and the WebSocket frames of ``page`` (Streamlit's data comes over its websocket); throttling via CDP."""

    def __init__(self, page):
        self.page = page
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.ws_bytes = 0
        self.finished: list = []
        self.handler = lambda request: self.finished.append(request)
        page.context.on("requestfinished", self.handler)
        self.cdp.on("Network.webSocketFrameReceived", self._frame)
        self.cdp.on("Network.webSocketFrameSent", self._frame)

    def throttle(self, on: bool = True) -> None:
        self.cdp.send("Network.emulateNetworkConditions", THROTTLE if on else
                      {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})

    def _frame(self, event) -> None:
        frame = event.get("response") or {}
        data = frame.get("payloadData") or ""
        self.ws_bytes += len(data) * 3 // 4 if frame.get("opcode") == 2 else len(data.encode())

    def totals(self) -> dict:
        """{bytes, requests} so far (HTTP requests that reached the network; WebSocket frames in bytes)."""
        self.page.context.remove_listener("requestfinished", self.handler)
        total, count = self.ws_bytes, 0
        for request in self.finished:
            response = request.response()
            if response is None or response.from_service_worker:
                continue
            sizes = request.sizes()
            total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
            count += 1
        return {"bytes": total, "requests": count}


def _until(page, script: str, timeout_s: float = 120, every_s: float = 0.02) -> None:
    """Wait until ``script`` (an expression, a promise awaited) is truthy in ``page``."""
    end = time.monotonic() + timeout_s
    while not page.evaluate(script):
        if time.monotonic() > end:
            raise TimeoutError(script)
        time.sleep(every_s)


def _context(browser, **extra):
    return browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                               locale="vi-VN", **extra)


def _sign_in(page, base: str) -> None:
    page.goto(f"{base}/field/signin?next=/field/")
    page.locator("#username").fill("bench.kiemtra")
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/field/signin'] button[type=submit]").click()
    page.wait_for_url(f"{base}/field/")


def _field_figures(browser, base: str) -> dict:
    signing = _context(browser)
    page = signing.new_page()
    _sign_in(page, base)  # not measured: the session cookie is what a signed-in phone holds
    cookies = signing.cookies()
    signing.close()
    context = _context(browser)  # a fresh cache and no service worker yet: a true first open
    context.add_cookies(cookies)
    page = context.new_page()
    meter = _Meter(page)
    meter.throttle()
    t0 = time.perf_counter()
    page.goto(f"{base}/field/today", wait_until="commit")
    page.wait_for_function(TAPPABLE, polling=10, timeout=60_000)
    first_ms = (time.perf_counter() - t0) * 1000
    first_mark = page.evaluate(READY_MARK)
    page.wait_for_load_state("load")
    _until(page, "navigator.serviceWorker.ready.then(() => caches.match('/field/today')).then(Boolean)", 60, 0.1)
    page.wait_for_timeout(1500)  # the service worker's shell files
    first = {**meter.totals(), "tappable_ms": round(first_mark), "tappable_wall_ms": round(first_ms)}

    reopen, reopen_wall = {}, {}
    for label in ("online", "offline"):
        times, marks = [], []
        for _ in range(5):
            p2 = context.new_page()
            m2 = _Meter(p2)
            m2.throttle()
            if label == "offline":
                context.set_offline(True)
            t0 = time.perf_counter()
            p2.goto(f"{base}/field/today", wait_until="commit")
            p2.wait_for_function(TAPPABLE, polling=10, timeout=60_000)
            times.append((time.perf_counter() - t0) * 1000)
            marks.append(p2.evaluate(READY_MARK))
            context.set_offline(False)
            p2.close()
        reopen[label] = round(statistics.median(marks))
        reopen_wall[label] = round(statistics.median(times))

    # 30 results queued offline, then the network returns (throttled)
    data = json.loads(page.locator("#field-data").text_content())
    stops = data["stops"]
    items = []
    for k in range(30):
        s = stops[k % len(stops)]
        cid = str(uuid.uuid4())
        items.append({"client_id": cid, "created": k, "name": s["name"], "n": s["n"], "photos": [],
                      "payload": {"client_id": cid, "establishment_id": s["establishment_id"], "day": data["day"],
                                  "version": s["version"], "result": "pass", "kind": "periodic", "violations": [],
                                  "note": None, "position": None, "position_error": "unavailable",
                                  "phone_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}})
    # offline and back through CDP on this page (the page's online event fires; the throttle stays in force)
    meter.cdp.send("Network.emulateNetworkConditions", {**THROTTLE, "offline": True})
    page.evaluate("""items => new Promise((resolve, reject) => {
        const req = indexedDB.open('geomap-field', 1);
        req.onsuccess = () => { const tx = req.result.transaction('outbox', 'readwrite');
            items.forEach(i => tx.objectStore('outbox').put(i)); tx.oncomplete = resolve; tx.onerror = reject; };
    })""", items)
    page.evaluate("window.geomapVisits.refresh()")
    page.get_by_text("30 kết quả chưa gửi").wait_for()
    t0 = time.perf_counter()
    meter.throttle()  # the network returns (throttled): the page's online event sends the outbox
    _until(page, "window.geomapVisits.outbox().then(o => o.length === 0)")
    sync_ms = (time.perf_counter() - t0) * 1000
    context.close()
    return {"first_open": first, "reopen_ms": reopen, "reopen_wall_ms": reopen_wall, "sync30_ms": round(sync_ms),
            "sync30_ids": [i["client_id"] for i in items]}


def _streamlit_figures(browser, url: str, prepared: dict) -> dict:
    source = subprocess.run(["git", "show", f"{LEGACY_COMMIT}:geomap/ui/pages/onsite.py"], cwd=PROJECT,
                            capture_output=True, text=True, check=True).stdout
    user = prepared["user"]
    first_name = None
    from geomap.inspections import planning

    route = planning.routes_on(prepared["engine"], prepared["ward_id"], status.today(), inspector_id=user.id)[0]
    first_name = route["stops"][0]["name"]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "legacy_onsite.py").write_text(source)
        script = Path(tmp) / "onsite_page.py"
        script.write_text(_LEGACY_RUNNER.format(uid=user.id, username=user.username, full_name=user.full_name,
                                                ward_id=prepared["ward_id"], url=url))
        port = _free_port()
        server = _Server([sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
                          "--server.address", "127.0.0.1", "--server.headless", "true",
                          "--browser.gatherUsageStats", "false"], {"PYTHONPATH": f"{PROJECT}:{tmp}"})
        try:
            _wait(f"http://127.0.0.1:{port}/_stcore/health")
            context = _context(browser)
            page = context.new_page()
            meter = _Meter(page)
            meter.throttle()
            t0 = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/", wait_until="commit")
            page.get_by_text(first_name, exact=False).first.wait_for(state="visible", timeout=120_000)
            ms = (time.perf_counter() - t0) * 1000
            page.wait_for_load_state("load")
            page.wait_for_timeout(3000)  # what it keeps loading after the first stop shows
            figures = {**meter.totals(), "first_stop_ms": round(ms)}
            context.close()
        finally:
            server.stop()
    return figures


def _save_figures(base: str) -> dict:
    """POST /field/visits on loopback, one result without photo, median of 30."""
    import re

    with httpx.Client(base_url=base, follow_redirects=False) as client:
        page = client.get("/field/signin", headers={"Accept": "text/html"})
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        client.post("/field/signin", data={"username": "bench.kiemtra", "password": PASSWORD, "csrf_token": token},
                    headers={"Accept": "text/html"})
        csrf = client.get("/field/visits/token", headers={"Accept": "application/json"}).json()["csrf_token"]
        today = client.get("/field/today", headers={"Accept": "text/html"}).text
        data = json.loads(re.search(r'<script type="application/json" id="field-data">(.*?)</script>', today,
                                    re.S).group(1).replace("<\\/", "</"))
        times = []
        for k in range(31):
            s = data["stops"][k % len(data["stops"])]
            body = {"client_id": str(uuid.uuid4()), "establishment_id": s["establishment_id"], "day": data["day"],
                    "version": s["version"], "result": "pass", "kind": "periodic", "violations": [], "note": None,
                    "position": None, "position_error": "unavailable"}
            t0 = time.perf_counter()
            r = client.post("/field/visits", data={"payload": json.dumps(body)},
                            headers={"X-CSRF-Token": csrf, "Accept": "application/json"})
            elapsed = (time.perf_counter() - t0) * 1000
            if r.status_code != 200 or r.json()["status"] != "applied":
                raise RuntimeError(f"save failed: {r.status_code} {r.text[:300]}")
            if k:  # the first warms the connection pool
                times.append(elapsed)
    return {"median_ms": round(statistics.median(times), 1), "p90_ms": round(sorted(times)[int(len(times) * 0.9)], 1)}


def run() -> dict:
    from playwright.sync_api import sync_playwright

    url = bench_database("geomap_bench_field", fresh=True)
    prepared = _prepare(url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    api = _Server([sys.executable, "-m", "uvicorn", "geomap.web:create_app", "--factory", "--host", "127.0.0.1",
                   "--port", str(port), "--log-level", "warning"],
                  {"GEOMAP_DATABASE_URL": url, "GEOMAP_PUBLIC_BASE_URL": base, "PYTHONPATH": str(PROJECT)})
    try:
        _wait(f"{base}/health")
        save = _save_figures(base)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                        args=CHROMIUM_ARGS)
            ours = _field_figures(browser, base)
            theirs = _streamlit_figures(browser, url, prepared)
            browser.close()
        engine = prepared["engine"]
        with engine.connect() as c:
            arrived = c.execute(sa.text(
                "SELECT count(*) AS n, count(DISTINCT client_id) AS d FROM inspection WHERE client_id::text IN :ids"
            ).bindparams(sa.bindparam("ids", expanding=True)), {"ids": ours.pop("sync30_ids")}).mappings().one()
    finally:
        api.stop()
    first = ours["first_open"]
    figures = {
        "stops": prepared["stops"],
        "field_first_open": first, "streamlit_onsite": theirs,
        "ratio_bytes": round(theirs["bytes"] / max(first["bytes"], 1), 1),
        "ratio_requests": round(theirs["requests"] / max(first["requests"], 1), 1),
        # both by the harness' clock (the Streamlit page has no mark of its own)
        "ratio_time": round(theirs["first_stop_ms"] / max(first["tappable_wall_ms"], 1), 1),
        "reopen_ms": ours["reopen_ms"], "reopen_wall_ms": ours["reopen_wall_ms"],
        "save_loopback": save, "sync30_ms": ours["sync30_ms"],
        "sync30_applied": {"rows": arrived["n"], "distinct": arrived["d"]},
    }
    figures["load_average"] = [round(x, 1) for x in os.getloadavg()]
    print(f"machine load average (1, 5, 15 min) at the end: {figures['load_average']}")
    print(f"route of {figures['stops']} stops; throttled 1.6 Mbit/s down, 750 kbit/s up, 150 ms RTT, 360x740")
    print(f"field app first open of Today: {first['bytes'] / 1024:.1f} KB in {first['requests']} requests, "
          f"stop 1 tappable {first['tappable_ms']} ms after the navigation started ({first['tappable_wall_ms']} ms "
          "by the harness' clock) (targets 150 KB, 2000 ms)")
    print(f"Streamlit on-site page (same run): {theirs['bytes'] / 1024:.1f} KB in {theirs['requests']} requests, "
          f"first stop shown after {theirs['first_stop_ms']} ms -> ratios bytes {figures['ratio_bytes']}x, "
          f"requests {figures['ratio_requests']}x, time {figures['ratio_time']}x")
    print(f"reopen from the phone's cache, stop 1 tappable after: online {ours['reopen_ms']['online']} ms, offline "
          f"{ours['reopen_ms']['offline']} ms (harness' clock {ours['reopen_wall_ms']['online']} / "
          f"{ours['reopen_wall_ms']['offline']} ms; target 300 ms)")
    print(f"save one result without photo on loopback: median {save['median_ms']} ms, p90 {save['p90_ms']} ms "
          f"(target 200 ms)")
    print(f"30 queued results synced in {ours['sync30_ms']} ms (target 5000 ms); rows {arrived['n']}, "
          f"distinct client ids {arrived['d']}")
    if not os.environ.get("GEOMAP_BENCH_KEEP"):
        drop_database(url)
    return figures


if __name__ == "__main__":
    run()
