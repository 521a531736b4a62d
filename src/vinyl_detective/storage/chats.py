"""Telegram chats: paused (by /pause) or blocked (Telegram said 403)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from vinyl_detective.storage.schema import chats


def ensure_chat(conn: sa.Connection, chat_id: int, now: datetime) -> None:
    exists = conn.execute(sa.select(chats.c.chat_id).where(chats.c.chat_id == chat_id)).first()
    if not exists:
        conn.execute(chats.insert().values(chat_id=chat_id, created_at=now))


def set_paused(conn: sa.Connection, chat_id: int, paused: bool, now: datetime) -> None:
    ensure_chat(conn, chat_id, now)
    conn.execute(chats.update().where(chats.c.chat_id == chat_id).values(paused=paused))


def set_blocked(conn: sa.Connection, chat_id: int, blocked: bool, now: datetime) -> None:
    ensure_chat(conn, chat_id, now)
    conn.execute(chats.update().where(chats.c.chat_id == chat_id).values(blocked=blocked))


def is_reachable(conn: sa.Connection, chat_id: int) -> bool:
    """False when the chat paused alerts or blocked the bot."""
    row = conn.execute(
        sa.select(chats.c.paused, chats.c.blocked).where(chats.c.chat_id == chat_id)
    ).first()
    return row is None or not (row.paused or row.blocked)


def chat_state(conn: sa.Connection, chat_id: int) -> tuple[bool, bool]:
    """(paused, blocked) for a chat; (False, False) when unknown."""
    row = conn.execute(
        sa.select(chats.c.paused, chats.c.blocked).where(chats.c.chat_id == chat_id)
    ).first()
    return (bool(row.paused), bool(row.blocked)) if row else (False, False)
