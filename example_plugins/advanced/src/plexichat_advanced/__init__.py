"""plexichat-advanced: the plugin guide's MyAdvancedPlugin, packaged as a distribution.

The entry point names the class ``plexichat_advanced.main:MyAdvancedPlugin``; the host
makes one instance each time it starts the plugin.
"""
