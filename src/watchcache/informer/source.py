"""Where an informer's objects come from: one resource, scoped, upstream.

Glossary:
    resource  what to watch: ``pods`` (core v1), ``v1/pods``,
              ``apps/v1/deployments``, a ``GroupVersionResource``, or a
              ``ResourceInfo`` (custom resources: give their kind, scope)
    scope     the namespace (a path segment) and the label and field
              selectors (query parameters) every LIST and WATCH carries
    metadata-only  the server sends ``PartialObjectMetadata`` (metadata
              without spec or status) when asked by the Accept header; for
              informers that only need names, labels, owners

The reflector lists and watches through a ``ScopedClient``, which adds the
scope's parameters and Accept header to each request, and with a shard keeps
only the share of what comes back (sharding.py): the reflector itself knows
only a path.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from watchcache.api.resources import GroupVersionResource, ResourceInfo, resource_info
from watchcache.informer.sharding import ShardedWatch, ShardSelector, filter_page
from watchcache.upstream import (
    Response,
    UpstreamClient,
    UpstreamConfig,
    WatchStream,
    load_incluster,
    load_kubeconfig,
)

__all__ = ["Scope", "ScopedClient", "load_config", "parse_resource"]

_METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
_METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
# An informer filters nothing itself by field: field selectors go upstream.
# Keeping only the key fields saves decoding the kind's field-selector
# paths for every object, and their dict in memory.
_KEY_FIELDS: Mapping[str, str] = MappingProxyType({"metadata.name": "", "metadata.namespace": ""})


def parse_resource(resource: str | GroupVersionResource | ResourceInfo) -> ResourceInfo:
    if isinstance(resource, ResourceInfo):
        return resource
    if isinstance(resource, GroupVersionResource):
        return resource_info(resource)
    parts = resource.strip().strip("/").split("/")
    if len(parts) == 1 and parts[0]:
        return resource_info(GroupVersionResource("", "v1", parts[0]))
    if len(parts) == 2 and all(parts):
        return resource_info(GroupVersionResource("", parts[0], parts[1]))
    if len(parts) == 3 and all(parts):
        return resource_info(GroupVersionResource(*parts))
    raise ValueError(f"resource {resource!r}: expected pods, v1/pods or group/version/resource")


@dataclass(frozen=True)
class Scope:
    """One informer's slice of a resource: also the factory's sharing key."""

    info: ResourceInfo
    namespace: str = ""
    label_selector: str = ""
    field_selector: str = ""
    metadata_only: bool = False
    shard: str = ""  # a shard selector (sharding.py), canonical text

    def __str__(self) -> str:
        gvr = self.info.gvr
        text = f"{gvr.group}/{gvr.version}/{gvr.resource}" if gvr.group else gvr.resource
        if self.namespace:
            text += f" in {self.namespace}"
        for name, value in (("labels", self.label_selector), ("fields", self.field_selector)):
            if value:
                text += f" {name} {value}"
        if self.shard:
            text += f" shard {self.shard}"
        return text + (" (metadata)" if self.metadata_only else "")

    @property
    def path(self) -> str:
        gvr = self.info.gvr
        prefix = gvr.api_prefix
        if self.namespace and self.info.namespaced:
            prefix += f"/namespaces/{self.namespace}"
        return f"{prefix}/{gvr.resource}"

    @property
    def params(self) -> dict[str, str]:
        params = {}
        if self.label_selector:
            params["labelSelector"] = self.label_selector
        if self.field_selector:
            params["fieldSelector"] = self.field_selector
        if self.shard:
            params["shardSelector"] = self.shard
        return params

    def stored_info(self) -> ResourceInfo:
        """How the cache decodes this scope's objects."""
        info = dataclasses.replace(self.info, field_defaults=_KEY_FIELDS, trigger_field=None)
        if not self.metadata_only:
            return info
        gvr = GroupVersionResource("meta.k8s.io", "v1", self.info.gvr.resource)
        return dataclasses.replace(info, gvr=gvr, kind="PartialObjectMetadata", builtin=False)


class ScopedClient:
    """``get`` and ``watch`` as the reflector calls them, with the scope's
    selectors and Accept header added."""

    def __init__(self, client: UpstreamClient, scope: Scope) -> None:
        self.client = client
        self._params = scope.params
        self._list_headers = {"Accept": _METADATA_LIST} if scope.metadata_only else None
        self._watch_headers = {"Accept": _METADATA} if scope.metadata_only else None
        self._shard = ShardSelector.parse(scope.shard) if scope.shard else None

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Response:
        query = {**self._params, **(params or {})}
        resp = await self.client.get(path, query, headers=self._list_headers)
        if self._shard is None:
            return resp
        return Response(resp.status, resp.headers, filter_page(self._shard, resp.body))

    def watch(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> WatchStream | ShardedWatch:
        query = {**self._params, **(params or {})}
        stream = self.client.watch(path, query, headers=self._watch_headers)
        if self._shard is None:
            return stream
        initial = query.get("sendInitialEvents") == "true"
        return ShardedWatch(stream, self._shard, initial=initial)


def load_config(
    kubeconfig: str | Path | None = None,
    *,
    context: str | None = None,
    env: Mapping[str, str] | None = None,
) -> UpstreamConfig:
    """In-cluster config inside a pod (unless a kubeconfig is named), else
    kubectl's kubeconfig: what a controller should connect with."""
    env = os.environ if env is None else env
    if kubeconfig is None and context is None and env.get("KUBERNETES_SERVICE_HOST"):
        return load_incluster(env=env)
    return load_kubeconfig(kubeconfig, context=context, env=env)
