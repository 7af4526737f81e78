"""The plugin guide's "Using Injected Services" example, completed into a plugin.

The class body down to ``# ...`` is the guide's text; the guide's snippet shows no
import line, so the one it needs is added. The rest completes the example: the AI's
answer is kept and served at ``GET /api/v1/services-demo/last``.
"""

from fastapi import APIRouter

from plexichat import PluginInterface


class MyPlugin(PluginInterface):
    def get_services(self):
        return {"logger": True, "ai": True}
    async def initialize(self):
        self.logger.info("MyPlugin initialized!")
        result = await self.ai.generate_content("Hello, AI!")
        # ...
        self.last_result = result

    # --- completing the guide's example ------------------------------------------------

    last_result = None

    def get_routers(self):
        router = APIRouter(tags=["services-demo"])

        @router.get("/last")
        def last():
            """What the AI service answered to the plugin's greeting at startup."""
            return {"prompt": "Hello, AI!", "result": self.last_result}

        return {"/api/v1/services-demo": router}
