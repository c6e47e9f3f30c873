"""The server under test, as one aiohttp session.

All simulated nodes share one connection pool: a real fleet has one
connection per kubelet, but the server-side cost that matters here (watch
dispatch, list serving) does not depend on how requests share sockets, and
a pool keeps the generator's own CPU small. ``--connections`` bounds it.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp

__all__ = ["ApiStatusError", "Target"]


class ApiStatusError(Exception):
    def __init__(self, code: int, body: str) -> None:
        super().__init__(f"HTTP {code}: {body[:300]}")
        self.code = code
        self.body = body


@dataclass
class Target:
    base_url: str
    token: str | None = None
    ca_file: str | None = None
    insecure: bool = False
    connections: int = 200
    # Set when the target comes from a kubeconfig: it wins over ca_file.
    ssl_context: ssl.SSLContext | None = None

    def __post_init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Target:
        context: ssl.SSLContext | bool = self.ssl_context or False
        if self.base_url.startswith("https") and self.ssl_context is None:
            context = ssl.create_default_context(cafile=self.ca_file)
            if self.insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers["Accept"] = "application/json"
        self._session = aiohttp.ClientSession(
            self.base_url,
            headers=headers,
            connector=aiohttp.TCPConnector(limit=self.connections, ssl=context),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session, "use `async with Target(...)`"
        return self._session

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201),
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if data is not None else None
        timeout = aiohttp.ClientTimeout(total=60)
        async with self.session.request(
            method, path, data=data, headers=headers, params=params, timeout=timeout
        ) as resp:
            text = await resp.text()
            if resp.status not in ok:
                raise ApiStatusError(resp.status, text)
            result: dict[str, Any] = json.loads(text)
            return result

    async def watch(self, path: str, params: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
        """Yield decoded watch events until the server ends the stream."""
        async with self.session.get(path, params={**params, "watch": "true"}) as resp:
            if resp.status != 200:
                raise ApiStatusError(resp.status, await resp.text())
            async for line in resp.content:
                if line.strip():
                    yield json.loads(line)
