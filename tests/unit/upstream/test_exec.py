"""Exec credential plugins: a small Python plugin the test writes."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from watchcache.upstream import CredentialError, ExecPlugin, ExecSpec
from watchcache.upstream.exec import parse_exec_credential

V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"

# The plugin counts its runs in a file and answers as MODE says.
PLUGIN = r"""
import json, os, sys, time
counter = os.environ["COUNTER"]
n = int(open(counter).read()) + 1 if os.path.exists(counter) else 1
open(counter, "w").write(str(n))
mode = os.environ.get("MODE", "ok")
info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
if mode == "fail":
    print("no credentials for you", file=sys.stderr)
    sys.exit(3)
if mode == "badjson":
    print("{not json")
    sys.exit(0)
if mode == "sleep":
    time.sleep(30)
status = {"token": f"tok-{n}"}
if os.environ.get("EXPIRY"):
    status["expirationTimestamp"] = os.environ["EXPIRY"]
if mode == "cert":
    status = {"clientCertificateData": "CERT", "clientKeyData": "KEY"}
if mode == "echo":
    status = {"token": json.dumps(info, sort_keys=True) + "|" + os.environ["EXTRA"]}
if mode == "noisy":
    sys.stderr.write("x" * (3 << 20))
version = os.environ.get("ANSWER_VERSION", info["apiVersion"])
print(json.dumps({"apiVersion": version, "kind": "ExecCredential", "status": status}))
"""


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def plugin(
    tmp_path: Path,
    *,
    api_version: str = V1,
    clock: Clock | None = None,
    timeout: float = 30.0,
    **env: str,
) -> ExecPlugin:
    script = tmp_path / "plugin.py"
    script.write_text(PLUGIN)
    env.setdefault("COUNTER", str(tmp_path / "runs"))
    spec = ExecSpec(
        api_version=api_version,
        command=sys.executable,
        args=(str(script),),
        env=tuple(env.items()),
        install_hint="pip install the-plugin",
    )
    return ExecPlugin(
        spec, clock=clock or Clock(at("2030-01-01T00:00:00+00:00")), timeout_seconds=timeout
    )


@pytest.mark.parametrize("version", [V1, V1BETA1])
async def test_runs_once_and_caches_without_expiry(tmp_path: Path, version: str) -> None:
    source = plugin(tmp_path, api_version=version)
    assert (await source.get()).token == "tok-1"
    assert (await source.get()).token == "tok-1"
    assert source.runs == 1


async def test_reruns_after_expiry(tmp_path: Path) -> None:
    clock = Clock(at("2030-01-01T00:00:00+00:00"))
    source = plugin(tmp_path, clock=clock, EXPIRY="2030-01-01T00:10:00Z")
    assert (await source.get()).token == "tok-1"
    clock.now += 599
    assert (await source.get()).token == "tok-1"
    clock.now += 1
    assert (await source.get()).token == "tok-2"
    assert source.runs == 2


async def test_401_reruns_only_for_the_current_credential(tmp_path: Path) -> None:
    source = plugin(tmp_path)
    first = await source.get()
    assert source.rejected(first) is True
    second = await source.get()
    assert second.token == "tok-2"
    # A late 401 for the old token must not throw away the new one.
    source.rejected(first)
    assert (await source.get()) is second
    assert source.runs == 2


async def test_concurrent_callers_share_one_run(tmp_path: Path) -> None:
    source = plugin(tmp_path)
    credentials = await asyncio.gather(*(source.get() for _ in range(8)))
    assert {c.token for c in credentials} == {"tok-1"}
    assert source.runs == 1
    assert (tmp_path / "runs").read_text() == "1"


async def test_env_and_exec_info_reach_the_plugin(tmp_path: Path) -> None:
    source = plugin(tmp_path, MODE="echo", EXTRA="from-kubeconfig")
    token = (await source.get()).token
    assert token is not None
    info, extra = token.split("|")
    assert extra == "from-kubeconfig"
    assert json.loads(info) == {
        "apiVersion": V1,
        "kind": "ExecCredential",
        "spec": {"interactive": False},
    }


async def test_client_certificate_answer(tmp_path: Path) -> None:
    credential = await plugin(tmp_path, MODE="cert").get()
    assert credential.token is None
    assert credential.client_cert is not None
    assert credential.client_cert.cert_pem == b"CERT"
    assert credential.client_cert.key_pem == b"KEY"


async def test_failure_carries_stderr(tmp_path: Path) -> None:
    with pytest.raises(CredentialError, match="exited 3: no credentials for you"):
        await plugin(tmp_path, MODE="fail").get()


async def test_failed_run_is_retried_on_next_get(tmp_path: Path) -> None:
    source = plugin(tmp_path, MODE="badjson")
    with pytest.raises(CredentialError, match="invalid JSON"):
        await source.get()
    with pytest.raises(CredentialError):
        await source.get()
    assert source.runs == 2


async def test_wrong_api_version_in_answer(tmp_path: Path) -> None:
    with pytest.raises(CredentialError, match="apiVersion"):
        await plugin(tmp_path, ANSWER_VERSION=V1BETA1).get()


async def test_missing_command_shows_install_hint(tmp_path: Path) -> None:
    spec = ExecSpec(api_version=V1, command=str(tmp_path / "absent"), install_hint="brew it")
    with pytest.raises(CredentialError, match="brew it"):
        await ExecPlugin(spec).get()


async def test_hung_plugin_is_killed(tmp_path: Path) -> None:
    with pytest.raises(CredentialError, match="did not finish"):
        await plugin(tmp_path, MODE="sleep", timeout=0.5).get()


async def test_chatty_plugin_output_is_bounded(tmp_path: Path) -> None:
    # 3 MiB of stderr must neither hang the plugin nor be held whole.
    assert (await plugin(tmp_path, MODE="noisy").get()).token == "tok-1"


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ({}, "neither a token nor a client certificate"),
        ({"clientCertificateData": "C"}, "only one of"),
        ({"token": "t", "expirationTimestamp": "tomorrow"}, "expirationTimestamp"),
    ],
)
def test_parse_rejections(status: dict[str, str], message: str) -> None:
    out = json.dumps({"apiVersion": V1, "kind": "ExecCredential", "status": status}).encode()
    with pytest.raises(CredentialError, match=message):
        parse_exec_credential(out, V1)


def test_parse_expiry() -> None:
    out = json.dumps(
        {
            "apiVersion": V1,
            "kind": "ExecCredential",
            "status": {"token": "t", "expirationTimestamp": "2030-01-01T00:00:00Z"},
        }
    ).encode()
    credential, expiry = parse_exec_credential(out, V1)
    assert credential.token == "t"
    assert expiry == datetime(2030, 1, 1, tzinfo=UTC).timestamp()


def test_spec_repr_hides_env_values() -> None:
    spec = ExecSpec(api_version=V1, command="aws", env=(("AWS_SECRET", "hunter2"),))
    assert "hunter2" not in repr(spec)
    assert "hunter2" not in repr(ExecPlugin(spec))
