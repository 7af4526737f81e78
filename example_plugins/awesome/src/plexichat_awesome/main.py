# The plugin guide's AwesomePlugin ("Creating Your First Plugin"), as the guide wrote it.
# Changed: the import line (PluginInterface, PluginType, PluginMetadata now come from
# plexichat), and `import json`, which the guide's _load_configuration uses without
# importing it. Added: the two webhook events the manifest declares are emitted
# (_emit_webhook, after an action and on each background run), which needs the
# webhooks:emit permission. The guide's style is kept, so these lint rules are waived
# for this file:
# ruff: noqa: B904, E501, F401, F541, I001, UP006, UP015, UP035
import asyncio
import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from plexichat import PluginInterface, PluginType, PluginMetadata


class AwesomePlugin(PluginInterface):
    """Awesome Plugin for PlexiChat."""

    def __init__(self):
        super().__init__("AwesomePlugin", "1.0.0")
        self.plugin_type = PluginType.FEATURE

        # Plugin data directory
        self.data_dir = Path("data/plugins/my_awesome_plugin")
        self.data_dir.mkdir(parents=True, exist_ok=True)

        # Configuration
        self.config = {
            "enabled": True,
            "interval": 60
        }

        # API router
        self.router = APIRouter(prefix="/api/v1/awesome", tags=["Awesome Plugin"])
        self._setup_routes()

        # Background task
        self.background_task = None

        # Statistics
        self.stats = {
            "actions_performed": 0,
            "last_action": None,
            "errors": 0
        }

    def get_metadata(self) -> PluginMetadata:
        """Get plugin metadata."""
        return PluginMetadata(
            name="my_awesome_plugin",
            version="1.0.0",
            description="An awesome plugin for PlexiChat",
            author="Your Name",
            plugin_type=PluginType.FEATURE,
            entry_point="main",
            dependencies=["core_system"],
            permissions=["plugin:read", "plugin:write", "webhooks:emit"],
            api_version="1.0",
            min_plexichat_version="3.0.0",
            enabled=True,
            category="utility",
            tags=["awesome", "example", "demo"],
            homepage="https://github.com/yourusername/my-awesome-plugin",
            repository="https://github.com/yourusername/my-awesome-plugin",
            license="MIT",
            icon="star",
            ui_pages=[
                {"name": "dashboard", "path": "ui/dashboard", "title": "Awesome Dashboard"}
            ],
            api_endpoints=[
                "/api/v1/awesome/status",
                "/api/v1/awesome/action"
            ],
            webhooks=[
                "awesome.event.triggered",
                "awesome.action.completed"
            ],
            auto_start=True,
            background_tasks=["awesome_background_task"]
        )

    async def _plugin_initialize(self) -> bool:
        """Initialize the awesome plugin."""
        try:
            self.logger.info("Initializing Awesome Plugin")

            # Load configuration
            await self._load_configuration()

            # Start background task
            await self._start_background_task()

            # Register with main application
            if self.manager:
                app = getattr(self.manager, 'app', None)
                if app:
                    app.include_router(self.router)
                    self.logger.info("Awesome API routes registered")

                # Register UI pages
                await self._register_ui_pages()

            self.logger.info("Awesome Plugin initialized successfully")
            return True

        except Exception as e:
            self.logger.error(f"Awesome Plugin initialization failed: {e}")
            return False

    async def _load_configuration(self):
        """Load plugin configuration."""
        config_file = self.data_dir / "config.json"
        if config_file.exists():
            try:
                with open(config_file, 'r') as f:
                    loaded_config = json.load(f)
                    self.config.update(loaded_config)
            except Exception as e:
                self.logger.warning(f"Failed to load config: {e}")

    async def _start_background_task(self):
        """Start background task."""
        self.background_task = asyncio.create_task(self.awesome_background_task())

    async def _register_ui_pages(self):
        """Register UI pages with the main application."""
        ui_dir = Path(__file__).parent / "ui"
        if ui_dir.exists():
            app = getattr(self.manager, 'app', None)
            if app:
                from fastapi.staticfiles import StaticFiles
                app.mount(f"/plugins/awesome/static", StaticFiles(directory=str(ui_dir / "static")), name="awesome_static")

    def _setup_routes(self):
        """Setup API routes."""

        @self.router.get("/status")
        async def get_status():
            """Get plugin status."""
            return {
                "status": "awesome",
                "enabled": self.config["enabled"],
                "stats": self.stats,
                "config": self.config
            }

        @self.router.post("/action")
        async def perform_action():
            """Perform an awesome action."""
            if not self.config["enabled"]:
                raise HTTPException(status_code=400, detail="Plugin is disabled")

            try:
                # Perform awesome action
                self.stats["actions_performed"] += 1
                self.stats["last_action"] = datetime.now(timezone.utc).isoformat()

                # Tell webhook subscribers (an event the manifest declares)
                self._emit_webhook("awesome.action.completed", {
                    "actions_performed": self.stats["actions_performed"],
                    "timestamp": self.stats["last_action"]})

                return {
                    "success": True,
                    "message": "Awesome action performed!",
                    "timestamp": self.stats["last_action"]
                }
            except Exception as e:
                self.stats["errors"] += 1
                self.logger.error(f"Action failed: {e}")
                raise HTTPException(status_code=500, detail="Action failed")

    async def awesome_background_task(self):
        """Background task for awesome functionality."""
        while True:
            try:
                if self.config["enabled"]:
                    # Perform periodic awesome task
                    self.logger.info("Performing awesome background task")

                    # Update statistics
                    self.stats["last_action"] = datetime.now(timezone.utc).isoformat()

                    # Tell webhook subscribers (an event the manifest declares)
                    self._emit_webhook("awesome.event.triggered", {
                        "timestamp": self.stats["last_action"]})

                await asyncio.sleep(self.config["interval"])

            except Exception as e:
                self.logger.error(f"Background task error: {e}")
                self.stats["errors"] += 1
                await asyncio.sleep(60)  # Wait before retry

    def _emit_webhook(self, event: str, payload: Dict[str, Any]):
        """Send a webhook event to its subscribers (needs the webhooks:emit permission)."""
        try:
            self.context.webhooks.emit(event, payload)
        except Exception as e:
            self.logger.warning(f"Webhook {event} not sent: {e}")

    async def health_check(self) -> Dict[str, Any]:
        """Health check for the plugin."""
        return {
            "healthy": True,
            "stats": self.stats,
            "config": self.config,
            "background_task_running": self.background_task and not self.background_task.done()
        }

    async def cleanup(self):
        """Cleanup plugin resources."""
        if self.background_task:
            self.background_task.cancel()


# Plugin instance
plugin = AwesomePlugin()
