"""``python -m plexichat ARGS`` with host names resolved on this machine only.

The fuzzer makes up webhook target URLs; the host resolves a target's name when it is
subscribed (to refuse private addresses) and before each delivery. In the fuzzed host
every name but ``localhost`` and address literals fails to resolve, so no generated
name ever reaches a DNS server: such a target is accepted as unresolvable and its
deliveries fail like any unreachable receiver (they go through the closed proxy that
``scripts/fuzz_api.py`` sets anyway).
"""

from __future__ import annotations

import ipaddress
import runpy
import socket
import sys
from typing import Any

_resolve = socket.getaddrinfo


def _on_this_machine(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name is None or name == "localhost" or _is_address(name):
        return _resolve(host, *args, **kwargs)
    raise socket.gaierror(socket.EAI_NONAME, f"{name!r} is not resolved in the fuzzed host")


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


if __name__ == "__main__":
    socket.getaddrinfo = _on_this_machine
    sys.argv = ["plexichat", *sys.argv[1:]]
    runpy.run_module("plexichat", run_name="__main__", alter_sys=True)
