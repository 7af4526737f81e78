"""The chat's tables (SQLAlchemy Core), on the host database's shared ``metadata``.

They are created with the core tables by :class:`~plexichat.chat.service.ChatService`
(``CHAT_TABLES``), on SQLite and PostgreSQL alike. Rows refer to each other by id
without foreign-key constraints: the service keeps them consistent, and a backup
restores tables one at a time in name order, which constraints would refuse.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..storage.database import metadata

__all__ = ["CHAT_TABLES", "channels", "members", "messages", "tokens", "users"]

users = sa.Table(
    "plexichat_chat_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False),
    # the name in lower case: names are unique regardless of case
    sa.Column("name_key", sa.String(100), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=True),  # None for bot users
    sa.Column("is_bot", sa.Boolean, nullable=False, default=False),
    sa.Column("bot_plugin", sa.String(200), nullable=True, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
"""Users and plugins' bot users (``bot:<plugin>``, no password)."""

tokens = sa.Table(
    "plexichat_chat_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # always set; nullable because the column was added to existing tables
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
)
"""Bearer tokens handed out at login, kept as SHA-256 digests only, each with its expiry
(:mod:`plexichat.chat.tokens`)."""

channels = sa.Table(
    "plexichat_chat_channels",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("topic", sa.String(250), nullable=False, default=""),
    sa.Column("created_by", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

members = sa.Table(
    "plexichat_chat_members",
    metadata,
    sa.Column("channel_id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, primary_key=True, index=True),
    sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
)
"""Who has joined which channel."""

messages = sa.Table(
    "plexichat_chat_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel_id", sa.Integer, nullable=False),
    sa.Column("author_id", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_plexichat_chat_messages_channel_id_id", "channel_id", "id"),
)
"""Messages; ids grow in storage order, which is the order clients see."""

CHAT_TABLES = [users, tokens, channels, members, messages]
