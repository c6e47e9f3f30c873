"""Static credentials and token files that rotate."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchcache.upstream import (
    ClientCert,
    Credential,
    CredentialError,
    StaticCredentials,
    TokenFile,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_static_credentials_never_change() -> None:
    credential = Credential(token="t")
    source = StaticCredentials(credential)
    assert await source.get() is credential
    assert source.rejected(credential) is False
    assert (await StaticCredentials().get()).headers() == {}


async def test_token_file_reread_after_refresh_period(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("one\n")
    clock = FakeClock()
    source = TokenFile(path, clock=clock, refresh_seconds=60)
    assert (await source.get()).token == "one"
    path.write_text("two")
    clock.now += 59
    assert (await source.get()).token == "one"  # cached within the period
    clock.now += 1
    assert (await source.get()).token == "two"


async def test_token_file_reread_at_once_after_401(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("old")
    source = TokenFile(path, clock=FakeClock())
    used = await source.get()
    path.write_text("new")
    assert source.rejected(used) is True
    assert (await source.get()).token == "new"


async def test_token_file_keeps_last_good_token_when_file_vanishes(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("good")
    clock = FakeClock()
    source = TokenFile(path, clock=clock, refresh_seconds=1)
    await source.get()
    path.unlink()
    clock.now += 5
    assert (await source.get()).token == "good"
    path.write_text("")  # an empty rewrite is also transient
    clock.now += 5
    assert (await source.get()).token == "good"


async def test_token_file_missing_at_start_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CredentialError, match="cannot read token file"):
        await TokenFile(tmp_path / "absent").get()
    (tmp_path / "empty").write_text("  \n")
    with pytest.raises(CredentialError, match="is empty"):
        await TokenFile(tmp_path / "empty").get()


async def test_token_file_carries_client_cert(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("s3cr3t")
    cert = ClientCert(b"C", b"PRIVATE")
    credential = await TokenFile(tmp_path / "token", client_cert=cert).get()
    assert credential.client_cert is cert
    assert "s3cr3t" not in repr(credential)
    assert "PRIVATE" not in repr(credential)
