"""Kubernetes API machinery shared by every layer: what kube-apiserver
says and how, with no I/O.

Modules, and what each offers:
    status         ``ApiError`` (an exception that is a ``Status``) and one
                   constructor per apimachinery error (``not_found``,
                   ``expired``, ``too_old_resource_version``, ...)
    resources      ``GroupVersionResource`` (``api_version``,
                   ``api_prefix``), ``ResourceInfo``, the built-in kinds
                   table, ``field_values``, request paths (``parse_path``)
    selectors      ``LabelSelector`` and ``FieldSelector``, parsed and
                   matched as kube-apiserver does
    shardselector  KEP-5866 shard selectors: ``ShardSelector``,
                   ``even_shards``, the FNV-1a hash they range over
    listoptions    ``ListOptions``: a list or watch query parsed and
                   validated; ``INITIAL_EVENTS_END``, ``EXACT``,
                   ``NOT_OLDER_THAN``
    continuetoken  list continue tokens: encode, decode, the 410 of an
                   expired one
    validation     label key and value rules, kube's field-error text
    gojson         Go's JSON decoding errors, word for word
    strconv        Go's ``strconv.ParseInt``/``ParseUint`` and ``Quote``,
                   with their error text (resource versions are uint64s)
    protobuf       kube's protobuf bodies (GET, LIST, watch frames,
                   PartialObjectMetadata) from cached JSON: ``kind_for``,
                   ``envelope``, ``list_body``, ``watch_frame``

Import from the modules: this package re-exports nothing, on purpose, so
that importing one concept never loads the others.
"""

__all__: list[str] = []
