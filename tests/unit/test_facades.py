"""Each package's ``__init__`` says what it offers: its docstring names
every module of the package and every name in ``__all__``, and every
name in ``__all__`` is there. ``api`` re-exports nothing, on purpose.
(proxy and fanout keep their own facades.)"""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

PACKAGES = ["api", "cache", "upstream", "informer", "devcluster"]


@pytest.mark.parametrize("name", PACKAGES)
def test_the_docstring_names_every_module(name: str) -> None:
    package = importlib.import_module(f"watchcache.{name}")
    doc = package.__doc__ or ""
    modules = [m.name for m in pkgutil.iter_modules(package.__path__)]
    missing = [m for m in modules if not re.search(rf"\b{m}\b", doc)]
    assert missing == [], f"watchcache.{name}'s docstring does not name {missing}"


@pytest.mark.parametrize("name", PACKAGES)
def test_the_docstring_lists_what_all_offers_and_all_is_there(name: str) -> None:
    package = importlib.import_module(f"watchcache.{name}")
    doc = package.__doc__ or ""
    missing = [n for n in package.__all__ if f"``{n}``" not in doc]
    assert missing == [], f"watchcache.{name}'s docstring does not list {missing}"
    absent = [n for n in package.__all__ if not hasattr(package, n)]
    assert absent == []


def test_api_re_exports_nothing() -> None:
    api = importlib.import_module("watchcache.api")
    assert api.__all__ == []
    public = [n for n in vars(api) if not n.startswith("_")]
    modules = {m.name for m in pkgutil.iter_modules(api.__path__)}
    assert set(public) <= modules, "the api facade holds names of its own"
