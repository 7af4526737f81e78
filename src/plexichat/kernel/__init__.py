"""The plugin kernel: find, order, load and call plugins, and move them between states.

Nothing here builds a service or knows the web layer: :mod:`.discovery` finds
candidates, :mod:`.resolver` orders them, :mod:`.loading` imports and registers them,
:mod:`.dispatch` calls their hooks, :mod:`.states` and :mod:`.bus` say which state each
one is in and who hears about a change. :mod:`.lifecycle` moves plugins between states
and reconciles them to the operator's desired state, with :mod:`.rescan` (what pip
changed) and :mod:`.plugin_settings` (each plugin's settings); what it needs from the
rest of the host arrives through the Protocols of :mod:`.ports`, handed over by the
composition root, :mod:`plexichat.host`.
"""
