"""A simulated kube-apiserver for tests, benchmarks and the embedded default.

Public API:
    Simulator, SimulatorConfig   the server (app.py)
    BackgroundSimulator          the server on its own thread, for sync tests
    StreamSettings               watch timing: bookmark interval, timeouts
    Faults                       what ``Simulator.faults`` injects
    History                      recorded writes, watches and LISTs, checked
                                 against each other (history.py)

Modules, lowest first: store, admission, verbs, patch, apply (server-side
apply), protoschema and protobuf (kubectl's protobuf bodies), reads,
budget (slow watchers' time budget), watch, faults, discovery, endpoints,
app, background, demo. docs/simulator.md is the user's guide. Status errors, selectors,
continue tokens, list options and the kinds table come from watchcache.api.
"""

from watchcache.testing.app import Simulator, SimulatorConfig
from watchcache.testing.background import BackgroundSimulator
from watchcache.testing.endpoints import StreamSettings
from watchcache.testing.faults import Faults
from watchcache.testing.history import History

__all__ = [
    "BackgroundSimulator",
    "Faults",
    "History",
    "Simulator",
    "SimulatorConfig",
    "StreamSettings",
]
