"""Table rendering: rows per second for a list of pods (issue 18 item 2).

Builds ``--pods`` pod objects shaped like a running cluster's (status with
conditions and container statuses, labels, owner references, managed
fields; about 3 KB of JSON each, held as the cache holds them: typed JSON
bytes) and times, best of ``--rounds``:

* ``json list``: the PodList body from the same bytes, as the cache serves
  a plain LIST (joining pre-encoded items; the floor of any list);
* ``decode+encode``: every item decoded with msgspec and encoded again,
  one at a time: about what any rendering that reads whole objects costs;
* the Table of the list with ``includeObject`` Metadata (kubectl's
  default), None and Object.

Prints rows/s for each, and the Table's rate as a ratio to both baselines.

    python benchmarks/bench_table.py [--pods 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from watchcache.table import Include, ListMeta, TableRenderer, printer_for

CREATED = "2026-01-01T00:00:00Z"
NOW = 1767225600.0 + 3 * 86400  # three days after CREATED


def pod(i: int) -> bytes:
    name = f"web-7d4b9c8f6-{i:05d}"
    container = {
        "name": "app",
        "image": "registry.example/web:1.2.3",
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
    }
    status_container = {
        "name": "app",
        "state": {"running": {"startedAt": CREATED}},
        "lastState": {},
        "ready": i % 7 != 0,
        "restartCount": i % 3,
        "image": "registry.example/web:1.2.3",
        "imageID": "registry.example/web@sha256:" + "0" * 64,
        "containerID": "containerd://" + "1" * 64,
        "started": True,
    }
    obj = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "generateName": "web-7d4b9c8f6-",
            "namespace": f"ns-{i % 20}",
            "uid": f"00000000-0000-0000-0000-{i:012d}",
            "resourceVersion": str(1000 + i),
            "creationTimestamp": CREATED,
            "labels": {"app": "web", "pod-template-hash": "7d4b9c8f6", "tier": "frontend"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "web-7d4b9c8f6",
                    "uid": "11111111-0000-0000-0000-000000000000",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
            "managedFields": [
                {
                    "manager": "kube-controller-manager",
                    "operation": "Update",
                    "apiVersion": "v1",
                    "time": CREATED,
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}},
                }
            ],
        },
        "spec": {
            "containers": [container, {**container, "name": "sidecar"}],
            "restartPolicy": "Always",
            "nodeName": f"node-{i % 100}",
            "serviceAccountName": "default",
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}],
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": CREATED}
                for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "hostIP": "10.0.0.1",
            "podIP": f"10.1.{i // 256 % 256}.{i % 256}",
            "podIPs": [{"ip": f"10.1.{i // 256 % 256}.{i % 256}"}],
            "startTime": CREATED,
            "containerStatuses": [status_container, {**status_container, "name": "sidecar"}],
            "qosClass": "Burstable",
        },
    }
    return msgspec.json.encode(obj)


def best_seconds(work: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    raws = [pod(i) for i in range(args.pods)]
    size = sum(map(len, raws)) / len(raws)
    printer = printer_for("", "pods")
    assert printer is not None
    meta = ListMeta(resource_version="99999")
    decoder, encoder = msgspec.json.Decoder(), msgspec.json.Encoder()

    def json_list() -> bytes:
        head = (
            b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"99999"},"items":['
        )
        return head + b",".join(raws) + b"]}"

    def decode_encode() -> bytes:
        return b",".join([encoder.encode(decoder.decode(raw)) for raw in raws])

    cases: list[tuple[str, Callable[[], object]]] = [
        ("json list", json_list),
        ("decode+encode", decode_encode),
    ]
    for include in (Include.METADATA, Include.NONE, Include.OBJECT):
        renderer = TableRenderer(printer, lambda: NOW, include)
        cases.append(
            (f"table includeObject={include.value}", partial(renderer.list_table, raws, meta))
        )

    print(f"{args.pods} pods, {size:.0f} bytes of JSON each, best of {args.rounds}")
    rates = {}
    for label, work in cases:
        seconds = best_seconds(work, args.rounds)
        rates[label] = args.pods / seconds
        print(f"  {label:<30} {seconds * 1000:9.1f} ms  {rates[label]:>12,.0f} rows/s")
    table = rates["table includeObject=Metadata"]
    print(f"ratio table(Metadata) / json list:     {table / rates['json list']:.3f}")
    print(f"ratio table(Metadata) / decode+encode: {table / rates['decode+encode']:.3f}")


if __name__ == "__main__":
    main()
