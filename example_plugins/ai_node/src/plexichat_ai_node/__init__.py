"""plexichat-ai-node: the host's ``ai`` service, replaced by a better local one.

Installed and started, this plugin provides the ``ai`` service through the
``register_services`` hook, so every plugin's ``context.ai`` (and a guide-style
plugin's injected ``self.ai``) answers with :class:`~plexichat_ai_node.engine.NodeAI`:
extractive summaries, keyphrases and a small intent-based responder, all
deterministic, all local, every answer labelled ``[plexichat-ai-node]``. Disabled or
uninstalled, the host's default provider is back at once.

Its own API, under ``/api/v1/ai-node``, answers with the same engine:

- ``GET /api/v1/ai-node``: which provider the host's ``ai`` service is now;
- ``POST /api/v1/ai-node/respond`` ``{"prompt": ...}``: the intent and the answer;
- ``POST /api/v1/ai-node/summarize`` ``{"text": ..., "max_sentences": 2}``;
- ``POST /api/v1/ai-node/keywords`` ``{"text": ..., "limit": 5}``.

In chat, ``/ask PROMPT`` gets the responder's answer from the bot user ``bot:ai_node``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from plexichat import hookimpl
from plexichat.chat import CommandCall, Reject, SlashCommand
from plexichat.contributions import RouterSpec, SelfTestResult

from .engine import INTENTS, LABEL, NodeAI, Reply, keywords, summarize

__all__ = ["INTENTS", "LABEL", "NodeAI", "Reply", "keywords", "summarize"]

MAX_TEXT = 100_000


def _provider(context: Any) -> NodeAI:
    return NodeAI(lambda: context.config)


class Prompt(BaseModel):
    """A prompt for the responder."""

    prompt: str = Field(max_length=MAX_TEXT, examples=["summarize: PlexiChat is a chat "
                                                        "server. Plugins extend it."])


class Answer(BaseModel):
    """The responder's answer and the intent it recognised."""

    intent: str = Field(description=f"One of: {', '.join(INTENTS)}.", examples=["summarize"])
    answer: str = Field(description=f"Always begins with [{LABEL}].", examples=[
        f"[{LABEL}] Summary: PlexiChat is a chat server. Plugins extend it."])


class SummaryRequest(BaseModel):
    """A text to summarize."""

    text: str = Field(max_length=MAX_TEXT, examples=[
        "PlexiChat is a chat server. Plugins extend it. Each is a distribution."])
    max_sentences: int | None = Field(
        default=None, ge=1, le=20,
        description="Sentences to keep; the plugin's summary_sentences setting when left "
                    "out.")


class Summary(BaseModel):
    """An extractive summary: sentences of the text, in their order."""

    provider: str = Field(examples=[LABEL])
    summary: str = Field(examples=["PlexiChat is a chat server. Plugins extend it."])
    sentences: list[str] = Field(examples=[["PlexiChat is a chat server.",
                                            "Plugins extend it."]])


class KeywordRequest(BaseModel):
    """A text to extract keyphrases from."""

    text: str = Field(max_length=MAX_TEXT, examples=[
        "Plugins extend the chat server; plugins are distributions."])
    limit: int | None = Field(default=None, ge=1, le=50,
                              description="How many; the keyword_limit setting when left "
                                          "out.")


class Keywords(BaseModel):
    """Keyphrases of a text, best first."""

    provider: str = Field(examples=[LABEL])
    keywords: list[str] = Field(examples=[["plugins", "extend", "chat", "server"]])


class Status(BaseModel):
    """Which provider answers the host's ``ai`` service."""

    provider: str = Field(description=f"{LABEL} while this plugin provides the service.",
                          examples=[LABEL])
    active: bool = Field(description="True when the host's ai service is this plugin's.",
                         examples=[True])
    intents: list[str] = Field(examples=[list(INTENTS)])


@hookimpl
def register_services(context: Any) -> dict[str, Any]:
    """Replace the host's ``ai`` service (restored when this plugin stops)."""
    return {"ai": _provider(context)}


@hookimpl
def register_routers(context: Any) -> RouterSpec:
    node = _provider(context)
    router = APIRouter(tags=["ai-node"])

    @router.get("", response_model=Status, summary="Which AI provider the host uses")
    def status() -> Status:
        current = context.ai
        return Status(provider=str(getattr(current, "label", type(current).__name__)),
                      active=isinstance(current, NodeAI), intents=list(INTENTS))

    @router.post("/respond", response_model=Answer, summary="Answer a prompt")
    def respond(body: Prompt) -> dict[str, str]:
        return node.respond(body.prompt).as_dict()

    @router.post("/summarize", response_model=Summary, summary="Summarize a text")
    def summarize_text(body: SummaryRequest) -> Summary:
        count = body.max_sentences or int(context.config.get("summary_sentences", 2))
        picked = summarize(body.text, count)
        return Summary(provider=LABEL, summary=" ".join(picked), sentences=picked)

    @router.post("/keywords", response_model=Keywords, summary="Keyphrases of a text")
    def keywords_of(body: KeywordRequest) -> Keywords:
        limit = body.limit or int(context.config.get("keyword_limit", 5))
        return Keywords(provider=LABEL, keywords=keywords(body.text, limit))

    return RouterSpec(router, prefix="/api/v1/ai-node")


ASK_USAGE = "usage: /ask PROMPT, e.g. /ask summarize: TEXT, /ask keywords: TEXT, /ask help"


@hookimpl
def register_slash_commands(context: Any) -> list[SlashCommand]:
    """``/ask PROMPT`` in chat: the responder's answer, posted by ``bot:ai_node``."""
    node = _provider(context)

    def ask(call: CommandCall) -> str | Reject:
        if not call.args.strip():
            return Reject(ASK_USAGE)
        return node.respond(call.args).text

    return [SlashCommand("ask", ask, help="/ask PROMPT: the AI node's answer")]


SAMPLE = ("PlexiChat is a chat server. Plugins extend PlexiChat through hooks. "
          "The weather was nice. Every plugin of PlexiChat is a pip-installable package.")


@hookimpl
def self_test(context: Any) -> SelfTestResult:
    node = _provider(context)
    checks = {
        "summarize": summarize(SAMPLE, 2) == [
            "PlexiChat is a chat server.",
            "Every plugin of PlexiChat is a pip-installable package."],
        "keywords": "plexichat" in keywords(SAMPLE, 10),
        "respond": node.respond("hello").intent == "greeting"
        and node.respond("summarize: " + SAMPLE).text.startswith(f"[{LABEL}] Summary: "),
    }
    failed = [name for name, ok in checks.items() if not ok]
    return SelfTestResult(not failed, list(checks),
                          "all checks passed" if not failed
                          else "failed: " + ", ".join(failed))
