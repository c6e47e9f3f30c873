"""A simulated kube-apiserver: the embedded default upstream of
``watchcache serve``, and the server the project's tests and benchmarks, and
users' controller tests, run against.

Why it has its own store and watchers: the simulator is the oracle the
cache is checked against (the contract suite, the history checker, the
soak). An oracle that shared the cache's store, history ring or watch
dispatch would agree with the cache's bugs, so every part here is written
again from kube-apiserver's behaviour, in the plainest form that is still
fast enough, and imports nothing from ``watchcache.cache``,
``watchcache.fanout`` or ``watchcache.proxy``. Its classes carry a ``Sim``
prefix (``SimStore``, ``SimWatcher``, ...) so that a reader never mistakes
them for the cache's ``Store`` or the fan-out's ``Watcher``.

Public API:
    Simulator, SimulatorConfig   the server (app.py)
    BackgroundSimulator          the server on its own thread, for sync tests
    StreamSettings               watch timing: bookmark interval, timeouts
    Faults                       what ``Simulator.faults`` injects
    DemoWorkload                 the demo's nodes and pods (demo.py)

Modules, lowest first: store, admission, verbs, patch, apply (server-side
apply), protoschema and protobuf (kubectl's protobuf bodies), reads,
budget (slow watchers' time budget), watch, faults, openapi, discovery,
reviews (access reviews), endpoints, app, background, demo.
docs/simulator.md is the user's guide. Status errors, selectors, continue
tokens, list options and the kinds table come from watchcache.api. The
history checker and the fault suite that drive it are in
``watchcache.testing``.
"""

from watchcache.simulator.app import Simulator, SimulatorConfig
from watchcache.simulator.background import BackgroundSimulator
from watchcache.simulator.demo import DemoWorkload
from watchcache.simulator.endpoints import StreamSettings
from watchcache.simulator.faults import Faults

__all__ = [
    "BackgroundSimulator",
    "DemoWorkload",
    "Faults",
    "Simulator",
    "SimulatorConfig",
    "StreamSettings",
]
