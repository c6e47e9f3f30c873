"""Exec credential plugins: the way EKS, GKE and AKS kubeconfigs log in.

Glossary:
    plugin          the command a kubeconfig user's ``exec`` names
                    (``aws eks get-token``, ``gke-gcloud-auth-plugin``,
                    ``kubelogin get-token``), run with its ``args`` and
                    ``env`` added to ours.
    ExecCredential  the JSON object the plugin prints on stdout: its
                    ``status`` holds a ``token`` and/or
                    ``clientCertificateData`` + ``clientKeyData``, and an
                    optional ``expirationTimestamp`` (RFC 3339).
    run             one execution of the plugin.

API versions ``client.authentication.k8s.io/v1`` and ``v1beta1`` are
accepted; the plugin must answer in the version it was asked for, as
client-go requires. We always run non-interactively (a sidecar has no
terminal): stdin is closed, ``KUBERNETES_EXEC_INFO`` says
``interactive: false``, and ``interactiveMode: Always`` is refused when the
kubeconfig is loaded.

Invariants:
    At most one run is in flight; concurrent ``get`` calls share it.
    A credential is reused until its expirationTimestamp has passed (none
    given: until upstream rejects it with a 401), then the plugin runs again.
    A 401 discards the credential only if it is still the current one, so
    a burst of 401s for one stale token causes one re-run, not many.
    A run is bounded: ``timeout_seconds`` of wall time (then it is killed)
    and ``MAX_OUTPUT_BYTES`` of stdout and of stderr kept (the rest is read
    and dropped, so the plugin never blocks on a full pipe).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from watchcache.upstream.credentials import ClientCert, Credential
from watchcache.upstream.errors import CredentialError

__all__ = ["EXEC_API_VERSIONS", "ExecPlugin", "ExecSpec", "parse_exec_credential"]

EXEC_API_VERSIONS = frozenset(
    {"client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"}
)
# An ExecCredential is a token or a certificate pair: a few KiB. 1 MiB is
# far beyond any real plugin and small enough to hold.
MAX_OUTPUT_BYTES = 1 << 20
# Cloud plugins may open a browser-less token exchange; client-go has no
# timeout at all. A minute bounds a hung plugin without failing slow ones.
DEFAULT_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class ExecSpec:
    """A kubeconfig user's ``exec`` stanza, paths already resolved."""

    api_version: str
    command: str
    args: tuple[str, ...] = ()
    # Values may be secrets (API keys for the plugin): kept out of repr.
    env: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    install_hint: str = ""
    # The cluster as KUBERNETES_EXEC_INFO's spec.cluster, when the
    # kubeconfig sets provideClusterInfo; None otherwise.
    cluster_info: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)


class ExecPlugin:
    """A ``CredentialSource`` that runs an exec plugin when it must."""

    def __init__(
        self,
        spec: ExecSpec,
        *,
        clock: Callable[[], float] = time.time,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        base_env: Mapping[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self._clock = clock  # wall clock: expirationTimestamp is wall time
        self._timeout = timeout_seconds
        self._base_env = os.environ if base_env is None else base_env
        self._credential: Credential | None = None
        self._expiry: float | None = None  # None: valid until rejected
        self._running: asyncio.Future[Credential] | None = None
        self.runs = 0

    def __repr__(self) -> str:
        state = "running" if self._running else ("cached" if self._credential else "empty")
        return f"<ExecPlugin {self.spec.command} {state} expiry={self._expiry} runs={self.runs}>"

    async def get(self) -> Credential:
        if self._credential is not None and not self._expired():
            return self._credential
        if self._running is None:
            self._running = asyncio.ensure_future(self._run_once())
        # shield: one caller giving up must not cancel the run others await.
        return await asyncio.shield(self._running)

    def rejected(self, credential: Credential) -> bool:
        if credential is self._credential:
            self._credential = None
        return True

    def _expired(self) -> bool:
        return self._expiry is not None and self._clock() >= self._expiry

    async def _run_once(self) -> Credential:
        try:
            credential, expiry = await self._execute()
            self._credential, self._expiry = credential, expiry
            return credential
        finally:
            self._running = None

    async def _execute(self) -> tuple[Credential, float | None]:
        self.runs += 1
        stdout, stderr, code = await self._spawn_and_wait()
        if code != 0:
            raise CredentialError(f"exec plugin {self.spec.command} exited {code}: {_tail(stderr)}")
        return parse_exec_credential(stdout, self.spec.api_version)

    async def _spawn_and_wait(self) -> tuple[bytes, bytes, int]:
        try:
            proc = await asyncio.create_subprocess_exec(
                self.spec.command,
                *self.spec.args,
                env=self._environment(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as err:
            hint = f" ({self.spec.install_hint.strip()})" if self.spec.install_hint else ""
            raise CredentialError(
                f"cannot run exec plugin {self.spec.command}: {err}{hint}"
            ) from err
        try:
            async with asyncio.timeout(self._timeout):
                return await _collect(proc)
        except TimeoutError:
            raise CredentialError(
                f"exec plugin {self.spec.command} did not finish in {self._timeout}s"
            ) from None
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    def _environment(self) -> dict[str, str]:
        env = dict(self._base_env)
        env.update(self.spec.env)
        info: dict[str, Any] = {"interactive": False}
        if self.spec.cluster_info is not None:
            info["cluster"] = dict(self.spec.cluster_info)
        env["KUBERNETES_EXEC_INFO"] = json.dumps(
            {"apiVersion": self.spec.api_version, "kind": "ExecCredential", "spec": info}
        )
        return env


async def _collect(proc: asyncio.subprocess.Process) -> tuple[bytes, bytes, int]:
    assert proc.stdout is not None and proc.stderr is not None
    stdout, stderr = await asyncio.gather(_read_bounded(proc.stdout), _read_bounded(proc.stderr))
    return stdout, stderr, await proc.wait()


async def _read_bounded(stream: asyncio.StreamReader) -> bytes:
    """Everything up to MAX_OUTPUT_BYTES; the rest is read and dropped so a
    chatty plugin cannot fill the pipe and hang."""
    kept = bytearray()
    while chunk := await stream.read(65536):
        kept += chunk[: MAX_OUTPUT_BYTES - len(kept)]
    return bytes(kept)


def _tail(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace").strip()
    return text[-500:] if text else "(no stderr)"


def parse_exec_credential(stdout: bytes, api_version: str) -> tuple[Credential, float | None]:
    """The credential and its expiry (epoch seconds, or None) from a
    plugin's stdout."""
    try:
        obj = json.loads(stdout)
    except ValueError as err:
        raise CredentialError(f"exec plugin printed invalid JSON: {err}") from err
    if not isinstance(obj, dict) or obj.get("kind") != "ExecCredential":
        raise CredentialError("exec plugin did not print an ExecCredential")
    if obj.get("apiVersion") != api_version:
        raise CredentialError(
            f"exec plugin answered apiVersion {obj.get('apiVersion')!r}, asked for {api_version!r}"
        )
    status = obj.get("status")
    if not isinstance(status, dict):
        raise CredentialError("exec plugin's ExecCredential has no status")
    return _credential_from_status(status), _expiry(status.get("expirationTimestamp"))


def _credential_from_status(status: Mapping[str, Any]) -> Credential:
    token = status.get("token") or None
    cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
    if bool(cert) != bool(key):
        raise CredentialError(
            "exec plugin returned only one of clientCertificateData and clientKeyData"
        )
    client_cert = ClientCert(cert.encode(), key.encode()) if cert and key else None
    if token is None and client_cert is None:
        raise CredentialError("exec plugin returned neither a token nor a client certificate")
    return Credential(token=token, client_cert=client_cert)


def _expiry(value: Any) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError as err:
        raise CredentialError(f"exec plugin's expirationTimestamp {value!r}: {err}") from err
