"""The report and the Dash app in a real headless Chromium (Debian's `chromium`, driven by Playwright).

Every chart must render (its div holds plotly's SVG), the page must log no console errors, the report
must load nothing from the network, and clicking a set in the app must redraw the rep charts. A live
recording (a session whose sample count grows) must show up without a reload. At 390 px (a phone) and
1400 px the layouts are measured by their bounding boxes (`layout_of`): nothing wider than the screen, no
title under the plotly toolbar or cut off, no card over another, every rep's card and flags on screen, tap
targets of 44 px.
Screenshots are kept in build/test-artifacts/screenshots/.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import threading
from pathlib import Path

import pytest

from analysis import analyze_angles
from analysis.limits import DEFAULT_LIMITS
from analysis.session import SessionAnalysis
from dashboards.app import DataSource, create_app
from dashboards.history import history_table
from dashboards.report import report_figures, write_report
from tests.angle_synth import Rep, build, rest
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
SCREENSHOTS = Path(__file__).resolve().parents[1] / "build" / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 900}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="no Chromium: apt-get install chromium to run the browser tests"
    ),
]


#: Bounding boxes of what a person must be able to read and tap, measured in the page (CSS px).
LAYOUT_JS = """(tapSelector) => {
  const vw = document.documentElement.clientWidth;
  const box = (e) => e.getBoundingClientRect();
  const meets = (a, b) => a.width > 0 && b.width > 0 && a.left < b.right && b.left < a.right
    && a.top < b.bottom && b.top < a.bottom;
  const titles = [...document.querySelectorAll(".js-plotly-plot")].flatMap((plot) => {
    const title = plot.querySelector(".gtitle");
    if (!title || !title.textContent) return [];
    const t = box(title), p = box(plot), bar = plot.querySelector(".modebar"), key = plot.querySelector(".legend");
    return [{text: title.textContent, underToolbar: !!bar && meets(t, box(bar)), underLegend: !!key && meets(t, box(key)),
             cutOff: t.left < p.left - 1 || t.right > Math.min(p.right, vw) + 1}];
  });
  const flags = [...document.querySelectorAll(".rep-card, .rep-card .verdict, .rep-card .reasons li")].map((e) => {
    const b = box(e);
    return {text: e.textContent.slice(0, 60), left: b.left, right: b.right};
  });
  const cards = [...document.querySelectorAll(".rep-card")].map((e) => box(e).height);
  const panels = [...document.querySelectorAll(".card, .rep-card")].filter((e) => !e.parentElement.closest(".card"));
  const overlaps = panels.flatMap((a, i) => panels.slice(i + 1).filter((b) => meets(box(a), box(b)))
    .map((b) => [a.id || a.className, b.id || b.className]));
  const taps = [...document.querySelectorAll(tapSelector)].map((e) => ({text: e.textContent, height: box(e).height}));
  return {viewport: vw, scrollWidth: document.documentElement.scrollWidth, titles, flags, cards, taps, overlaps};
}"""


def layout_of(page, tap_selector: str) -> dict:
    """The page's measured layout (`LAYOUT_JS`)."""
    return page.evaluate(LAYOUT_JS, tap_selector)


def assert_layout_holds(layout: dict, viewport: dict, n_cards: int, n_taps: int) -> None:
    """Nothing scrolls sideways, titles are clear of the toolbar and whole, flags on screen, taps 44 px high."""
    assert layout["viewport"] == viewport["width"]
    assert layout["scrollWidth"] <= viewport["width"], "the page must not scroll sideways"
    assert layout["overlaps"] == [], "no card covers another"
    assert layout["titles"], "the charts have titles"
    for title in layout["titles"]:
        assert not title["underToolbar"], f"the plotly toolbar covers {title['text']!r}"
        assert not title["underLegend"], f"the legend covers {title['text']!r}"
        assert not title["cutOff"], f"{title['text']!r} is cut off"
    assert len(layout["cards"]) == n_cards
    for flag in layout["flags"]:
        assert 0 <= flag["left"] and flag["right"] <= viewport["width"], f"off screen: {flag['text']!r}"
    assert max(layout["cards"]) <= 220, "a rep's card stays short"
    assert len(layout["taps"]) == n_taps and all(t["height"] >= 44 for t in layout["taps"]), layout["taps"]


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


#: Sessions of the history: two on one day (morning and evening), one a week later.
HISTORY_DATES = ("2026-11-01T07:40", "2026-11-01T18:25", "2026-11-08T07:50")


def demo_history(analysis):
    return history_table(zip(HISTORY_DATES, (demo_analysis(2), demo_analysis(1), analysis)))


@pytest.fixture(scope="module")
def report_file(analysis, tmp_path_factory):
    history = demo_history(analysis)
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(path, analysis, title="Monday pulls", subtitle="22 Nov 2026 · 3 sets", history=history)
    return path, len(report_figures(analysis, history))


@pytest.mark.parametrize("viewport,name", [(DESKTOP, "report_desktop.png"), (PHONE, "report_phone.png")])
def test_report_renders_every_chart_offline_and_its_layout_holds(browser, report_file, viewport, name):
    path, n_figures = report_file
    page = Page(browser, viewport)
    try:
        page.page.goto(path.as_uri())
        assert page.wait_rendered("div.plot") == n_figures
        assert page.errors == []
        assert all(url.startswith(("file:", "data:", "blob:")) for url in page.requests), page.requests
        summary = page.page.inner_text("#summary")
        assert "reps 6–8 flexed past your limit (46°, 48°, 50°)" in summary
        # three sets and the history to jump to; a card per rep
        assert_layout_holds(layout_of(page.page, "nav.jump a"), viewport, n_cards=24, n_taps=4)
        card = page.page.inner_text("#set2-rep8")
        assert "past flexion limit" in card and "+50°" in card and "flexion limit 35°" in card
        assert "−14°" in page.page.inner_text("#set3-rep2")
        assert "-0" not in page.page.inner_text("body") and "−0" not in page.page.inner_text("body")
        # the spine figure writes the angles it draws
        stick = page.page.inner_text("#plot-set2_stick")
        assert "rep 8: lumbar flexed 50°" in stick and "+50°" in stick
        # history dated by when each session was recorded: no two ticks read the same
        ticks = [t for t in page.page.locator("#plot-history .xaxislayer-above text").all_text_contents() if t]
        assert len(ticks) >= 2 and len(set(ticks)) == len(ticks), ticks
        page.screenshot(name)
    finally:
        page.close()


def twenty_rep_analysis() -> SessionAnalysis:
    """One set of 20 reps, the last five rounding the lower back, after a set of 6."""
    parts = [rest(5.0)] + [Rep(depth_deg=70) for _ in range(6)] + [rest(30.0)]
    parts += [Rep(depth_deg=70, lumbar_share=0.15 if i < 15 else 0.7) for i in range(20)] + [rest(20.0)]
    angles = build(parts, rate_hz=100.0)
    sets, reps = analyze_angles(angles, DEFAULT_LIMITS)
    return SessionAnalysis(angles=angles, sets=sets, reps=reps, limits=DEFAULT_LIMITS, session_id="twentyreps00")


def test_report_of_twenty_reps_on_a_phone_keeps_rep_numbers_apart(browser, tmp_path):
    analysis = twenty_rep_analysis()
    assert list(analysis.sets["rep_count"]) == [6, 20]
    path = write_report(tmp_path / "twenty.html", analysis, title="Twenty")
    page = Page(browser, PHONE)
    try:
        page.page.goto(path.as_uri())
        page.wait_rendered("#plot-timeline")
        labels = page.page.evaluate(
            """() => [...document.querySelectorAll("#plot-timeline .textpoint text")]
                 .filter((t) => t.textContent).map((t) => { const b = t.getBoundingClientRect();
                   return {text: t.textContent, left: b.left, right: b.right, top: b.top, bottom: b.bottom}; })"""
        )
        assert len(labels) >= 4
        for a, b in zip(labels, labels[1:]):
            apart = (
                a["right"] <= b["left"] or b["right"] <= a["left"] or a["bottom"] <= b["top"] or b["bottom"] <= a["top"]
            )
            assert apart, f"rep numbers {a['text']} and {b['text']} crowd together"
        page.wait_rendered("div.plot")
        assert_layout_holds(layout_of(page.page, "nav.jump a"), PHONE, n_cards=26, n_taps=2)
        page.screenshot("report_twenty_reps_phone.png")
    finally:
        page.close()


def _serve(app):
    """Serve a Dash app on a free local port in a thread; return (url, server)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/", server


@pytest.mark.parametrize("viewport,name", [(DESKTOP, "dashboard_desktop.png"), (PHONE, "dashboard_phone.png")])
def test_dashboard_picks_a_set_and_redraws_the_rep_charts(browser, analysis, viewport, name):
    sessions = [{"id": "0123456789ab", "label": "22 Nov · Monday pulls", "samples": len(analysis.angles)}]
    history = demo_history(analysis)
    source = DataSource(sessions=lambda: sessions, analysis=lambda sid: analysis, history=lambda: history)
    url, server = _serve(create_app(source, poll_interval_ms=500))
    page = Page(browser, viewport)
    try:
        page.page.goto(url)
        # the newest set is picked first
        page.page.locator("#rep-lumbar .gtitle", has_text="Set 3").wait_for(timeout=20_000)
        assert page.wait_rendered(".js-plotly-plot") == 6
        page.page.locator("#set label", has_text="Set 2").click()
        for graph in ("set-summary", "rep-lumbar", "rep-rhythm", "rep-stick"):
            page.page.locator(f"#{graph} .gtitle", has_text="Set 2").wait_for(timeout=10_000)
        assert page.page.locator("#rep-lumbar .scatterlayer .trace").count() == 8 + 2  # reps, the key of two colours
        assert "reps 6–8 flexed past your limit" in page.page.inner_text("#summary")
        page.page.locator("#set2-rep8").wait_for(timeout=10_000)
        assert "past flexion limit" in page.page.inner_text("#set2-rep8")
        assert page.wait_rendered(".js-plotly-plot") == 6
        # the session picker and the three sets to pick from; a card per rep of the picked set
        assert_layout_holds(layout_of(page.page, "#session, #set label"), viewport, n_cards=8, n_taps=1 + 3)
        page.screenshot(name)
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


def test_a_label_saved_in_the_dashboard_is_on_view_at_once(browser, home):
    """Saving a set's label redraws the session from an analysis with it, with no new samples to prompt one: the set
    picker, the card and the summary show the exercise named."""
    from imuform.cli.dashboard import store_source
    from imuform.store import Store
    from tests.lifts import store_two_sets

    with Store(home) as store:
        store_two_sets(store)
    url, server = _serve(create_app(store_source(str(home)), poll_interval_ms=600_000))  # no poll redraws it
    page = Page(browser, DESKTOP)
    try:
        page.page.goto(url)
        page.page.locator("#set label", has_text="Set 2").wait_for(timeout=20_000)
        page.page.locator("#set label", has_text="Set 1").click()
        page.page.locator("#rep-lumbar .gtitle", has_text="Set 1").wait_for(timeout=20_000)
        page.page.locator("#label-exercise").click()
        page.page.get_by_text("good morning", exact=True).click()
        page.page.fill("#label-load-kg", "100")
        page.page.click("#label-save")
        page.page.locator("#label-status", has_text="Saved set 1").wait_for(timeout=20_000)
        page.page.locator("#set label", has_text="good morning").wait_for(timeout=20_000)
        assert "named by you · 100 kg" in page.page.inner_text("#set")
        page.page.locator("#summary li", has_text="Set 1 (good morning)").wait_for(timeout=20_000)
        assert page.page.input_value("#label-load-kg") == "100"
        assert "good morning" in page.page.inner_text("#label-exercise")
        assert page.errors == []
    finally:
        page.close()
        server.shutdown()
