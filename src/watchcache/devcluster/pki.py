"""Keys and certificates for a throwaway control plane.

Glossary:
    CA          the one certificate authority of a dev cluster; it signs the
                serving certificate and the client certificates, and kube-
                apiserver trusts it for client-certificate authentication.
    serving     kube-apiserver's TLS certificate, valid for 127.0.0.1 and
                localhost only (everything binds to loopback).
    client      a certificate whose CN is the user and O the group, so tests
                of client-certificate kubeconfigs have something real to use.
    SA key      the RSA pair kube-apiserver verifies and kube-controller-
                manager signs service-account tokens with.

Everything is made with the ``openssl`` command, so the package needs no
cryptography library. Files are written once; an existing directory is
reused as it is.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Pki", "make_pki"]

# Long enough for any dev cluster, short enough to be obviously a test CA.
_DAYS = "3650"


@dataclass(frozen=True)
class Pki:
    """Paths of every key and certificate in one directory."""

    dir: Path

    @property
    def ca_crt(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.dir / "ca.key"

    @property
    def serving_crt(self) -> Path:
        return self.dir / "apiserver.crt"

    @property
    def serving_key(self) -> Path:
        return self.dir / "apiserver.key"

    @property
    def admin_crt(self) -> Path:
        return self.dir / "admin.crt"

    @property
    def admin_key(self) -> Path:
        return self.dir / "admin.key"

    @property
    def sa_key(self) -> Path:
        return self.dir / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.dir / "sa.pub"


def make_pki(directory: Path) -> Pki:
    """Create (or reuse) the CA, serving and admin client certs, SA keys."""
    pki = Pki(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if not pki.ca_crt.exists():
        _openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            _DAYS,
            "-subj",
            "/CN=watchcache-dev-ca",
            "-keyout",
            pki.ca_key,
            "-out",
            pki.ca_crt,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        )
    if not pki.serving_crt.exists():
        _signed(
            pki,
            pki.serving_key,
            pki.serving_crt,
            "/CN=kube-apiserver",
            [
                "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc",
                "extendedKeyUsage=serverAuth",
            ],
        )
    if not pki.admin_crt.exists():
        _signed(
            pki,
            pki.admin_key,
            pki.admin_crt,
            "/O=system:masters/CN=watchcache-admin-cert",
            ["extendedKeyUsage=clientAuth"],
        )
    if not pki.sa_key.exists():
        _openssl("genrsa", "-out", pki.sa_key, "2048")
        _openssl("rsa", "-in", pki.sa_key, "-pubout", "-out", pki.sa_pub)
    return pki


def _signed(pki: Pki, key: Path, crt: Path, subject: str, extensions: list[str]) -> None:
    csr = crt.with_suffix(".csr")
    ext = crt.with_suffix(".ext")
    _openssl(
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        subject,
        "-keyout",
        key,
        "-out",
        csr,
    )
    ext.write_text(
        "\n".join(["keyUsage=critical,digitalSignature,keyEncipherment", *extensions]) + "\n"
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        pki.ca_crt,
        "-CAkey",
        pki.ca_key,
        "-CAcreateserial",
        "-days",
        _DAYS,
        "-sha256",
        "-extfile",
        ext,
        "-out",
        crt,
    )
    csr.unlink()
    ext.unlink()


def _openssl(*args: str | Path) -> None:
    result = subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")
