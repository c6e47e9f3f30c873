"""background.py: the simulator on its own thread, driven synchronously."""

from __future__ import annotations

import json
import urllib.request

from watchcache.simulator.background import BackgroundSimulator


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: dict[str, object] = json.loads(response.read())
        return body


def test_serves_and_calls_on_its_loop() -> None:
    with BackgroundSimulator() as sim:
        assert sim.url.startswith("http://127.0.0.1:")
        namespaces = _get(sim.url + "/api/v1/namespaces")
        assert len(namespaces["items"]) == 4  # type: ignore[arg-type]
        rv = sim.call(lambda s: s.faults.compact())
        assert rv == sim.call(lambda s: s.store.rv)
    assert not sim.thread.is_alive()
