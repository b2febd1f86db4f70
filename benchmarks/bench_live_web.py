"""Latency of the phone page: from a sample's arrival to the page's update, in a real Chromium.

A virtual set streams over the virtual radio in real time into `imuform.ble.live.LiveView`, as in
``imuform live --virtual --web``; `imuform.live_web.server.LiveWebServer` pushes the state from the
recorder's own loop to the live page open in Debian's headless Chromium (Playwright) at phone size. The page
acknowledges each message in the animation frame after drawing it; the server times arrival of the newest
sample to that acknowledgement. The round trip back is counted too, so the figure is an upper bound of
arrival-to-screen. Target: ≤ 150 ms at p99 on localhost. The same-run baseline is a bare WebSocket client
(Python, in its own thread and event loop) that acknowledges as soon as a message arrives: the server's own
share and the transport, no browser.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
from websockets.asyncio.client import connect

from analysis.calibration import calibrate_standing
from benchmarks.figures import Figure, benchmark_options, print_table
from imuform.ble.live import LiveView
from imuform.ble.virtual_rig import record_virtual, simulate, virtual_streams
from imuform.cli.live import counting_reps
from imuform.live_web.server import LiveWebServer, WebConfig
from imuform.store import Store

TARGET_P99_MS = 150.0
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RATE_HZ = 100.0


async def _bare_client(url: str, stop: threading.Event) -> None:
    """The baseline: acknowledge every message on arrival."""
    async with connect(url.replace("http://", "ws://").replace("/?", "/ws?").rstrip("/") + "/ws") as ws:
        while not stop.is_set():
            try:
                message = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            await ws.send(json.dumps({"ack": json.loads(message)["seq"], "by": "bare"}))


async def _serve_set(reps: int, ready: threading.Event, page_open: threading.Event, out: dict) -> None:
    session = simulate("romanian_deadlift", sets=1, reps=reps, rate_hz=RATE_HZ, seed=2, calibration_s=5.0,
                       rom_calibration=False, between_sets=False)  # fmt: skip
    view = LiveView(calibrate_standing(session.samples, 1.0, 5.0), RATE_HZ, limit_deg=35.0)
    with tempfile.TemporaryDirectory() as home, Store(Path(home)) as store:
        async with LiveWebServer(lambda: view.state().to_dict(), WebConfig(port=0)) as server:
            view.listeners.append(server.notify)
            out["url"] = server.url
            ready.set()
            stop = threading.Event()
            bare = threading.Thread(target=lambda: asyncio.run(_bare_client(server.url, stop)))
            bare.start()
            await asyncio.to_thread(page_open.wait)
            with counting_reps(view):
                await record_virtual(
                    store,
                    streams=virtual_streams(session),
                    rate_hz=RATE_HZ,
                    speed=1.0,
                    on_samples=view.on_samples,
                    on_start=view.on_start,
                )
            stop.set()
            await asyncio.to_thread(bare.join)
            out["latencies_s"] = {k: np.asarray(v) for k, v in server.latencies_s.items()}


def measure(reps: int) -> dict[str, np.ndarray]:
    """Latencies (s) of the Chromium page (``page``) and of the bare client (``bare``) over one virtual set."""
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM_ARGS

    out: dict = {}
    ready, page_open = threading.Event(), threading.Event()
    server = threading.Thread(target=lambda: asyncio.run(_serve_set(reps, ready, page_open, out)))
    server.start()
    try:
        ready.wait(120)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(out["url"])
            page.locator("#link", has_text="live").wait_for(timeout=60_000)
            page_open.set()
            server.join()
            browser.close()
    finally:
        page_open.set()
        server.join()
    return out["latencies_s"]


def run(quick: bool = False) -> list[Figure]:
    """p99 and p50 arrival-to-page latency in Chromium, the bare client's p99 beside them, and the load."""
    if not Path(CHROMIUM).exists():
        print("bench_live_web: no Chromium (apt-get install chromium); skipped", file=sys.stderr)
        return []
    load_before = os.getloadavg()[0]
    latencies = measure(3 if quick else 8)
    load = f"load {load_before:.1f}→{os.getloadavg()[0]:.1f} (1 min)"
    page_ms, bare_ms = latencies["page"] * 1e3, latencies["bare"] * 1e3
    return [
        Figure(
            "live page latency p99 (Chromium, localhost)",
            float(np.percentile(page_ms, 99)),
            "ms",
            TARGET_P99_MS,
            baseline=float(np.percentile(bare_ms, 99)),
            note=f"{len(page_ms):,} updates; baseline: bare WebSocket client; {load}",
        ),
        Figure(
            "live page latency p50 (Chromium, localhost)",
            float(np.percentile(page_ms, 50)),
            "ms",
            baseline=float(np.percentile(bare_ms, 50)),
            note=f"max {page_ms.max():.0f} ms",
        ),
    ]


if __name__ == "__main__":
    print_table("live page latency", run(quick=benchmark_options(__doc__).quick))
