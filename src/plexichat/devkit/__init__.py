"""Developer tooling: what plugin authors and operators run, never the server.

- :mod:`~plexichat.devkit.scaffold` writes a new plugin project (``plexichat plugins new``);
  :mod:`~plexichat.devkit.placeholders` names the metadata it leaves to replace.
- :mod:`~plexichat.devkit.packaging_check` checks a project, wheel or install before
  publishing (``plexichat plugins check``), reading what the distribution ships through
  :mod:`~plexichat.devkit.distribution_contents`.
- :mod:`~plexichat.devkit.migrate` converts a guide-style folder plugin into a
  distribution (``plexichat plugins migrate``);
  :mod:`~plexichat.devkit.migrate_source` rewrites its Python source.
- :mod:`~plexichat.devkit.catalog` reads and writes plugin catalogs
  (``plexichat plugins search``, ``python -m plexichat.devkit.catalog``).
- :mod:`~plexichat.devkit.install_specs`, :mod:`~plexichat.devkit.installer` and
  :mod:`~plexichat.devkit.install_outcome` turn install requests into pip runs and judge
  the result (``plexichat plugins install``); :mod:`~plexichat.devkit.install_job` runs
  one install in a child process for the web server.

The CLI imports this package; the web server and everything it imports at run time
never do (an import-linter contract in ``pyproject.toml`` keeps it so). The server runs
an install by starting ``python -m plexichat.devkit.install_job``.
"""
