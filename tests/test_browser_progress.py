"""The progress page in a real headless Chromium at a phone's width: every chart drawn, nothing sideways."""

from __future__ import annotations

import pytest

from tests.test_browser import PHONE, Page, browser  # noqa: F401 - the browser fixture
from tests.test_demo_weeks import weeks_demo  # noqa: F401 - the module fixture

pytestmark = pytest.mark.browser


def test_progress_page_reads_on_a_phone(browser, weeks_demo):  # noqa: F811
    page = Page(browser, PHONE)
    try:
        page.page.goto(weeks_demo[1].as_uri())
        assert page.wait_rendered("div.plot") >= 4
        assert page.errors == []
        assert all(url.startswith(("file:", "data:", "blob:")) for url in page.requests), page.requests
        assert "Deadlift" in page.page.inner_text("#summary")
        width_px = page.page.evaluate("document.documentElement.scrollWidth")
        assert width_px <= PHONE["width"], "the page must not scroll sideways on a phone"
        page.screenshot("progress_phone.png")
    finally:
        page.close()
