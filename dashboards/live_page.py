"""The live page for a phone: the lumbar angle gauge against the person's band, the set's reps and peaks,
sync and battery, the limit cue (Web Audio), and the guided calibration's prompts.

The page is three static files beside this module (``live_page.html``, ``.js``, ``.css``), offline: no CDN,
no fonts, nothing fetched but its own assets and the state stream. It draws the state that
`imuform.ble.live.LiveState` (or the calibration guide) sends over the WebSocket ``/ws``; it computes
nothing of its own, so it cannot disagree with the terminal.
"""

from __future__ import annotations

from importlib.resources import files

#: The page's files and their content types.
PAGE_FILES = {
    "/": ("live_page.html", "text/html; charset=utf-8"),
    "/live_page.js": ("live_page.js", "text/javascript; charset=utf-8"),
    "/live_page.css": ("live_page.css", "text/css; charset=utf-8"),
}


def live_page_assets(query: str = "") -> dict[str, tuple[str, bytes]]:
    """The page's files by URL path, as (content type, body).

    Parameters
    ----------
    query
        Appended to the page's own asset links (e.g. ``?token=…``), so that a served page whose every
        request needs the token loads its script and styles.
    """
    folder = files("dashboards")
    assets = {}
    for path, (name, content_type) in PAGE_FILES.items():
        text = folder.joinpath(name).read_text(encoding="utf-8")
        assets[path] = (content_type, text.replace("__QUERY__", query).encode("utf-8"))
    return assets
