"""Compatibility package for the plugin guide's import path ``plexichat.core.plugins``."""
