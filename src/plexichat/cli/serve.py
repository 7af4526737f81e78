"""``plexichat serve``: run the host under uvicorn on a socket of its own."""

from __future__ import annotations

import contextlib
import logging

import click

from ..logs import LEVELS

__all__ = ["serve"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=int,
              help="Port to bind (0: any free port).")
@click.option("--log-level", type=click.Choice(LEVELS, case_sensitive=False),
              help="Least severe log level shown  [default: PLEXICHAT_LOG_LEVEL, else info]")
@click.option("--safe-mode", "force_safe_mode", is_flag=True,
              help="Start without importing any plugin (this start only), to disable, "
                   "uninstall or roll back a plugin that keeps the host from starting.")
def serve(host: str, port: int, log_level: str | None, force_safe_mode: bool) -> None:
    """Run the PlexiChat server with every installed plugin.

    The data directory is PLEXICHAT_DATA_DIR, else ./data of the current directory; the
    first start creates its database. While serving, the host records its URL in the
    data directory, so `plexichat` commands run against that directory act on it live.

    After 3 starts in a row that did not reach ready within 10 minutes, the host starts
    in safe mode by itself (no plugin imported) until 'plexichat safe-mode clear'.
    """
    import socket

    import uvicorn

    from ..config import HostSettings
    from ..logs import configure_logging
    from ..runtime import data_dir, mask_database_url
    from ..web import create_app
    from .safe_mode import boot_for_serve

    settings = HostSettings()
    level = configure_logging(log_level or settings.log_level, settings.log_format)
    directory = data_dir()
    database = settings.resolved_database_url()
    fresh = not settings.database_url and not directory.database_file.is_file()
    log = logging.getLogger("plexichat.serve")
    log.info("data directory %s (from %s); database %s%s", directory.path, directory.source,
             mask_database_url(database), " (new: created on this first start)" if fresh else "")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from None
    # asyncio disables Nagle's algorithm only on sockets whose proto is IPPROTO_TCP, and
    # create_server's is 0: set it here, for the connections accepted (Linux inherits
    # it). Otherwise a response's body waits for the client's delayed ACK of its
    # headers, about 40 ms per request.
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    url = _connect_url(host, sock.getsockname()[1])
    log.info("serving on %s", url)
    reason, boot = boot_for_serve(directory.path, force_safe_mode)
    if reason:
        log.warning("SAFE MODE: no plugin is imported: %s", reason)
    app = create_app(settings, serve_url=url, safe_mode=reason, boot=boot)
    config = uvicorn.Config(app, host=host, port=port, log_level=level, log_config=None)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


def _connect_url(host: str, port: int) -> str:
    """The URL a local client uses to reach a server bound to ``host``:``port``."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
