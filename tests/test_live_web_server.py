"""The live page's server without a browser: what it serves, to whom, and what a page gets on connecting."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

from websockets.asyncio.client import connect

from imuform.live_web.server import LiveWebServer, WebConfig


def get(url: str, host: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def test_the_page_and_its_assets_are_served_to_this_computer_only():
    async with LiveWebServer(lambda: {"cues": 0}, WebConfig(port=0)) as server:
        base = f"http://127.0.0.1:{server.port}/"
        status, page = await asyncio.to_thread(get, base)
        assert status == 200 and 'href="live_page.css"' in page and "__QUERY__" not in page
        assert (await asyncio.to_thread(get, base + "live_page.js"))[0] == 200
        assert (await asyncio.to_thread(get, base + "nothing"))[0] == 404
        # a page elsewhere whose name now points here (DNS rebinding) is refused
        status, text = await asyncio.to_thread(get, base, f"evil.example:{server.port}")
        assert status == 403 and "this computer only" in text


async def test_with_a_token_every_request_needs_it_and_assets_carry_it():
    async with LiveWebServer(lambda: {"cues": 0}, WebConfig(host="127.0.0.1", port=0, token="s3cret")) as server:
        base = f"http://127.0.0.1:{server.port}/"
        for path in ("", "live_page.js", "ws"):
            status, text = await asyncio.to_thread(get, base + path)
            assert status == 403 and "link imuform printed" in text
        status, page = await asyncio.to_thread(get, base + "?token=s3cret")
        assert status == 200 and 'src="live_page.js?token=s3cret"' in page


async def test_a_page_gets_the_whole_state_on_connecting_then_each_change_and_is_timed():
    state = {"cues": 0, "arrived_s": None}
    async with LiveWebServer(lambda: dict(state), WebConfig(port=0)) as server:
        async with connect(f"ws://127.0.0.1:{server.port}/ws") as ws:
            first = json.loads(await ws.recv())
            assert first["state"] == {"cues": 0} and server.viewer.is_set()
            state.update(cues=1, arrived_s=time.perf_counter())
            server.notify()
            message = json.loads(await ws.recv())
            assert message["state"] == {"cues": 1} and message["seq"] > first["seq"]
            await ws.send(json.dumps({"ack": message["seq"], "by": "test"}))
            await ws.send("not an acknowledgement")
            while "test" not in server.latencies_s:
                await asyncio.sleep(0.01)
        assert len(server.latencies_s["test"]) == 1 and server.latencies_s["test"][0] >= 0
