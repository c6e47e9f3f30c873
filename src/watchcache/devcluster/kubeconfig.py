"""The kubeconfig a dev cluster writes for people, kubectl and tests.

Contexts (the admin one is current):
    watchcache-dev          user ``admin`` by bearer token (system:masters)
    watchcache-dev-cert     the admin client certificate
    watchcache-dev-nobody   user ``nobody``, who may do nothing but discovery

Written as YAML by hand: its shape is fixed and every value is a path,
a URL or a hex token, none of which needs quoting beyond what is done here.
"""

from __future__ import annotations

from pathlib import Path

from watchcache.devcluster.pki import Pki

__all__ = ["CONTEXT_ADMIN", "CONTEXT_CERT", "CONTEXT_NOBODY", "write_kubeconfig"]

CONTEXT_ADMIN = "watchcache-dev"
CONTEXT_CERT = "watchcache-dev-cert"
CONTEXT_NOBODY = "watchcache-dev-nobody"


def write_kubeconfig(path: Path, url: str, pki: Pki, admin_token: str, nobody_token: str) -> None:
    text = f"""apiVersion: v1
kind: Config
clusters:
- name: watchcache-dev
  cluster:
    server: "{url}"
    certificate-authority: "{pki.ca_crt}"
users:
- name: admin
  user:
    token: "{admin_token}"
- name: admin-cert
  user:
    client-certificate: "{pki.admin_crt}"
    client-key: "{pki.admin_key}"
- name: nobody
  user:
    token: "{nobody_token}"
contexts:
- name: {CONTEXT_ADMIN}
  context: {{cluster: watchcache-dev, user: admin}}
- name: {CONTEXT_CERT}
  context: {{cluster: watchcache-dev, user: admin-cert}}
- name: {CONTEXT_NOBODY}
  context: {{cluster: watchcache-dev, user: nobody}}
current-context: {CONTEXT_ADMIN}
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
