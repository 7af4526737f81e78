"""plexichat-services-demo: the plugin guide's ``get_services`` example, packaged.

The entry point names the class ``plexichat_services_demo.main:MyPlugin``.
"""
