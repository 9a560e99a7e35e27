"""Upgrading a schema-1 file (built by the released v1 statements) to the trust boundary.

Before schema 3 every upload wrote into the one shared ``tracks`` table. The upgrade
gives each CSV source's guild a copy of what it saw, and keeps in the shared cache
only rows that can be upstream values (see ``bot.store.migrations._V3``).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from bot.store import LATEST_VERSION, SqliteStore
from bot.store import migrations as migrations_module
from bot.store.migrations import Migration, migrate
from tests.test_store_support import features

GUILD_A, GUILD_B, GUILD_C = 1, 2, 3
THEN = "2025-01-01T00:00:00.000000+00:00"
B_ADDED, B_REFRESHED = "2025-02-01T00:00:00.000000+00:00", "2025-03-01T00:00:00.000000+00:00"


def _row(track_id: str, name: str, feature_source: str | None, popularity_source: str | None):
    values = features(len(track_id) + ord(name[0])) if feature_source else {}
    return {
        "id": track_id,
        "name": name,
        "artists": json.dumps([f"{name} artist"]),
        "album": f"{name} album",
        "popularity": 40 if popularity_source else None,
        **values,
        "feature_source": feature_source,
        "popularity_source": popularity_source,
        "fetched_at": THEN,
    }


# What a v1 file can hold after guild A added a Spotify playlist and guild B
# uploaded a CSV naming some of the same ids (B's values won in the shared row).
ROWS = {
    "s1": _row("s1", "Spotify only", "reccobeats", "spotify"),
    "s2": _row("s2", "B's name for s2", "b.csv", "b.csv"),  # B overwrote A's row
    "s3": _row("s3", "Upstream-looking s3", "dataset:kaggle.csv", "spotify"),
    "u1": _row("u1", "Only B uploaded u1", "b.csv", "b.csv"),
    "u2": _row("u2", "Only B uploaded u2", None, None),  # a CSV without features
    "l1": _row("l1", "Fetched by a link", "reccobeats", "reccobeats"),
    "r1": _row("r1", "From a removed upload", "old.csv", None),
    "n1": _row("n1", "Nobody knows", None, None),
}
A_PLAYLIST = ["s1", "s2", "s3"]
B_UPLOAD = ["u1", "s2", "u1", "s3", "u2"]  # a duplicate row in the file


async def build_v1(path: Path) -> None:
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await db.execute("PRAGMA foreign_keys = ON")
        assert await migrate(db, target=1) == 0
        for guild in (GUILD_A, GUILD_B, GUILD_C):
            await db.execute("INSERT INTO guilds VALUES (?, ?)", (guild, THEN))
        for row in ROWS.values():
            columns = ", ".join(f'"{c}"' for c in row)
            marks = ", ".join("?" * len(row))
            await db.execute(
                f"INSERT INTO tracks ({columns}) VALUES ({marks})", tuple(row.values())
            )
        await db.execute(
            "INSERT INTO sources (source_id, guild_id, source_key, kind, display_name, added_by, "
            "added_at, refreshed_at) VALUES (10, ?, 'pl-a', 'spotify', 'A list', 5, ?, ?)",
            (GUILD_A, THEN, THEN),
        )
        await db.execute(
            "INSERT INTO sources (source_id, guild_id, source_key, kind, display_name, added_by, "
            "added_at, refreshed_at) VALUES (20, ?, 'csv:b', 'csv', 'b.csv', 6, ?, ?)",
            (GUILD_B, B_ADDED, B_REFRESHED),
        )
        for source_id, members in ((10, A_PLAYLIST), (20, B_UPLOAD)):
            await db.executemany(
                "INSERT INTO source_tracks VALUES (?, ?, ?)",
                [(source_id, n, track_id) for n, track_id in enumerate(members)],
            )
        for guild, track_id in ((GUILD_B, "u1"), (GUILD_C, "u1"), (GUILD_A, "s2")):
            await db.execute("INSERT INTO ratings VALUES (?, 7, ?, 1, ?)", (guild, track_id, THEN))


def user_version(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def tables(path: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


async def test_a_v1_file_upgrades_moving_uploads_to_their_guild(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    await build_v1(path)
    assert user_version(path) == 1

    async with SqliteStore.open(path) as store:
        assert await store.pragma("user_version") == LATEST_VERSION
        async with store._read() as db:
            assert list(await db.execute_fetchall("PRAGMA foreign_key_check")) == []

        # B keeps exactly what it saw, now as its own upload (its file's order).
        catalogue_b = await store.load_guild_catalogue(GUILD_B)
        assert [t.id for t in catalogue_b.tracks] == ["u1", "s2", "s3", "u2"]
        assert catalogue_b.memberships == {"csv:b": B_UPLOAD}
        by_id = {t.id: t for t in catalogue_b.tracks}
        assert by_id["s2"].name == "B's name for s2" and by_id["s2"].feature_source == "b.csv"
        assert by_id["u1"].features == features(2 + ord("O"))
        assert by_id["u2"].features is None
        assert {catalogue_b.upload_source(i) for i in by_id} == {"csv:b"}
        (rated_b,) = await store.list_member_ratings(GUILD_B, 7)
        assert rated_b.name == "Only B uploaded u1" and rated_b.upload_source == "csv:b"

        # The shared cache: rows a Spotify source holds stay, minus values an upload
        # wrote; rows only an upload (or nothing upstream-looking) held are gone.
        shared = await store.get_tracks(list(ROWS))
        assert set(shared) == {"s1", "s2", "s3", "l1"}
        assert shared["s1"].features is not None and shared["s1"].popularity == 40
        assert shared["s3"].feature_source == "dataset:kaggle.csv"
        assert shared["s2"].features is None and shared["s2"].feature_source is None
        assert shared["s2"].popularity is None and shared["s2"].popularity_source is None
        # Known and documented: its name is the playlist's again at the next refresh.
        assert shared["s2"].name == "B's name for s2"

        # A sees upstream-only values; C cannot read what only B uploaded.
        catalogue_a = await store.load_guild_catalogue(GUILD_A)
        assert [t.id for t in catalogue_a.tracks] == A_PLAYLIST
        assert all(catalogue_a.upload_source(i) is None for i in A_PLAYLIST)
        assert catalogue_a.tracks[1].features is None
        (rated_c,) = await store.list_member_ratings(GUILD_C, 7)
        assert rated_c.track is None
        assert len(await store.load_guild_catalogue(GUILD_C)) == 0

        # Uploaded values carry when they were uploaded: the source's last refresh.
        async with store._read() as db:
            stamps = {
                r[0] for r in await db.execute_fetchall("SELECT uploaded_at FROM uploaded_tracks")
            }
        assert stamps == {B_REFRESHED}

        # The upgraded file works like a new one: removing B's upload removes its rows.
        assert await store.remove_source(GUILD_B, "csv:b")
        left = {t.id for t in (await store.load_guild_catalogue(GUILD_B)).tracks}
        assert not left & {"u1", "u2"}
        async with store._read() as db:
            assert list(await db.execute_fetchall("SELECT id FROM uploaded_tracks")) == []


async def test_a_failed_upgrade_leaves_the_v1_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v1.sqlite3"
    await build_v1(path)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        before = conn.execute("SELECT * FROM tracks ORDER BY id").fetchall()
    last = migrations_module.MIGRATIONS[-1]
    broken = Migration(
        last.version,
        last.description,
        # Fails after every statement of the real step has run.
        (*last.statements, "INSERT INTO guilds (guild_id, created_at) VALUES (NULL, NULL)"),
    )
    monkeypatch.setattr(
        migrations_module, "MIGRATIONS", (*migrations_module.MIGRATIONS[:-1], broken)
    )
    with pytest.raises(sqlite3.IntegrityError):
        await SqliteStore.connect(path)

    assert user_version(path) == 1
    assert "uploaded_tracks" not in tables(path) and "guild_departures" not in tables(path)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT * FROM tracks ORDER BY id").fetchall() == before
        assert conn.execute("SELECT count(*) FROM source_tracks").fetchone()[0] == 8
