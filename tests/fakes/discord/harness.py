"""Async context managers that run a fake Discord and a real bot against it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any, TypeVar

import discord

from bot.infra.discord_urls import DEFAULT_GATEWAY_URL, apply_discord_urls, current_discord_urls

from .server import FakeDiscord
from .sharding import shard_of

ClientT = TypeVar("ClientT", bound=discord.Client)


@contextlib.asynccontextmanager
async def running_fake_discord(
    *, guilds: Iterable[str] = ("Test Guild",), **options: Any
) -> AsyncIterator[FakeDiscord]:
    """A started :class:`FakeDiscord` with one guild (``#general``) per name in ``guilds``.

    ``options`` go to :class:`FakeDiscord`. Add members and more guilds on the
    yielded fake (guilds added while the bot runs arrive as GUILD_CREATE).
    """
    fake = FakeDiscord(**options)
    for name in guilds:
        fake.add_guild(name)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


def client_shards(client: discord.Client) -> tuple[list[int], int] | None:
    """``(shard ids, shard count)`` a started client runs, ``None`` for one unsharded session.

    An ``AutoShardedClient`` without ``shard_ids`` runs every shard of its count.
    """
    shard_count = client.shard_count
    if shard_count is None:
        return None
    if isinstance(client, discord.AutoShardedClient):
        ids = client.shard_ids
        return (list(ids) if ids is not None else list(range(shard_count))), shard_count
    return [client.shard_id or 0], shard_count


def owned_guild_ids(client: discord.Client, fake: FakeDiscord) -> list[int]:
    """The fake's guilds that the client's shards receive."""
    shards = client_shards(client)
    if shards is None:
        return list(fake.guilds)
    ids, count = shards
    return [guild_id for guild_id in fake.guilds if shard_of(guild_id, count) in ids]


async def _wait_ready(client: discord.Client, fake: FakeDiscord) -> None:
    # Polled: ``wait_until_ready`` raises before ``login`` has created its event, and
    # with guild_ready_timeout 0 a GUILD_CREATE may be parsed after ``on_ready``;
    # nothing awaitable marks "every guild cached".
    while not client.is_ready():  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    # Only the guilds of the client's own shards ever reach it.
    while any(client.get_guild(g) is None for g in owned_guild_ids(client, fake)):  # noqa: ASYNC110
        await asyncio.sleep(0.005)


async def start_bot(
    client: discord.Client,
    fake: FakeDiscord,
    *,
    token: str = "fake-token",
    timeout: float = 10.0,  # noqa: ASYNC109 - a timeout argument, as in asyncio.wait_for
    guild_ready_timeout: float | None = 0.0,
) -> asyncio.Task[None]:
    """Start ``client`` against ``fake``; return once it is ready and has its shards' guilds.

    Points discord.py at the fake with :func:`bot.infra.discord_urls.apply_discord_urls`
    (process-global; :func:`running_bot` restores the previous URLs). Runs
    ``client.start(token)`` in a task, which is returned for :func:`stop_bot`.
    If the client fails to start (e.g. ``discord.LoginFailure`` for a token the
    fake rejects) that exception is raised here.

    ``guild_ready_timeout`` overrides the client's wait after the last
    GUILD_CREATE before ``on_ready`` (2 s by default in discord.py); it is the
    private ``client._connection.guild_ready_timeout``, set here so bots need no
    test-only constructor argument. ``None`` leaves it alone.
    """
    apply_discord_urls(fake.api_url, fake.gateway_url)
    if guild_ready_timeout is not None:
        client._connection.guild_ready_timeout = guild_ready_timeout
    task = asyncio.create_task(client.start(token), name="fake-discord-client")
    ready = asyncio.create_task(_wait_ready(client, fake))
    done, _ = await asyncio.wait(
        {task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
    )
    if ready in done:
        return task
    ready.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await ready
    if task in done:
        await client.close()  # releases the HTTP session the failed start opened
        await task  # raises the start-up error (LoginFailure, PrivilegedIntentsRequired...)
        raise RuntimeError("the client stopped before it was ready")
    await stop_bot(client, task)
    raise TimeoutError(f"the client was not ready within {timeout}s")


async def stop_bot(client: discord.Client, task: asyncio.Task[None]) -> None:
    """Close the client (gateway with 1000, HTTP session) and wait for its task."""
    await client.close()
    try:
        await asyncio.wait_for(task, timeout=10.0)
    except asyncio.CancelledError:
        if not task.cancelled():
            raise


@contextlib.asynccontextmanager
async def running_bot(client: ClientT, fake: FakeDiscord, **options: Any) -> AsyncIterator[ClientT]:
    """Run ``client`` against ``fake`` for the block; close it cleanly afterwards.

    ``options`` go to :func:`start_bot`. The discord.py URLs in effect before are
    restored on exit, so other tests see the process as they left it.
    """
    previous_api, previous_gateway = current_discord_urls()
    try:
        task = await start_bot(client, fake, **options)
        try:
            yield client
        finally:
            await stop_bot(client, task)
    finally:
        apply_discord_urls(
            previous_api, None if previous_gateway == DEFAULT_GATEWAY_URL else previous_gateway
        )
