"""Upstream's CustomResourceDefinitions, read from a cache of them: the
Table columns of custom resources, and whether a custom resource is still
defined.

Glossary:
    CRD cache   the cached resource ``apiextensions.k8s.io/v1/
                customresourcedefinitions``: the one --resources names, or
                else one the proxy keeps for itself (listed and watched
                like any other, never served)
    defined     a CRD of that group and plural lists that version among
                its served versions

Invariants:
    * Nothing is known before the CRD cache's first sync: ``printer``
      returns None (the Table is forwarded) and ``defines`` None (not
      known either way).
    * A printer is made once per CRD version and resourceVersion of the
      CRD (``_printers``; the served versions likewise, ``_versions``), so a CRD whose columns change prints with its
      new ones from the next read on; an open Table watch keeps the
      printer it started with. Bounded by the CRDs' versions: only a
      version some CRD has is kept.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from watchcache.api.resources import GroupVersionResource, resource_info
from watchcache.proxy.cachedresource import CachedResource
from watchcache.proxy.caches import CacheFactory
from watchcache.table import Printer, crd_printer

__all__ = ["CRDS", "Definitions", "definitions_kept"]

CRDS = GroupVersionResource("apiextensions.k8s.io", "v1", "customresourcedefinitions")


class Definitions:
    """The CRDs a cache holds, asked by the custom resources they define."""

    def __init__(self, resource: CachedResource) -> None:
        self.resource = resource
        self._printers: dict[GroupVersionResource, tuple[int, Printer | None]] = {}
        # CRD name -> (its RV, the versions it serves).
        self._versions: dict[str, tuple[int, frozenset[str]]] = {}

    def __repr__(self) -> str:
        return f"<Definitions synced={self.synced}>"

    @property
    def synced(self) -> bool:
        return self.resource.reflector.synced.is_set()

    def defines(self, gvr: GroupVersionResource) -> bool | None:
        """A CRD serves this group, plural and version; None before the
        first sync. Asked each second per cached custom resource
        (autocache.py): the served versions are kept per CRD version."""
        if not self.synced:
            return None
        name = f"{gvr.resource}.{gvr.group}"
        entry = self.resource.cache.get("", name)
        if entry is None:
            self._versions.pop(name, None)
            return False
        kept = self._versions.get(name)
        if kept is None or kept[0] != entry.rv:
            crd: dict[str, Any] = msgspec.json.decode(entry.raw)
            served = frozenset(
                str(v.get("name"))
                for v in crd.get("spec", {}).get("versions") or []
                if isinstance(v, dict) and v.get("served")
            )
            kept = self._versions[name] = (entry.rv, served)
        return gvr.version in kept[1]

    def printer(self, gvr: GroupVersionResource) -> Printer | None:
        """The Table printer of this custom resource's version (its CRD's
        ``additionalPrinterColumns``, or Age alone), or None: no such CRD
        known, or a column outside the JSONPath subset (upstream prints)."""
        if not self.synced:
            return None
        entry = self.resource.cache.get("", f"{gvr.resource}.{gvr.group}")
        if entry is None:
            self._printers.pop(gvr, None)
            return None
        kept = self._printers.get(gvr)
        if kept is not None and kept[0] == entry.rv:
            return kept[1]
        printer = crd_printer(msgspec.json.decode(entry.raw), gvr.version)
        self._printers[gvr] = (entry.rv, printer)
        return printer


@contextlib.asynccontextmanager
async def definitions_kept(
    named: dict[GroupVersionResource, CachedResource], factory: CacheFactory
) -> AsyncIterator[Definitions]:
    """The CRDs, read from the named CRD cache when --resources names it,
    else from a CRD cache of the proxy's own, stopped on exit."""
    if CRDS in named:
        yield Definitions(named[CRDS])
        return
    own = factory.build(resource_info(CRDS))
    factory.start(own)
    try:
        yield Definitions(own)
    finally:
        await factory.stop([own], "shutting down")
