"""Deferred imports of third-party modules that are slow to import and rarely used by grading.

``jsonschema`` (imported by nbformat, hence by nbgrader and by every grading worker) imports
``rfc3987_syntax`` when it is installed (``jsonschema[format-nongpl]``, which jupyter-events asks
for) only to define its ``iri`` format check, and that module builds a Lark grammar at import: about
2 s of CPU in every process, more than the rest of nbgrader's import. Grading never validates an
``iri``. :func:`defer_rfc3987_syntax` puts a stand-in module in its place, so jsonschema's import
takes its ``is_valid_syntax`` function as usual; the real module is imported on the first call of
that function (or first use of any other name), so every check still behaves as the library's own.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

RFC3987_SYNTAX = "rfc3987_syntax"


class _Deferred(types.ModuleType):
    """Stands in for a module until one of its names is used, then imports the real one."""

    def __init__(self, name: str):
        super().__init__(name, f"deferred import of {name} (autograder._lazy_imports)")

    def __getattr__(self, attr: str):
        if attr.startswith("__"):  # import machinery probing (__path__, __spec__...): not a use
            raise AttributeError(attr)
        return getattr(_real(self.__name__), attr)


def _real(name: str) -> types.ModuleType:
    module = sys.modules.get(name)
    if isinstance(module, _Deferred):
        del sys.modules[name]
    return importlib.import_module(name)


def _deferred_is_valid_syntax(*args, **kwargs):
    return _real(RFC3987_SYNTAX).is_valid_syntax(*args, **kwargs)


def defer_rfc3987_syntax() -> bool:
    """Defer ``rfc3987_syntax``'s import until used; False when it is absent or already imported."""
    if RFC3987_SYNTAX in sys.modules or importlib.util.find_spec(RFC3987_SYNTAX) is None:
        return False
    stand_in = _Deferred(RFC3987_SYNTAX)
    stand_in.is_valid_syntax = _deferred_is_valid_syntax
    sys.modules[RFC3987_SYNTAX] = stand_in
    return True
