"""``watchcache serve --workers N``: one process hears upstream, N serve clients.

Glossary:
    primary   the process ``watchcache serve`` started as: it lists and
              watches upstream, once per cached resource for the whole
              host, and supervises the workers; it serves no client
              (primary.py)
    feed      the primary's caches served over a Unix socket in the
              Kubernetes API (its own proxy app, ``--auth=none`` on a socket
              only this user reaches): what the workers list and watch
    worker    a process serving clients (worker.py): a whole proxy whose
              caches are replicas of the primary's, fed by watching the
              feed as the primary watches kube-apiserver; forwarded
              requests go upstream directly
    slot      a worker's number, 0 .. N-1 (supervision.py)
    control   each process's small HTTP app on its own Unix socket: its
              metrics, and the primary's history start (control.py)

Invariants:
    - Upstream sees one list and watch per cached resource, the primary's,
      whatever N (and one pair of discovery watches).
    - Each worker's watchers get kube-apiserver's RV semantics: the worker's
      cache is the primary's, event for event, in RV order, with the same
      RVs, so an RV from one worker means the same on any other; a worker's
      history starts where the primary's does (replica.py), so a client of
      a dead worker resumes by RV on the worker it reconnects to.
    - A relist, or upstream's lost state, in the primary reaches every
      worker as kube-apiserver's own would reach a client: its watch of the
      feed ends (then 410, and the worker relists and closes its watchers)
      or its RV goes back (410 to its watchers).
    - A dead worker is started again (bounded backoff), and stopping the
      primary stops every worker first, each by its staged shutdown.

    - A worker is ready only while the primary is (readiness.py): through an
      upstream outage the primary's caches go stale, not the workers'.

Modules: supervision (keeping N workers), primary (the primary's start and
stop), worker (one worker process), replica (a worker's cache started from
the primary's history), readiness (the primary's /readyz, polled), control
(the control sockets), metrics (/metrics summed over the processes).
"""
