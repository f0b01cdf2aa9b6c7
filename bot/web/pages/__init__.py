"""The Gradio pages: the chat with its quiz tab at ``/``, and the staff page at ``/staff``."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec, PathFinder, SourceFileLoader
from types import ModuleType
from typing import Any

_COMPONENT_META = "gradio.component_meta"


def _no_stub(*args: Any, **kwargs: Any) -> None:
    return None


class _ComponentMetaLoader(SourceFileLoader):
    """Loads ``gradio.component_meta`` as usual, then makes its stub writer do nothing."""

    def exec_module(self, module: ModuleType) -> None:
        super().exec_module(module)
        if "create_or_modify_pyi" in vars(module):
            vars(module)["create_or_modify_pyi"] = _no_stub
        if _SKIP_STUBS in sys.meta_path:
            sys.meta_path.remove(_SKIP_STUBS)


class _SkipStubs(MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != _COMPONENT_META:
            return None
        spec = PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None or not isinstance(spec.loader, SourceFileLoader):
            return None  # not the module this knows: imported as usual
        spec.loader = _ComponentMetaLoader(fullname, spec.origin)
        return spec


_SKIP_STUBS = _SkipStubs()


def skip_gradio_stub_writes() -> None:
    """Make the coming import of Gradio skip rewriting its type stubs; call before Gradio is imported.

    Gradio 6 defines each of its ~40 component classes through a metaclass that parses the class's source file
    and rewrites the ``.pyi`` stub beside it in site-packages (``create_or_modify_pyi``): type hints for editors,
    which a running app never reads. That is half of ``import gradio``: 4.2 s against 2.2 s without it, measured
    alternately on the shared 2-core machine, and app.py's start-up is bound by such Python work (one GIL).
    Nothing else of Gradio changes. A no-op once Gradio is imported."""
    if _COMPONENT_META not in sys.modules and _SKIP_STUBS not in sys.meta_path:
        sys.meta_path.insert(0, _SKIP_STUBS)
