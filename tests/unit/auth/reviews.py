"""A scripted upstream for the auth tests: answers TokenReviews and
SubjectAccessReviews from tables, counting what it was asked."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec


@dataclass
class Answer:
    body: bytes

    def json(self) -> Any:
        return msgspec.json.decode(self.body)


@dataclass
class FakeUpstream:
    # token -> TokenReview status
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (user, verb, resource, namespace, name) -> allowed; absent: denied
    rights: set[tuple[str, str, str, str, str]] = field(default_factory=set)
    reasons: dict[str, str] = field(default_factory=dict)
    asked: list[dict[str, Any]] = field(default_factory=list)
    fail: Exception | None = None
    # When set, reviews wait for it (to test concurrent requests sharing one).
    gate: asyncio.Event | None = None

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> Answer:
        assert method == "POST" and body is not None
        review = msgspec.json.decode(body)
        self.asked.append(review)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        if review["kind"] == "TokenReview":
            status = self.tokens.get(review["spec"]["token"], {"authenticated": False})
            return Answer(msgspec.json.encode({**review, "status": status}))
        spec = review["spec"]
        attrs = spec.get("resourceAttributes") or {}
        key = (
            spec["user"],
            attrs.get("verb", ""),
            attrs.get("resource", ""),
            attrs.get("namespace", ""),
            attrs.get("name", ""),
        )
        allowed = key in self.rights or (*key[:4], "") in self.rights
        status = {"allowed": allowed}
        if not allowed and spec["user"] in self.reasons:
            status["reason"] = self.reasons[spec["user"]]
        return Answer(msgspec.json.encode({**review, "status": status}))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
