"""Services the host offers plugins through their PluginContext, gated by permissions."""
