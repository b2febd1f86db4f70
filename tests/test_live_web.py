"""`imuform live --web` and `imuform calibrate --web` on a phone, in a real headless Chromium (Debian's `chromium`, driven by Playwright).

The command runs as a user runs it (a subprocess with virtual sensors); the page is opened at 390 px (a
phone) and 1400 px (a desktop). Layout is asserted by bounding boxes: no sideways scrolling, the gauge and
the rep count on screen, tap targets of at least 44 px. Screenshots go to ``build/test-artifacts/live_web/``
(ignored by git). ``--lan`` is exercised over the loopback address: without the token every request is
refused.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

ARTIFACTS = Path(__file__).resolve().parents[1] / "build" / "test-artifacts" / "live_web"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 900}
#: Long enough for a virtual set on a loaded 2-core machine; a wait, never a timed assertion.
SET_TIMEOUT_MS = 240_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="no Chromium: apt-get install chromium to run the browser tests"
    ),
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="python playwright is not installed")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--mute-audio"])
        yield chromium
        chromium.close()


class LiveCommand:
    """`imuform live (or calibrate) --virtual ... --web` as a subprocess; ``url`` is the link it printed."""

    def __init__(self, home: Path, command: str, *args: str):
        env = {**os.environ, "IMUFORM_HOME": str(home), "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "imuform", command, "--port", "0", "--json", *args]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.err_lines = []
        for line in self.proc.stderr:
            self.err_lines.append(line)
            if line.startswith("live page: "):
                self.url = line.removeprefix("live page: ").strip()
                break
        else:
            raise AssertionError(f"no link printed: {''.join(self.err_lines)}")

    def finish(self) -> tuple[dict, str]:
        """Ctrl-C (the page stays up after the set until then); the set's JSON and the rest of stderr."""
        self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=120)
        assert self.proc.returncode == 0, err
        return json.loads(out), "".join(self.err_lines) + err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def open_page(browser, url: str, viewport: dict):
    page = browser.new_page(viewport=viewport)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    return page, errors


def assert_layout(page, viewport: dict, name: str) -> None:
    """No sideways scrolling; gauge, angle and rep count on screen; every tap target at least 44 px."""
    page.set_viewport_size(viewport)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    for selector in ("#gauge", "#angle", "#rep-count"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0, selector
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], selector
    gauge = page.locator("#gauge").bounding_box()
    assert gauge["width"] >= min(300, viewport["width"] - 60), "the gauge fills a phone's width"
    assert page.locator("#angle").bounding_box()["height"] >= 60, "the angle reads from a floor away"
    for target in page.locator("button, summary").all():
        box = target.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, target.inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_a_six_rep_virtual_set_on_the_phone_page(browser, tmp_path):
    """6 reps on the page, as many cues (tones) as reps past the limit, and a layout that holds at 390 and 1400 px."""
    live = LiveCommand(tmp_path / "home", "live", "--virtual", "romanian_deadlift", "--reps", "6", "--web")
    try:
        page, errors = open_page(browser, live.url, PHONE)
        page.locator("#sound").click()  # a tap turns the sound on, as a phone requires
        page.locator("#set-label", has_text="saved").wait_for(timeout=SET_TIMEOUT_MS)
        assert page.inner_text("#rep-count") == "6"
        assert page.locator("#peaks li").count() == 6
        past = page.locator("#peaks li.over").count()
        assert past >= 1
        assert page.inner_text("#cue-count") == str(past)
        assert page.evaluate("document.body.dataset.cues") == str(past)  # signalled by the page
        assert page.evaluate("document.body.dataset.tones") == str(past)  # and played through Web Audio
        assert "at most once per rep" in page.inner_text("#cue-policy")
        assert page.inner_text("#link") == "set saved" and "in sync" in page.inner_text("#sync")
        assert "lumbar" in page.inner_text("#sensors") and "%" in page.inner_text("#sensors")
        assert_layout(page, PHONE, "live_phone.png")
        assert_layout(page, DESKTOP, "live_desktop.png")
        assert errors == []
        page.close()
        doc, _ = live.finish()
    finally:
        live.kill()
    assert doc["reps"] == 6 and len(doc["cues"]) == sum(p > doc["limit_deg"] for p in doc["peaks_deg"]) == past


def refused(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_lan_needs_the_token_for_every_request_and_a_reload_keeps_the_set(browser, tmp_path):
    live = LiveCommand(tmp_path / "home", "live", "--virtual", "good_morning", "--reps", "3", "--lan")
    try:
        assert "?token=" in live.url
        # over the loopback address: the server listens on every interface
        url = "http://127.0.0.1:" + live.url.split(":", 2)[2]
        base, token = url.split("?token=")
        for path in ("", "live_page.js", "live_page.css", "ws", "nothing"):
            assert refused(base + path) == 403, path
            assert refused(f"{base}{path}?token=wrong") == 403, path
        assert refused(f"{base}live_page.js?token={token}") == 200
        page, errors = open_page(browser, url, PHONE)
        page.locator("#link", has_text="live").wait_for(timeout=SET_TIMEOUT_MS)
        page.locator("#rep-count", has_text=re.compile("^[1-3]$")).wait_for(timeout=SET_TIMEOUT_MS)
        connected = page.locator("#link", has_text=re.compile("^(live|set saved)$"))  # the set may end meanwhile
        page.reload()  # the recording goes on; the page gets the state again
        connected.wait_for(timeout=SET_TIMEOUT_MS)
        # a phone that sleeps loses its socket: the page says so, reconnects and gets the state again
        page.evaluate("socket.close()")
        page.locator("#link", has_text="reconnecting").wait_for(timeout=SET_TIMEOUT_MS)
        connected.wait_for(timeout=SET_TIMEOUT_MS)
        page.locator("#set-label", has_text="saved").wait_for(timeout=SET_TIMEOUT_MS)
        assert page.inner_text("#rep-count") == "3"
        assert errors == []
        page.close()
        doc, err = live.finish()
    finally:
        live.kill()
    assert doc["reps"] == 3
    assert "▀" in err or "█" in err, "the QR code is printed with the link"


def test_calibrate_web_shows_the_guided_steps_and_the_outcome(browser, tmp_path):
    live = LiveCommand(tmp_path / "home", "calibrate", "--virtual", "--range", "--web")
    try:
        page, errors = open_page(browser, live.url, PHONE)
        # the simulated person goes at 20× pace: the steps done stay listed with their verdicts
        page.locator("#guide-prompt", has_text="Calibration saved").wait_for(timeout=SET_TIMEOUT_MS)
        assert page.locator("#gauge-card").is_hidden()  # the calibration page shows no live angle
        done = page.locator("#guide-done li").all_inner_texts()
        assert [line.split(":")[0] for line in done] == [
            "Stand tall and still, arms relaxed, looking ahead",
            "Bend forward as far as is comfortable, let your back round, and hold",
            "Lean back as far as is comfortable and hold",
        ]
        assert done[0].endswith("stood still") and "of flexion" in done[1] and "of extension" in done[2]
        message = page.inner_text("#guide-message")
        assert message.startswith("Your range: ") and "Your limits: flexion " in message
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert page.locator("#guide-prompt").bounding_box()["height"] >= 24
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "calibrate_phone.png"), full_page=True)
        assert errors == []
        page.close()
        doc, _ = live.finish()
    finally:
        live.kill()
    assert doc["calibration"]["range_of_motion"]["max_flexion_deg"] > 20
