"""A Griffe extension for the plugin API reference (docs/PLUGIN_API.md): docstrings
written with reST roles and literal blocks (``code``, :class:`~x.Y`, ``Example::``)
become Markdown, as scripts/gen_hooks_doc.py makes them for HOOKS.md.

mkdocs.yml names this file in the mkdocstrings handler's ``extensions``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import griffe

_spec = importlib.util.spec_from_file_location(
    "_plexichat_gen_hooks_doc", Path(__file__).with_name("gen_hooks_doc.py"))
assert _spec is not None and _spec.loader is not None
_gen_hooks_doc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_gen_hooks_doc)


class RestToMarkdown(griffe.Extension):
    """Rewrites each docstring of the loaded objects as Markdown."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Called by Griffe for every object it loads."""
        if obj.docstring is not None and obj.docstring.value.strip():
            obj.docstring.value = _gen_hooks_doc.to_markdown(obj.docstring.value, set())
