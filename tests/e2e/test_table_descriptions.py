"""The Table columns' descriptions are kube-apiserver 1.20's own.

kubectl compares a Table's column definitions whole (descriptions too)
with the last ones it printed, and prints the header again when they
differ: ``kubectl get pod NAME -w`` GETs the object from upstream and then
watches from the cache, so the cache's columns must be exactly upstream's.
The descriptions were read from the server (``table/kubedescriptions.py``);
``WATCHCACHE_WRITE_DESCRIPTIONS=1`` writes that module from this run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests.e2e.serving import ask_direct

from watchcache.devcluster import DevCluster
from watchcache.table import BUILTIN_PRINTERS, kubedescriptions, printer_for

pytestmark = pytest.mark.e2e

VERSIONS = {
    "": "v1",
    "apps": "v1",
    "batch": "v1",
    "coordination.k8s.io": "v1",
    "discovery.k8s.io": "v1beta1",
    "apiextensions.k8s.io": "v1",
    "rbac.authorization.k8s.io": "v1",
}
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def _path(group: str, resource: str) -> str:
    version = "v1beta1" if resource == "cronjobs" else VERSIONS[group]
    prefix = "/api" if not group else f"/apis/{group}"
    return f"{prefix}/{version}/{resource}?limit=1"


def test_column_descriptions_are_kube_apiservers(dev_cluster: DevCluster) -> None:
    theirs: dict[str, dict[str, str]] = {}
    for group, resource in sorted(BUILTIN_PRINTERS):
        answer = ask_direct(dev_cluster, _path(group, resource), {"Accept": TABLE})
        assert answer.status == 200, answer.body
        table = json.loads(answer.body)
        theirs[f"{group}/{resource}"] = {
            c["name"]: c["description"] for c in table["columnDefinitions"]
        }
    if os.environ.get("WATCHCACHE_WRITE_DESCRIPTIONS") == "1":
        Path(kubedescriptions.__file__).write_text(kubedescriptions.module_text(theirs))
        return
    for key, columns in theirs.items():
        group, resource = key.split("/")
        printer = printer_for(group, resource)
        assert printer is not None
        assert {c.name: c.description for c in printer.columns} == columns, key
