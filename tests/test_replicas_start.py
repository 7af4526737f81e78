"""Replicas of one host start together on one fresh PostgreSQL database.

Each creates the host's, the chat's and the plugins' tables on its first start; started
at the same moment they must not race (schema changes take an advisory lock).
"""

from __future__ import annotations

from support.replicas import replicas


def test_three_replicas_start_together_on_one_fresh_database(site, tmp_path):
    with replicas(3, site, tmp_path) as running:
        for replica in running:
            with replica.client() as client:
                assert client.get("/api/v1/hello").status_code == 200
                plugins = client.get("/api/v1/plugins").json()
                failed = {p["name"]: p["reason"] for p in plugins if p["state"] == "failed"}
                assert not failed, f"{replica.url}: {failed}\n{replica.log()}"
