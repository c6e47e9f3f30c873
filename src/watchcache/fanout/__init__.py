"""Watch fan-out: delivering each event to many watchers cheaply and in order.

Modules:
    event     what the fan-out reads of an event (``FanoutEvent``)
    filter    which line one watcher gets for one event
    budget    the time budget shared by watchers that cannot keep up
    socket    a watch's bytes: bounded buffer, batched writes, the end
    coalesce  when sockets write: once per batch of events, or per window
    watcher   one watch as the registry sees it: filter, RVs, timers
    registry  the watchers of one resource, indexed; dispatch, bookmarks
"""

from watchcache.fanout.budget import TimeBudget
from watchcache.fanout.filter import WatchFilter
from watchcache.fanout.registry import Registry
from watchcache.fanout.watcher import Watcher

__all__ = ["Registry", "TimeBudget", "WatchFilter", "Watcher"]
