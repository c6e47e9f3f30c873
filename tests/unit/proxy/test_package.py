"""The proxy package's facade: what it offers resolves, and its docstring
names every module."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import watchcache.proxy as proxy


def test_every_offered_name_resolves_to_its_modules_object() -> None:
    for name in proxy.__all__:
        module = importlib.import_module(f"watchcache.proxy.{proxy._OFFERED[name]}")
        assert getattr(proxy, name) is getattr(module, name)


def test_the_docstring_names_every_module() -> None:
    doc = proxy.__doc__ or ""
    for module in pkgutil.iter_modules(proxy.__path__):
        assert f"\n    {module.name} " in doc, module.name


def test_importing_the_settings_loads_no_server() -> None:
    """The CLI builds its parser from proxy.config alone."""
    code = "import sys, watchcache.proxy.config; print('watchcache.proxy.reads' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
