from __future__ import annotations

from pathlib import Path

import yaml

from watchcache.devcluster.kubeconfig import (
    CONTEXT_ADMIN,
    CONTEXT_CERT,
    CONTEXT_NOBODY,
    write_kubeconfig,
)
from watchcache.devcluster.pki import Pki


def test_kubeconfig_names_every_credential(tmp_path: Path) -> None:
    path = tmp_path / "kc"
    write_kubeconfig(path, "https://127.0.0.1:6443", Pki(tmp_path / "pki"), "admintok", "nobodytok")
    doc = yaml.safe_load(path.read_text())
    assert doc["current-context"] == CONTEXT_ADMIN
    contexts = {c["name"]: c["context"]["user"] for c in doc["contexts"]}
    assert contexts == {
        CONTEXT_ADMIN: "admin",
        CONTEXT_CERT: "admin-cert",
        CONTEXT_NOBODY: "nobody",
    }
    users = {u["name"]: u["user"] for u in doc["users"]}
    assert users["admin"] == {"token": "admintok"}
    assert users["nobody"] == {"token": "nobodytok"}
    assert users["admin-cert"]["client-certificate"].endswith("pki/admin.crt")
    assert doc["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert path.stat().st_mode & 0o077 == 0, "a kubeconfig with tokens must not be world-readable"
