"""/healthz, /livez and /readyz, answered by the proxy itself.

The paths and the text format are kube-apiserver's, because clients and
probes that point at the proxy expect them: ``ok`` with 200, or with
``?verbose`` one ``[+]name ok`` / ``[-]name failed: reason`` line per check
and a last line ``healthz check passed`` (or ``failed``, with 500).

One check alone, as kube-apiserver has them: ``/readyz/<check>``,
``/livez/<check>`` and ``/healthz/<check>`` answer ``ok`` with 200, or
``internal server error: <reason>`` with 500; an unknown check is 404.

Checks:
    live     the event loop answers (the request itself proves it)
    ready    every registered readiness check passes: each cached resource
             has completed its first list, has heard from upstream within
             --max-staleness and has a running reflector (cachedresource.py's
             ``CachedResource.unready``), and the proxy is not draining for
             shutdown. With --serve-stale-on-outage a silent upstream does
             not fail it; the ``[+]`` line says ``(serving stale: ...)``

A failing check answers 500, as kube-apiserver's healthz handler does
(http.StatusInternalServerError), with the reason on its ``[-]`` line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

__all__ = ["Health", "add_health_routes"]

# A check returns None when healthy, else a short reason.
Check = Callable[[], str | None]


@dataclass
class Health:
    readiness: dict[str, Check] = field(default_factory=dict)
    # Said beside a passing readiness check in ?verbose (serving stale).
    notes: dict[str, Check] = field(default_factory=dict)

    def add_readiness(self, name: str, check: Check) -> None:
        self.readiness[name] = check

    def add_note(self, name: str, note: Check) -> None:
        self.notes[name] = note


def add_health_routes(app: web.Application, health: Health) -> None:
    async def live(request: web.Request) -> web.Response:
        return _answer(request, {"ping": lambda: None}, "livez")

    async def ready(request: web.Request) -> web.Response:
        return _answer(request, {"ping": lambda: None, **health.readiness}, "readyz", health.notes)

    async def one_live(request: web.Request) -> web.Response:
        return _answer_one(request, {"ping": lambda: None})

    async def one_ready(request: web.Request) -> web.Response:
        return _answer_one(request, {"ping": lambda: None, **health.readiness})

    app.router.add_get("/healthz", live)
    app.router.add_get("/livez", live)
    app.router.add_get("/readyz", ready)
    app.router.add_get("/healthz/{check}", one_live)
    app.router.add_get("/livez/{check}", one_live)
    app.router.add_get("/readyz/{check}", one_ready)


def _answer_one(request: web.Request, checks: dict[str, Check]) -> web.Response:
    check = checks.get(request.match_info["check"])
    if check is None:
        return web.Response(status=404, text="404 page not found\n")
    reason = check()
    if reason is None:
        return web.Response(text="ok")
    return web.Response(status=500, text=f"internal server error: {reason}\n")


def _answer(
    request: web.Request,
    checks: dict[str, Check],
    what: str,
    notes: dict[str, Check] | None = None,
) -> web.Response:
    results = {name: check() for name, check in checks.items()}
    healthy = all(reason is None for reason in results.values())
    if "verbose" not in request.query:
        text = (
            "ok"
            if healthy
            else "\n".join(
                f"[-]{name} failed: {reason}"
                for name, reason in results.items()
                if reason is not None
            )
            + f"\n{what} check failed"
        )
        return web.Response(status=200 if healthy else 500, text=text)
    lines = [
        _ok_line(name, (notes or {}).get(name)) if reason is None else f"[-]{name} failed: {reason}"
        for name, reason in results.items()
    ]
    lines.append(f"{what} check {'passed' if healthy else 'failed'}")
    return web.Response(status=200 if healthy else 500, text="\n".join(lines) + "\n")


def _ok_line(name: str, note: Check | None) -> str:
    said = note() if note is not None else None
    return f"[+]{name} ok ({said})" if said else f"[+]{name} ok"
