"""A kwok-style node simulator: many fake nodes driving real API traffic.

Each simulated node behaves, towards the API server, like a kubelet:

- it registers a Node and a Lease in ``kube-node-lease`` and renews the
  lease on a schedule (``kwok``: lease 200 s, i.e. kwok's 40 s times its
  heartbeat factor 5, renewed every quarter with jitter; ``kubelet``:
  lease 40 s renewed every 10 s, node status every 5 minutes);
- it watches its own pods (``fieldSelector=spec.nodeName=NODE``) and its
  own Node (``fieldSelector=metadata.name=NODE``) through the target,
  resuming by resourceVersion after a disconnect;
- it moves each new pod from Pending to Running with the conditions a
  kubelet sets, and finishes a graceful delete (deletionTimestamp set) with
  a DELETE with grace period 0, as a kubelet does.

A driver creates pods bound to the nodes, patches them at a given rate
(the churn), and deletes them gracefully. A ledger checks that every node's
pod watch saw every change to its pods exactly once and in order, and
records delivery latency from a timestamp the writer put into the object.

Modules:
    target    the HTTP session to the server under test (URL, token, CA)
    objects   Node, Lease and Pod manifests, and the kubelet's status patch
    ledger    what each watcher should see and what it saw
    node      one simulated node: heartbeats, watches, kubelet reactions
    driver    pod creation, churn and deletion; the whole run
    lag       the generator's own event-loop lag

Run ``python -m benchmarks.nodesim --help`` from the repository root.
"""
