"""Compatibility package: see :mod:`plexichat.core.plugins.manager`."""
