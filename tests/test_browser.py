"""The report and the Dash app in a real headless Chromium (Debian's `chromium`, driven by Playwright).

Every chart must render (its div holds plotly's SVG), the page must log no console errors, the report
must load nothing from the network, and clicking a set in the app must redraw the rep charts. A live
recording (a session whose sample count grows) must show up without a reload. Screenshots are kept in
artifacts/screenshots/.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import threading
from pathlib import Path

import pytest

from dashboards.app import DataSource, create_app
from dashboards.history import history_table
from dashboards.report import report_figures, write_report
from tests.test_dashboards import demo_analysis

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="no Chromium: apt-get install chromium to run the browser tests"
    ),
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="python playwright is not installed")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Page:
    """A browser page that records console errors, uncaught exceptions and network requests."""

    def __init__(self, browser, viewport: dict):
        self.page = browser.new_page(viewport=viewport)
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("request", lambda req: self.requests.append(req.url))

    def wait_rendered(self, selector: str, timeout_ms: float = 15_000) -> int:
        """Scroll every element matching ``selector`` into view and wait for its plotly SVG; return the count."""
        divs = self.page.locator(selector)
        for i in range(divs.count()):
            div = divs.nth(i)
            div.scroll_into_view_if_needed()
            div.locator("svg.main-svg").first.wait_for(state="attached", timeout=timeout_ms)
        return divs.count()

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / name), full_page=True)

    def close(self) -> None:
        self.page.close()


@pytest.fixture(scope="module")
def analysis():
    return demo_analysis()


@pytest.fixture(scope="module")
def report_file(analysis, tmp_path_factory):
    history = history_table([("2026-11-01", demo_analysis(2)), ("2026-11-08", analysis)])
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(path, analysis, title="Monday pulls", subtitle="22 Nov 2026 · 3 sets", history=history)
    return path, len(report_figures(analysis, history))


@pytest.mark.parametrize("viewport,name", [(DESKTOP, "report_desktop.png"), (PHONE, "report_phone.png")])
def test_report_renders_every_chart_offline(browser, report_file, viewport, name):
    path, n_figures = report_file
    page = Page(browser, viewport)
    try:
        page.page.goto(path.as_uri())
        assert page.wait_rendered("div.plot") == n_figures
        assert page.errors == []
        assert all(url.startswith(("file:", "data:", "blob:")) for url in page.requests), page.requests
        summary = page.page.inner_text("#summary")
        assert "reps 6–8 flexed past your limit (46°, 48°, 50°)" in summary
        width_px = page.page.evaluate("document.documentElement.scrollWidth")
        assert width_px <= viewport["width"], "the page must not scroll sideways on a phone"
        page.screenshot(name)
    finally:
        page.close()


def _serve(app):
    """Serve a Dash app on a free local port in a thread; return (url, server)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/", server


def test_dashboard_picks_a_set_and_redraws_the_rep_charts(browser, analysis):
    sessions = [{"id": "0123456789ab", "label": "22 Nov · Monday pulls", "samples": len(analysis.angles)}]
    history = history_table([("2026-11-01", demo_analysis(2)), ("2026-11-08", analysis)])
    source = DataSource(sessions=lambda: sessions, analysis=lambda sid: analysis, history=lambda: history)
    url, server = _serve(create_app(source, poll_interval_ms=500))
    page = Page(browser, DESKTOP)
    try:
        page.page.goto(url)
        # the newest set is picked first
        page.page.locator("#rep-lumbar .gtitle", has_text="Set 3").wait_for(timeout=20_000)
        assert page.wait_rendered(".js-plotly-plot") == 6
        page.page.locator("#set label", has_text="Set 2").click()
        for graph in ("set-summary", "rep-lumbar", "rep-rhythm", "rep-stick"):
            page.page.locator(f"#{graph} .gtitle", has_text="Set 2").wait_for(timeout=10_000)
        assert page.page.locator("#rep-lumbar .scatterlayer .trace").count() == 8 + 1  # reps and the colour key
        assert "reps 6–8 flexed past your limit" in page.page.inner_text("#summary")
        page.screenshot("dashboard_desktop.png")
        assert page.errors == []
    finally:
        page.close()
        server.shutdown()


def test_dashboard_with_a_token_works_after_the_first_link(browser, analysis):
    """Served beyond this computer: the link with the token opens the page, whose own requests use the cookie."""
    sessions = [{"id": "0123456789ab", "label": "private", "samples": len(analysis.angles)}]
    source = DataSource(sessions=lambda: sessions, analysis=lambda sid: analysis)
    url, server = _serve(create_app(source, poll_interval_ms=500, token="s3cret"))
    page = Page(browser, DESKTOP)
    try:
        assert page.page.goto(url).status == 403
        page.page.goto(url + "?token=s3cret")
        page.page.locator("#rep-lumbar .gtitle", has_text="Set 3").wait_for(timeout=20_000)
        page.page.goto(url)  # the cookie stands in for the token from now on
        page.page.locator("#rep-lumbar .gtitle", has_text="Set 3").wait_for(timeout=20_000)
        assert [e for e in page.errors if "403" not in e] == []
    finally:
        page.close()
        server.shutdown()


def test_dashboard_follows_a_live_recording(browser):
    """While a session grows, new sets appear without a reload and the page says it is live; once it stops,
    it is analysed in full."""
    growing = {"analysis": demo_analysis(1), "samples": 100}
    source = DataSource(
        sessions=lambda: [{"id": "live00000000", "label": "recording", "samples": growing["samples"]}],
        analysis=lambda sid: growing["analysis"],
    )
    stop = threading.Event()

    def write_a_little() -> None:
        while not stop.wait(0.1):
            growing["samples"] += 1

    recorder = threading.Thread(target=write_a_little, daemon=True)
    url, server = _serve(create_app(source, poll_interval_ms=300))
    page = Page(browser, PHONE)
    try:
        page.page.goto(url)
        page.page.locator("#set label", has_text="Set 1").wait_for(timeout=20_000)
        assert page.page.locator("#set label").count() == 1
        growing.update(analysis=demo_analysis(2), samples=20_100)  # the recorder wrote a second set (100 s)
        recorder.start()  # and goes on writing a little, as a recording does, until told to stop
        page.page.locator("#set label", has_text="Set 2").wait_for(timeout=10_000)
        page.page.locator("#status .live").wait_for(timeout=10_000)
        page.page.locator("#rep-lumbar .gtitle", has_text="Set 2").wait_for(timeout=10_000)
        page.screenshot("dashboard_live_phone.png")
        # the last samples, too few to analyse again while the session grows: analysed once it stops
        growing["analysis"] = demo_analysis(3)
        stop.set()
        page.page.locator("#set label", has_text="Set 3").wait_for(timeout=10_000)
        assert page.page.locator("#status .live").count() == 0
        assert page.errors == []
    finally:
        stop.set()
        page.close()
        server.shutdown()


def test_report_command_on_a_simulated_session_with_png(browser, tmp_path, capsys, monkeypatch):
    """End to end: a simulated session in the store, `imuform report --png`, then the page in Chromium."""
    import json

    from imuform.cli.main import main
    from imuform.simulator import SessionSpec, SetSpec, simulate_session
    from imuform.store import Store

    monkeypatch.setenv("IMUFORM_HOME", str(tmp_path / "home"))
    sim = simulate_session(
        SessionSpec(
            sets=[SetSpec("deadlift", 5, "lumbar_flexion"), SetSpec("romanian_deadlift", 5, "none")],
            rest_s=(20.0, 25.0),
            seed=3,
            magnetometer=False,
            between_sets=False,
        )
    )
    with Store() as store:
        session_id = store.import_samples(sim.samples, name="simulated pulls")
    out_html, png_dir = tmp_path / "report.html", tmp_path / "png"
    code = main(["report", session_id, "--out", str(out_html), "--png", str(png_dir), "--json"])
    out, err = capsys.readouterr()
    doc = json.loads(out)
    if importlib.util.find_spec("kaleido") is None:  # PNG export is an extra: without it, one clear line
        assert code == 1 and doc["png"] == [] and "pip install kaleido" in err and err.count("\n") == 1
    else:
        assert code == 0 and doc["png_skipped"] is None
        assert sorted(p.name for p in png_dir.iterdir()) == sorted(Path(p).name for p in doc["png"])
        assert len(doc["png"]) == 1 + 4 * 2 and all(Path(p).read_bytes()[:4] == b"\x89PNG" for p in doc["png"])
    assert re.match(r"Set 1 \(.+\): reps 1–5 flexed past your limit", doc["summary"][1]), doc["summary"]
    page = Page(browser, PHONE)
    try:
        page.page.goto(out_html.as_uri())
        assert page.wait_rendered("div.plot") == 9 and page.errors == []
        page.screenshot("report_simulated_phone.png")
    finally:
        page.close()
