"""plexichat-awesome: the plugin guide's AwesomePlugin, packaged as a distribution.

The plugin object is ``plexichat_awesome.main:plugin`` (the entry point names it); this
package module stays empty so that importing it runs none of the plugin's code.
"""
