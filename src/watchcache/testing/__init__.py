"""What tests (the project's and users') need beside the simulator: the
history checker and the fault suite.

Public API:
    History    recorded writes, watches and LISTs, checked against each
               other (history.py)

Modules: history, soak (``python -m watchcache.testing.soak``: the
simulator or a real cluster behind the proxy, faults injected, every
client's history checked; docs/soak.md). The simulated kube-apiserver
itself is ``watchcache.simulator``.
"""

from watchcache.testing.history import History

__all__ = ["History"]
