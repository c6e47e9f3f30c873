"""Kubernetes API machinery shared by every layer.

Modules: ``status`` (Status errors), ``resources`` (kinds table, request
paths), ``selectors`` (label and field selectors), ``validation`` (label
key/value rules and kube's field-error text), ``continuetoken`` (list
continue tokens), ``gojson`` (Go's JSON error text), ``listoptions``
(list/watch query parsing and validation), ``watchevent`` (a watch
event's line on the wire). Import from the modules; this package re-exports nothing so
that importing one concept never loads the others.
"""

__all__: list[str] = []
