"""A simulated kube-apiserver for tests, benchmarks and the embedded default.

Public API:
    Simulator, SimulatorConfig   the server (app.py)
    StreamSettings               watch timing: bookmark interval, timeouts
    Faults                       what ``Simulator.faults`` injects

Modules, lowest first: resources (kinds, paths), status, selectors,
continuetoken, listoptions (interim copies of watchcache.api), store,
admission, verbs, patch, reads, watch, faults, discovery, endpoints, app,
demo.
"""

from watchcache.testing.app import Simulator, SimulatorConfig
from watchcache.testing.endpoints import StreamSettings
from watchcache.testing.faults import Faults

__all__ = ["Faults", "Simulator", "SimulatorConfig", "StreamSettings"]
