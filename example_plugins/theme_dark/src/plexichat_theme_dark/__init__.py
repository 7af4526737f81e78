"""plexichat-theme-dark: a dark palette for PlexiChat's web UI.

A ``theme`` plugin needs no code to be applied: while it is started, the web UI links
``/theme/theme_dark.css`` from every page, which serves the ``theme.css`` shipped at the
root of this package followed by ``theme/*.css``. ``theme.css`` sets the colour custom
properties of the UI's own stylesheet (``--plx-bg``, ``--plx-text`` …);
``theme/components.css`` darkens the few colours that stylesheet writes out.

The code here is the plugin's self-test: every colour property of the host's stylesheet
must have a dark value, so a colour added to the UI later is noticed.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from plexichat import hookimpl
from plexichat.contributions import SelfTestResult

__all__ = ["colour_properties", "missing_properties", "palette"]

_PROPERTY = re.compile(r"(--plx-[a-z0-9-]+)\s*:\s*([^;]+);")


def _properties(css: str) -> dict[str, str]:
    return {name: value.strip() for name, value in _PROPERTY.findall(css)}


def palette() -> dict[str, str]:
    """The custom properties this theme's ``theme.css`` sets."""
    return _properties(resources.files(__name__).joinpath("theme.css").read_text("utf-8"))


def colour_properties() -> dict[str, str]:
    """The custom properties of the web UI's stylesheet whose value is a colour."""
    css = resources.files("plexichat.web").joinpath("static").joinpath("plexichat.css")
    return {name: value for name, value in _properties(css.read_text("utf-8")).items()
            if value.startswith(("#", "rgb", "hsl"))}


def missing_properties() -> list[str]:
    """Colour properties of the web UI this theme leaves light."""
    return sorted(set(colour_properties()) - set(palette()))


@hookimpl
def self_test(context: Any) -> SelfTestResult:
    missing = missing_properties()
    files = ["theme.css", "theme/components.css"]
    absent = [f for f in files if not resources.files(__name__).joinpath(f).is_file()]
    passed = not missing and not absent
    message = "every colour of the web UI has a dark value" if passed else "; ".join(
        filter(None, [missing and f"no dark value for {', '.join(missing)}",
                      absent and f"missing from the package: {', '.join(absent)}"]))
    return SelfTestResult(passed, ["palette covers the UI's colours", "CSS files shipped"],
                          message)
