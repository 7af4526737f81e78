"""docs/PLUGIN_DEVELOPMENT.md says what the code does: its ``context.kv`` session runs as
a doctest against a real context, its background-task example runs as a plugin in a real
host, and the signatures it lists are the code's."""

from __future__ import annotations

import dataclasses
import doctest
import inspect
import re
import time
from pathlib import Path

import pytest

from plexichat.contributions import BackgroundTask
from plexichat.services.kv import PluginKV

DOC = Path(__file__).resolve().parents[1] / "docs" / "PLUGIN_DEVELOPMENT.md"


def section(heading: str) -> str:
    """The text of the section ``heading`` (up to the next heading of any level)."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"{heading}\n")
    following = re.search(r"^#{2,3} ", text[start + len(heading):], re.MULTILINE)
    return text[start:start + len(heading) + following.start()] if following else text[start:]


def block(text: str, language: str) -> str:
    [found] = re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)
    return found


def signature(func) -> str:
    """``name(a, b=1)``: a signature as the docs write it, without self or annotations."""
    params = [p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
              for p in inspect.signature(func).parameters.values() if p.name != "self"]
    return f"{func.__name__}({', '.join(params)})"


KV = "### `context.kv`: the plugin's key-value store"
TASKS = "## Background tasks"


def test_kv_methods_table_lists_every_method_with_its_signature():
    documented = re.findall(r"^\| `(\w+\(.*?\))` \|", section(KV), re.MULTILINE)
    methods = [m for name, m in inspect.getmembers(PluginKV, inspect.isfunction)
               if not name.startswith("_")]
    assert sorted(documented) == sorted(signature(m) for m in methods)


def test_kv_session_runs_as_written(plugin_context):
    session = block(section(KV), "pycon")
    test = doctest.DocTestParser().get_doctest(
        session, {"context": plugin_context("docs_kv")}, "kv", str(DOC), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    output: list[str] = []
    result = runner.run(test, out=output.append)
    assert result.attempted > 5 and result.failed == 0, "".join(output)


def test_background_task_is_described_as_defined():
    text = section(TASKS)
    assert "from plexichat.contributions import BackgroundTask" in text
    fields = ", ".join(f.name if f.default is dataclasses.MISSING else f"{f.name}={f.default!r}"
                       for f in dataclasses.fields(BackgroundTask))
    assert f"`BackgroundTask({fields})` is a frozen dataclass" in text
    assert BackgroundTask.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_background_task_example_runs_in_a_host(plexichat_make_plugin, plexichat_client,
                                                plexichat_plugin_log):
    plexichat_make_plugin("docs_tasks", code=block(section(TASKS), "python"))
    log = plexichat_plugin_log("docs_tasks")
    client = plexichat_client(plugins=["docs_tasks"], admin=True)
    kv = client.host.records["docs_tasks"].context.kv
    deadline = time.monotonic() + 10
    while kv.get("beats", 0) < 1 or len(client.plugin("docs_tasks")["tasks"]) < 2:
        assert time.monotonic() < deadline, client.plugin("docs_tasks")
        time.sleep(0.05)
    tasks = {t["name"].rpartition(".")[2]: t for t in client.plugin("docs_tasks")["tasks"]}
    assert set(tasks) == {"heartbeat", "watch"}
    assert all(t["state"] == "running" and t["restarts"] == 0 for t in tasks.values()), tasks
    assert kv.get("beats") == 1  # interval 60: one step at once, the next in a minute
    assert isinstance(kv.get("heartbeat"), float)

    assert client.post("/api/v1/plugins/docs_tasks/disable").status_code == 200
    deadline = time.monotonic() + 10
    while "watch stopped" not in log:  # cancelled; its finally ran
        assert time.monotonic() < deadline, log
        time.sleep(0.05)


@pytest.mark.parametrize("heading", [KV, TASKS])
def test_sections_exist_once(heading):
    assert DOC.read_text(encoding="utf-8").count(f"\n{heading}\n") == 1
