from __future__ import annotations

import subprocess
from pathlib import Path

from watchcache.devcluster.pki import make_pki


def openssl(*args: str) -> str:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=True).stdout


def test_certificates_chain_to_the_ca_and_name_loopback(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    for crt in (pki.serving_crt, pki.admin_crt):
        assert f"{crt}: OK" in openssl("verify", "-CAfile", str(pki.ca_crt), str(crt))
    serving = openssl("x509", "-in", str(pki.serving_crt), "-noout", "-text")
    assert "IP Address:127.0.0.1" in serving
    assert "DNS:localhost" in serving
    assert "TLS Web Server Authentication" in serving
    admin = openssl("x509", "-in", str(pki.admin_crt), "-noout", "-subject")
    assert "O = system:masters" in admin and "CN = watchcache-admin-cert" in admin
    assert "PUBLIC KEY" in pki.sa_pub.read_text()


def test_existing_files_are_reused(tmp_path: Path) -> None:
    first = make_pki(tmp_path)
    before = first.ca_crt.read_bytes()
    make_pki(tmp_path)
    assert first.ca_crt.read_bytes() == before
