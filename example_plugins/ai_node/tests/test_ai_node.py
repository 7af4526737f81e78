"""The AI node: its engine alone, then as the ``ai`` service of a real app, replacing the
host's default while it runs."""

from __future__ import annotations

import asyncio

import pytest
from plexichat_ai_node import LABEL, NodeAI, keywords, register_services, summarize

NAME = "ai_node"
TEXT = (
    "PlexiChat is a chat server whose extensions are plugins. "
    "The weather was pleasant on the day it was written. "
    "Each plugin is a pip-installable package found through entry points. "
    "Plugins reach the chat server through hooks and their context."
)

# A plugin that asks context.ai on every request, as plugins should.
ASKER = """
    from fastapi import APIRouter
    from plexichat import hookimpl

    @hookimpl
    def register_routers(context):
        router = APIRouter()

        @router.get("/api/v1/asker/{prompt}")
        async def ask(prompt: str):
            return {"provider": context.ai.label,
                    "answer": await context.ai.generate_content(prompt)}

        return router
"""


# --- the engine alone -----------------------------------------------------------------------


def test_the_summary_keeps_the_most_representative_sentences_in_order():
    assert summarize(TEXT, 2) == [
        "PlexiChat is a chat server whose extensions are plugins.",
        "Plugins reach the chat server through hooks and their context.",
    ]
    assert summarize(TEXT, 1) == ["PlexiChat is a chat server whose extensions are plugins."]
    assert summarize("Short. Text.", 5) == ["Short.", "Text."]
    assert summarize("", 2) == []


def test_keywords_rank_recurring_phrases_and_fold_plurals():
    assert keywords(TEXT, 3) == ["chat server", "plugins", "plexichat"]
    assert keywords("the and of", 3) == []


def test_the_responder_recognises_intents_and_labels_every_answer():
    node = NodeAI()
    cases = {
        "": "empty",
        "Hello, AI!": "greeting",
        "help": "help",
        "thanks!": "thanks",
        f"summarize: {TEXT}": "summarize",
        f"keywords: {TEXT}": "keywords",
        "What is a plugin?": "question",
        "Plugins run inside the server.": "statement",
    }
    for prompt, intent in cases.items():
        reply = node.respond(prompt)
        assert reply.intent == intent, prompt
        assert reply.text.startswith(f"[{LABEL}] "), reply
    assert node.respond(f"tl;dr {TEXT}").text == (
        f"[{LABEL}] Summary: PlexiChat is a chat server whose extensions are plugins. "
        "Plugins reach the chat server through hooks and their context.")
    assert node.respond(f"keywords: {TEXT}").text == (
        f"[{LABEL}] Keywords: chat server, plugins, plexichat, extensions, weather.")


def test_answers_are_deterministic():
    first = [NodeAI().respond(p).text for p in ("hi", TEXT, "why?")]
    assert first == [NodeAI().respond(p).text for p in ("hi", TEXT, "why?")]


def test_the_provider_reads_the_plugins_settings(plugin_context):
    context = plugin_context(NAME, config={"summary_sentences": 1, "keyword_limit": 2})
    provider = register_services(context)["ai"]
    assert isinstance(provider, NodeAI)
    assert asyncio.run(provider.summarize(TEXT)) == (
        f"[{LABEL}] PlexiChat is a chat server whose extensions are plugins.")
    assert asyncio.run(provider.keywords(TEXT)) == ["chat server", "plugins"]
    assert asyncio.run(provider.keywords(TEXT, limit=1)) == ["chat server"]


# --- replacing the host's ai service --------------------------------------------------------


@pytest.fixture
def asker(plexichat_make_plugin):
    plexichat_make_plugin("asker", code=ASKER, manifest={
        "name": "asker", "type": "feature", "permissions": ["ai:use"]})


def test_it_replaces_the_default_ai_for_a_guide_style_plugin(plexichat_client):
    # ai_node starts first: plugins without dependencies start in name order
    client = plexichat_client(plugins=[NAME, "services_demo"])
    assert client.plugin(NAME)["contributions"]["services"] == ["ai"]
    host = client.host
    assert isinstance(host.services.ai, NodeAI)
    assert host.records["services_demo"].obj.ai is host.services.ai
    body = client.get("/api/v1/services-demo/last").json()
    assert body["result"].startswith(f"[{LABEL}] Hello! I am PlexiChat's local AI node.")


def test_disabling_it_restores_the_host_default(plexichat_client, asker):
    client = plexichat_client(plugins=[NAME, "asker"], admin=True)
    answer = client.get("/api/v1/asker/hello").json()
    assert answer["provider"] == LABEL
    assert answer["answer"].startswith(f"[{LABEL}] Hello!")
    assert client.get("/api/v1/ai-node").json() == {
        "provider": LABEL, "active": True, "intents": list(
            ["empty", "greeting", "help", "thanks", "summarize", "keywords", "question",
             "statement"])}

    assert client.post(f"/api/v1/plugins/{NAME}/disable").json()["state"] == "disabled"
    answer = client.get("/api/v1/asker/hello").json()
    assert answer["provider"] == "plexichat-local-ai"
    assert answer["answer"].startswith("[plexichat-local-ai] ")
    assert client.get("/api/v1/ai-node").status_code == 404

    assert client.post(f"/api/v1/plugins/{NAME}/enable").json()["state"] == "started"
    assert client.get("/api/v1/asker/hello").json()["provider"] == LABEL


def test_its_own_routes_answer_with_the_engine(plexichat_client):
    client = plexichat_client(plugins=[NAME], admin=True)
    respond = client.post("/api/v1/ai-node/respond", json={"prompt": "What is a plugin?"})
    assert respond.status_code == 200, respond.text
    assert respond.json()["intent"] == "question"
    summary = client.post("/api/v1/ai-node/summarize", json={"text": TEXT}).json()
    assert summary == {"provider": LABEL, "sentences": summarize(TEXT, 2),
                       "summary": " ".join(summarize(TEXT, 2))}
    found = client.post("/api/v1/ai-node/keywords", json={"text": TEXT, "limit": 2}).json()
    assert found == {"provider": LABEL, "keywords": ["chat server", "plugins"]}
    assert client.post("/api/v1/ai-node/summarize",
                       json={"text": TEXT, "max_sentences": 0}).status_code == 422

    # new settings apply at once
    response = client.put(f"/api/v1/plugins/{NAME}/settings", json={"summary_sentences": 1})
    assert response.status_code == 200, response.text
    summary = client.post("/api/v1/ai-node/summarize", json={"text": TEXT}).json()
    assert summary["sentences"] == summarize(TEXT, 1)
    assert client.host.services.ai.respond(f"summarize: {TEXT}").text == (
        f"[{LABEL}] Summary: " + summarize(TEXT, 1)[0])


def test_the_self_test_passes(plexichat_client):
    client = plexichat_client(plugins=[NAME], admin=True)
    result = client.post(f"/api/v1/plugins/{NAME}/self-test").json()
    assert result["passed"], result


def test_ask_in_chat_gets_the_nodes_answer_from_its_bot(plexichat_client):
    client = plexichat_client(plugins=[NAME])
    credentials = {"name": "ada", "password": "password-1"}
    assert client.post("/api/v1/users", json=credentials).status_code == 201
    token = client.post("/api/v1/users/login", json=credentials).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    channel = client.post("/api/v1/channels", json={"name": "general"},
                          headers=headers).json()["id"]
    url = f"/api/v1/channels/{channel}/messages"
    response = client.post(url, json={"text": "/ask hello"}, headers=headers)
    assert response.status_code == 201, response.text
    [reply] = response.json()["replies"]
    assert reply["author"] == "bot:ai_node"
    assert reply["text"] == NodeAI().respond("hello").text
    assert LABEL in reply["text"]
    empty = client.post(url, json={"text": "/ask"}, headers=headers)
    assert empty.status_code == 400 and "usage: /ask" in empty.json()["detail"]
