"""The fake Discord: an aiohttp server on 127.0.0.1 with the REST API and the gateway.

It speaks enough of Discord's protocol for the real discord.py 2.7 client to log
in, connect, sync commands, receive interactions and reactions, answer them, and
survive rate limits. See the package docstring for the test-facing API and
Discord's gateway and interaction docs (cited in the package docstring) for the
protocol it reproduces.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import logging
import re
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from aiohttp import BodyPartReader, WSMsgType, web

from . import errors, limits
from .clock import FakeClock
from .connections import GatewayConnection
from .errors import DiscordError
from .interactions import (
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE_MESSAGE,
    UPDATE_MESSAGE,
    InteractionCallback,
    InteractionHandle,
)
from .models import (
    ADD_REACTIONS,
    ATTACH_FILES,
    DEFAULT_EVERYONE_PERMISSIONS,
    EMBED_LINKS,
    EPHEMERAL,
    INTENT_GUILD_MESSAGE_REACTIONS,
    LOADING,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    CommandSync,
    FakeAttachment,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    RecordedRequest,
    emoji_key,
    emoji_payload,
    new_id,
)
from .ratelimits import GLOBAL_LIMIT, RateLimiter, RateLimitRule, Verdict
from .sharding import (
    AUTHENTICATION_FAILED,
    MAX_GUILDS_PER_SHARD,
    IdentifyGate,
    IdentifyRefusal,
    SessionStartLimit,
    new_id_on_shard,
    shard_of,
)

_log = logging.getLogger(__name__)

#: What the bot may do in every channel (sent as ``app_permissions``).
BOT_PERMISSIONS = (
    VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | ADD_REACTIONS | READ_MESSAGE_HISTORY
)
#: Discord's default upload limit for a server without boosts (10 MiB).
ATTACHMENT_SIZE_LIMIT = limits.ATTACHMENT_SIZE_LIMIT
#: Seconds Discord gives a bot for the first response to an interaction.
ACK_DEADLINE = 3.0
#: Seconds an interaction token stays valid for followups and edits (15 minutes).
TOKEN_LIFETIME = 15 * 60.0
#: Distinct emoji Discord allows on one message.
MAX_DISTINCT_REACTIONS = 20

# Gateway opcodes.
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_RESUME = 0, 1, 2, 6
OP_RECONNECT, OP_INVALID_SESSION, OP_HELLO, OP_HEARTBEAT_ACK = 7, 9, 10, 11
#: Close codes after which Discord forgets the session (no RESUME possible).
_SESSION_ENDING_CLOSE_CODES = {1000, 1001, 4004, 4010, 4011, 4012, 4013, 4014}

Handler = Callable[[web.Request, "_Body", dict[str, str]], Awaitable[web.StreamResponse]]
#: A registered REST route: method, template (``/channels/{channel_id}``), regex, handler.
Route = tuple[str, str, re.Pattern[str], Handler]
UserRef = FakeUser | FakeMember | int
GuildRef = FakeGuild | int | str  # a guild, its id or its name


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON reply with ``Content-Type`` exactly ``application/json``.

    discord.py compares the header with ``==``; aiohttp's ``json_response`` appends
    ``; charset=utf-8`` and the client would then treat the body as text.
    """
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def error_response(status: int, code: int, message: str) -> web.Response:
    """Discord's error body: ``{"message": ..., "code": ...}``."""
    return json_response({"message": message, "code": code}, status=status)


def _permission_bits(value: Any) -> int:
    # Accept an int or a discord.Permissions (anything with .value).
    return int(getattr(value, "value", value))


@dataclass
class _Body:
    """A parsed request body: JSON (or multipart ``payload_json``) and uploaded files."""

    json: Any = None
    #: ``files[n]`` index -> the uploaded file.
    files: dict[int, FakeAttachment] = field(default_factory=dict)


@dataclass(eq=False)  # identity semantics: kept in a set
class _Connection:
    """One open gateway websocket."""

    ws: web.WebSocketResponse
    #: What the connection carried, kept for tests after it closes.
    record: GatewayConnection
    compressor: Any = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: The close code when the fake closed it (the client's echo may differ).
    server_close_code: int | None = None

    async def close(self, code: int, message: bytes) -> None:
        self.server_close_code = code
        self.record.server_close_code = code
        await self.ws.close(code=code, message=message)


@dataclass
class _Session:
    """A gateway session: survives a dropped connection so the client can RESUME."""

    id: str
    shard: tuple[int, int]
    intents: int
    seq: int = 0
    conn: _Connection | None = None
    #: Dispatch frames sent so far (for RESUME replay).
    frames: list[dict[str, Any]] = field(default_factory=list)

    def covers(self, guild_id: int) -> bool:
        shard_id, shard_count = self.shard
        return shard_of(guild_id, shard_count) == shard_id


class FakeDiscord:
    """A fake Discord (REST + gateway) on 127.0.0.1 for the real discord.py client.

    Configure the world (guilds, users, members), ``await start()``, point the bot
    at :attr:`api_url` and :attr:`gateway_url`, then drive it with :meth:`invoke`,
    :meth:`autocomplete`, :meth:`react` and inspect what it did through
    :attr:`requests`, :attr:`command_syncs`, :attr:`messages` and the handles.
    """

    def __init__(
        self,
        *,
        bot_name: str = "testbot",
        heartbeat_interval_ms: int = 41_250,
        ping_interval: float = 30.0,
        shard_count: int = 1,
        session_start_limit: SessionStartLimit | None = None,
        max_guilds_per_shard: int = MAX_GUILDS_PER_SHARD,
        shard_multiple: int = 1,
        ack_deadline: float | None = ACK_DEADLINE,
        token_lifetime: float | None = TOKEN_LIFETIME,
        validate_payloads: bool = True,
        rate_limits: bool = True,
        global_rate_limit: int | None = GLOBAL_LIMIT,
        zlib_frames: bool = True,
        clock: FakeClock | None = None,
        valid_tokens: Iterable[str] | None = None,
        max_replay: int = 1000,
    ) -> None:
        """Create an unstarted fake, as strict as Discord unless a knob says otherwise.

        ``ping_interval``: seconds between the fake's own op-1 heartbeat requests,
        so an idle client always hears from the gateway well within its 60 s
        ``heartbeat_timeout``. ``shard_count``: what ``GET /gateway/bot`` advises
        (and the count :meth:`add_guild`'s ``shard=`` places guilds by).
        ``valid_tokens``: tokens accepted by login and IDENTIFY (any non-empty
        token if ``None``).

        Discord's rules, each on by default; a test that turns one off must say why:

        - ``ack_deadline`` (3 s, real time): a first callback later than this after
          dispatch gets 404 / 10062 "Unknown interaction"; ``None`` never.
        - ``token_lifetime`` (15 min on the fake's clock, see :meth:`advance`):
          followups and edits with an older token get 401 / 50027.
        - ``validate_payloads``: Discord's payload limits (:mod:`.limits`): 400 /
          50035 with the ``errors`` tree, 50006 for an empty message, 413 / 40005
          for a file over 10 MiB, 30010 for a 21st distinct reaction.
        - ``rate_limits``: per-route buckets with ``X-RateLimit-*`` headers
          (:mod:`.ratelimits`); ``global_rate_limit`` requests per second for the
          bot (``None``: no global limit). Injected 429s (:meth:`rate_limit`)
          apply either way.
        - ``zlib_frames``: zlib-stream binary frames when the client asks for
          ``compress=zlib-stream`` (as discord.py does); TEXT frames otherwise.
        - sharding (:mod:`.sharding`), always on: IDENTIFY's ``[shard_id,
          shard_count]`` is checked (4010 if invalid, or if the count is not a
          multiple of ``shard_multiple``, Discord's large-bot sharding); a session
          holding more than ``max_guilds_per_shard`` guilds closes with 4011; at
          most ``session_start_limit.max_concurrency`` IDENTIFYs per 5 s, one per
          key ``shard_id % max_concurrency`` (a faster one: Invalid Session, op 9);
          every session start counts down ``session_start_limit`` (spent: 4004 and
          the token stops working). ``session_start_limit``: what ``GET
          /gateway/bot`` reports (Discord's usual 1,000 a day, max_concurrency 1,
          if ``None``). Guild events go only to sessions whose shard owns the guild.

        ``clock``: the time source for deadlines and request times (a new
        :class:`~.clock.FakeClock` if ``None``).
        """
        self.application_id = new_id()
        self.bot_user = FakeUser(new_id(), bot_name, bot=True)
        self.owner = FakeUser(new_id(), "owner")
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.ping_interval = ping_interval
        self.shard_count = shard_count
        self.ack_deadline = ack_deadline
        self.token_lifetime = token_lifetime
        self.validate_payloads = validate_payloads
        self.zlib_frames = zlib_frames
        self.clock = clock or FakeClock()
        self.ratelimits = RateLimiter(
            self.clock, self.clock.wall, buckets=rate_limits, global_limit=global_rate_limit
        )
        self.valid_tokens = set(valid_tokens) if valid_tokens is not None else None
        self.max_replay = max_replay
        #: Discord's IDENTIFY rules; its ``refusals`` list every refused IDENTIFY.
        self.identify_gate = IdentifyGate(
            self.clock,
            session_start_limit or SessionStartLimit(),
            max_guilds_per_shard=max_guilds_per_shard,
            shard_multiple=shard_multiple,
        )

        self.guilds: dict[int, FakeGuild] = {}
        self.users: dict[int, FakeUser] = {
            self.bot_user.id: self.bot_user,
            self.owner.id: self.owner,
        }
        #: Every REST request, in arrival order.
        self.requests: list[RecordedRequest] = []
        #: Every bulk overwrite of application commands, in order.
        self.command_syncs: list[CommandSync] = []
        #: Every message the bot created, by id (ephemeral and deleted ones too).
        self.messages: dict[int, FakeMessage] = {}
        #: Every interaction dispatched, in order.
        self.interactions: list[InteractionHandle] = []
        #: Client -> gateway opcodes, in order (``[1, 2, 1, 6]`` = identify, then resume).
        self.gateway_ops: list[int] = []
        #: IDENTIFY payloads (``intents``, ``shard``, ``properties`` ...), refused ones too.
        self.identifies: list[dict[str, Any]] = []
        #: Every gateway connection ever opened, in order, with what it carried.
        self.gateway_connections: list[GatewayConnection] = []
        #: Exceptions raised inside the fake's handlers (answered with a 400).
        self.errors: list[Exception] = []

        self._commands: dict[int | None, dict[tuple[str, int], dict[str, Any]]] = {}
        self._handles: dict[int, InteractionHandle] = {}
        self._handles_by_token: dict[str, InteractionHandle] = {}
        self._attachments: dict[int, FakeAttachment] = {}
        self._sessions: dict[str, _Session] = {}
        self._connections: set[_Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._routes: list[Route] = []
        self._install_routes()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeDiscord:
        """Listen on 127.0.0.1 on a free port."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._cdn)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        # TCPSite keeps its asyncio.Server private; port 0 needs the bound port back.
        server = cast(asyncio.Server, site._server)
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Close every gateway connection and the server."""
        for conn in list(self._connections):
            await conn.close(1001, b"fake discord stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def http_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if not self.port:
            raise RuntimeError("the fake Discord is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The REST base for ``DISCORD_API_URL``: ``http://127.0.0.1:PORT/api/v10``."""
        return f"{self.http_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """The gateway for ``DISCORD_GATEWAY_URL``: ``ws://127.0.0.1:PORT/gateway``."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    # ------------------------------------------------------------------ world setup

    def add_user(self, username: str, *, bot: bool = False) -> FakeUser:
        """A new user (not yet a member of any guild)."""
        user = FakeUser(new_id(), username, bot=bot)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str = "Test Guild",
        *,
        channels: Iterable[str] = ("general",),
        everyone_permissions: Any = DEFAULT_EVERYONE_PERMISSIONS,
        shard: int | None = None,
    ) -> FakeGuild:
        """A guild with an @everyone role, the given text channels, the owner and the bot.

        ``shard``: give the guild an id on that shard of :attr:`shard_count` (else
        the next id, which is on whatever shard it falls). If the bot is already
        connected, the sessions owning the guild receive a GUILD_CREATE (it "joined").
        """
        guild_id = new_id() if shard is None else new_id_on_shard(shard, self.shard_count)
        everyone = FakeRole(guild_id, "@everyone", _permission_bits(everyone_permissions))
        guild = FakeGuild(guild_id, name, owner_id=self.owner.id, everyone=everyone)
        for position, channel_name in enumerate(channels):
            guild.channels.append(FakeChannel(new_id(), guild_id, channel_name, position))
        guild.members[self.owner.id] = FakeMember(self.owner, guild)
        guild.members[self.bot_user.id] = FakeMember(self.bot_user, guild)
        self.guilds[guild_id] = guild
        self._spawn_guild_create(guild)
        return guild

    def add_channel(self, guild: GuildRef, name: str) -> FakeChannel:
        """Another text channel (configure before the bot connects)."""
        g = self.guild(guild)
        channel = FakeChannel(new_id(), g.id, name, len(g.channels))
        g.channels.append(channel)
        return channel

    def add_role(self, guild: GuildRef, name: str, permissions: Any = 0) -> FakeRole:
        """A role with the given permission bits (an int or ``discord.Permissions``)."""
        g = self.guild(guild)
        role = FakeRole(new_id(), name, _permission_bits(permissions), position=len(g.roles) + 1)
        g.roles.append(role)
        return role

    def add_member(
        self,
        guild: GuildRef,
        user: FakeUser | str,
        *,
        permissions: Any = 0,
        roles: Iterable[FakeRole] = (),
    ) -> FakeMember:
        """Make ``user`` (or a new user called so) a member of ``guild``.

        ``permissions`` are granted on top of @everyone and ``roles``; pass e.g.
        ``MANAGE_GUILD`` or ``discord.Permissions(manage_guild=True)`` for an admin.
        """
        g = self.guild(guild)
        if isinstance(user, str):
            user = self.add_user(user)
        member = FakeMember(user, g, list(roles), _permission_bits(permissions))
        g.members[user.id] = member
        return member

    def guild(self, guild: GuildRef) -> FakeGuild:
        """The guild: a ``FakeGuild``, its id, or its name."""
        if isinstance(guild, str):
            for candidate in self.guilds.values():
                if candidate.name == guild:
                    return candidate
            raise KeyError(f"no guild named {guild!r}")
        guild_id = guild if isinstance(guild, int) else guild.id
        return self.guilds[guild_id]

    # ------------------------------------------------------------------ inspection

    def refusals(self, *codes: int) -> list[RecordedRequest]:
        """Requests the fake refused (4xx), optionally only those with these error codes.

        Rate-limited requests (429) are not refusals: discord.py waits and retries them.
        """
        return [
            r
            for r in self.requests
            if 400 <= r.status < 500 and r.status != 429 and (not codes or r.error_code in codes)
        ]

    def find_requests(
        self, method: str | None = None, path: str | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests by method and a glob on the path (``"/channels/*/messages"``)."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (path is None or fnmatch.fnmatchcase(r.path, path))
        ]

    def commands(self, guild: GuildRef | None = None) -> list[dict[str, Any]]:
        """The registered commands (as Discord returns them) for a guild, or global ones."""
        scope = None if guild is None else self.guild(guild).id
        return list(self._commands.get(scope, {}).values())

    def command(self, name: str, guild: GuildRef | None = None) -> dict[str, Any]:
        """One registered chat-input command by name."""
        for command in self.commands(guild):
            if command["name"] == name and command.get("type", 1) == 1:
                return command
        scope = "globally" if guild is None else f"in guild {self.guild(guild).name!r}"
        raise KeyError(f"command {name!r} is not registered {scope}")

    def message(self, message_id: int) -> FakeMessage:
        """A message the bot created."""
        return self.messages[message_id]

    def channel_messages(self, channel: FakeChannel | int) -> list[FakeMessage]:
        """Messages visible in a channel, oldest first (no ephemeral or deleted ones)."""
        channel_id = channel if isinstance(channel, int) else channel.id
        return [
            m
            for m in self.messages.values()
            if m.channel_id == channel_id and not m.deleted and not m.ephemeral
        ]

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a timeout argument, as in asyncio.wait_for
    ) -> None:
        """Wait until ``predicate()`` holds; re-checked after every request and gateway event."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    @property
    def connected(self) -> bool:
        """Whether a client has a live, identified gateway connection."""
        return any(s.conn is not None for s in self._sessions.values())

    def serving(self, guild: GuildRef) -> list[GatewayConnection]:
        """The live connections whose session's shard owns ``guild`` (an id, even unknown)."""
        guild_id = guild if isinstance(guild, int) else self.guild(guild).id
        return [
            s.conn.record
            for s in self._sessions.values()
            if s.conn is not None and s.covers(guild_id)
        ]

    @property
    def session_start_limit(self) -> SessionStartLimit:
        """What ``GET /gateway/bot`` reports; counts down with every session started."""
        return self.identify_gate.limit

    @property
    def identify_refusals(self) -> list[IdentifyRefusal]:
        """IDENTIFYs refused by Discord's sharding rules (4004, 4010, 4011, op 9), in order."""
        return self.identify_gate.refusals

    # ------------------------------------------------------------------ fault injection

    def rate_limit(
        self,
        count: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        retry_after: float = 0.05,
        is_global: bool = False,
    ) -> RateLimitRule:
        """Answer the next ``count`` matching REST calls with Discord's 429.

        ``method`` and ``path`` (a glob on the path after ``/api/v10``, e.g.
        ``"/channels/*/messages/*/reactions/*"``) narrow the calls; ``None``
        matches all. The reply has a JSON body with ``retry_after`` and
        ``global``, ``Retry-After`` and ``X-RateLimit-*`` headers, and
        ``Via: 1.1 google`` (without ``Via`` discord.py assumes a Cloudflare ban
        and raises). The returned rule's ``hits`` lists the requests it answered.
        """
        rule = RateLimitRule(
            remaining=count,
            method=method.upper() if method else None,
            path=path,
            retry_after=retry_after,
            is_global=is_global,
            scope="global" if is_global else "user",
        )
        return self.ratelimits.inject(rule)

    # ------------------------------------------------------------------ time

    def now(self) -> float:
        """The fake's clock: ``time.monotonic()`` plus every :meth:`advance`."""
        return self.clock()

    def advance(self, seconds: float) -> None:
        """Jump the fake's clock ahead, e.g. ``advance(15 * 60)`` to expire tokens.

        Rate-limit windows and deadlines measured from before the jump end as if
        the time had passed; nothing else moves.
        """
        self.clock.advance(seconds)

    # ------------------------------------------------------------------ driving the bot

    async def invoke(
        self,
        guild: GuildRef,
        user: UserRef,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        channel: FakeChannel | None = None,
        locale: str = "en-US",
        timeout: float = 5.0,  # noqa: ASYNC109 - a timeout argument, as in asyncio.wait_for
        dm: bool = False,
        require_session: bool = True,
    ) -> InteractionHandle:
        """Send a slash-command INTERACTION_CREATE as ``user`` in ``guild``; return its handle.

        ``name`` may be ``"group sub"`` for a subcommand. Option types come from the
        synced command (else from the Python value: str, int, float, bool, or a
        ``FakeAttachment`` for an attachment option, served by the fake's CDN).
        Waits up to ``timeout`` for a gateway session whose shard owns the guild.
        ``dm=True``: ``user`` (a member of ``guild``) runs it in a DM with the bot
        instead, as a client with a stale command list can even for a guild-only
        command (see :func:`_as_dm`). ``require_session=False``: send it at once to
        whichever sessions own the guild, possibly none (as Discord does while that
        shard is not connected anywhere); ``handle.delivered_to`` says which.
        """
        return await self._dispatch_interaction(
            2, guild, user, name, options or {}, None, channel, locale, timeout,
            dm=dm, require_session=require_session,
        )  # fmt: skip

    async def dispatch_autocomplete(
        self,
        guild: GuildRef,
        user: UserRef,
        name: str,
        *,
        focused: str,
        value: str = "",
        options: Mapping[str, Any] | None = None,
        channel: FakeChannel | None = None,
        locale: str = "en-US",
        timeout: float = 5.0,  # noqa: ASYNC109 - a timeout argument, as in asyncio.wait_for
        dm: bool = False,
        require_session: bool = True,
    ) -> InteractionHandle:
        """Send an autocomplete INTERACTION_CREATE (type 4) and return its handle.

        ``focused`` names the option being typed, ``value`` what is typed so far;
        ``options`` are the other (possibly partial) options already filled in.
        ``dm=True`` and ``require_session``: as for :meth:`invoke`.
        """
        all_options = {**(options or {}), focused: value}
        return await self._dispatch_interaction(
            4, guild, user, name, all_options, focused, channel, locale, timeout,
            dm=dm, require_session=require_session,
        )  # fmt: skip

    async def autocomplete(
        self,
        guild: GuildRef,
        user: UserRef,
        name: str,
        *,
        focused: str,
        value: str = "",
        options: Mapping[str, Any] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a timeout argument, as in asyncio.wait_for
    ) -> list[dict[str, Any]]:
        """Ask for autocomplete choices and return them (``[{"name", "value"}, ...]``)."""
        handle = await self.dispatch_autocomplete(
            guild, user, name, focused=focused, value=value, options=options, timeout=timeout
        )
        callback = await handle.wait_response(timeout)
        if callback.type != AUTOCOMPLETE_RESULT:
            raise AssertionError(f"autocomplete answered with callback type {callback.type}")
        return callback.choices

    async def react(
        self, user: UserRef, message: FakeMessage | int, emoji: str, *, burst: bool = False
    ) -> None:
        """``user`` adds ``emoji`` to a bot message: MESSAGE_REACTION_ADD with ``member``.

        Raises :class:`~.errors.DiscordError` (30010) for a 21st distinct emoji, which
        Discord refuses whoever adds it.
        """
        msg, member = self._reaction_target(user, message)
        key = emoji_key(emoji)
        if member.id in msg.reactions.get(key, []):
            return  # Discord sends nothing for a duplicate reaction.
        limits.check_reaction_count(msg.reactions, key, MAX_DISTINCT_REACTIONS)
        users = msg.reactions.setdefault(key, [])
        users.append(member.id)
        await self._send_reaction_event("MESSAGE_REACTION_ADD", msg, member, key, burst=burst)

    async def unreact(self, user: UserRef, message: FakeMessage | int, emoji: str) -> None:
        """``user`` removes ``emoji``: MESSAGE_REACTION_REMOVE (like Discord's, no ``member``)."""
        msg, member = self._reaction_target(user, message)
        key = emoji_key(emoji)
        users = msg.reactions.get(key, [])
        if member.id not in users:
            return
        users.remove(member.id)
        await self._send_reaction_event("MESSAGE_REACTION_REMOVE", msg, member, key)

    async def disconnect(self, code: int = 4000) -> None:
        """Drop every gateway connection with ``code``; 4000 makes the client RESUME."""
        for conn in list(self._connections):
            await conn.close(code, b"fake discord disconnect")

    async def wait_connected(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - a timeout argument, as in asyncio.wait_for
        *,
        guild: GuildRef | None = None,
    ) -> None:
        """Wait until a client is identified (or resumed) on the gateway.

        ``guild``: until a session whose shard owns that guild is (``0``: shard 0,
        where Discord sends events without a guild).
        """

        def ready() -> bool:
            return self.connected if guild is None else bool(self.serving(guild))

        try:
            await self.wait_until(ready, timeout)
        except TimeoutError:
            where = "" if guild is None else f" for the shard of guild {guild!r}"
            raise AssertionError(f"no gateway connection{where} within {timeout}s") from None

    def _reaction_target(
        self, user: UserRef, message: FakeMessage | int
    ) -> tuple[FakeMessage, FakeMember]:
        msg = message if isinstance(message, FakeMessage) else self.messages[message]
        if msg.guild_id is None:
            raise ValueError("the fake only supports reactions in guilds")
        return msg, self.guild(msg.guild_id).member(user)

    async def _send_reaction_event(
        self,
        event: str,
        msg: FakeMessage,
        member: FakeMember,
        emoji: str,
        *,
        burst: bool = False,
        required: bool = True,
    ) -> None:
        assert msg.guild_id is not None
        data: dict[str, Any] = {
            "user_id": str(member.id),
            "channel_id": str(msg.channel_id),
            "message_id": str(msg.id),
            "guild_id": str(msg.guild_id),
            "emoji": emoji_payload(emoji),
            "burst": burst,
            "type": 1 if burst else 0,  # discord.py >= 2.4 requires "type"
        }
        if event == "MESSAGE_REACTION_ADD":
            data["member"] = member.to_payload()
            data["message_author_id"] = str(msg.author.id)
            data["burst_colors"] = []
        await self._dispatch_to_guild(
            msg.guild_id, event, data, intent=INTENT_GUILD_MESSAGE_REACTIONS, required=required
        )

    # ------------------------------------------------------------------ interactions

    def _member(self, guild: FakeGuild, user: UserRef) -> FakeMember:
        return guild.member(user)

    def _registered(self, guild: FakeGuild, name: str, kind: int = 1) -> dict[str, Any] | None:
        """The synced command ``name`` of type ``kind`` (1 slash, 2 user, 3 message menu)."""
        for scope in (guild.id, None):
            for command in self._commands.get(scope, {}).values():
                if command["name"] == name and command.get("type", 1) == kind:
                    return command
        return None

    def _build_options(
        self,
        schema: list[dict[str, Any]],
        options: Mapping[str, Any],
        focused: str | None,
        resolved: dict[str, Any],
    ) -> list[dict[str, Any]]:
        types = {o["name"]: o.get("type", 3) for o in schema}
        built = []
        for name, value in options.items():
            option_type = types.get(name) or _infer_option_type(value)
            item: dict[str, Any] = {"name": name, "type": option_type}
            if isinstance(value, FakeAttachment):
                self._serve_attachment(value, channel_id=0)
                resolved.setdefault("attachments", {})[str(value.id)] = value.to_payload()
                item["value"] = str(value.id)
            elif name == focused:
                item["value"] = str(value)  # Discord sends the typed text as is
                item["focused"] = True
            else:
                item["value"] = value
            built.append(item)
        return built

    async def _dispatch_interaction(
        self,
        kind: int,
        guild_ref: GuildRef,
        user: UserRef,
        name: str,
        options: Mapping[str, Any],
        focused: str | None,
        channel: FakeChannel | None,
        locale: str,
        timeout: float,  # noqa: ASYNC109 - a timeout argument, as in asyncio.wait_for
        *,
        dm: bool = False,
        require_session: bool = True,
    ) -> InteractionHandle:
        guild = self.guild(guild_ref)
        member = self._member(guild, user)
        channel = channel or guild.default_channel
        root, *subs = name.split()
        command = self._registered(guild, root)
        resolved: dict[str, Any] = {}

        # Walk the schema down the subcommand path so option types come from it.
        schema: list[dict[str, Any]] = (command or {}).get("options", [])
        path_schema: list[list[dict[str, Any]]] = []
        for sub in subs:
            path_schema.append(schema)
            sub_schema = next((o for o in schema if o["name"] == sub), {})
            schema = sub_schema.get("options", [])
        leaf = self._build_options(schema, options, focused, resolved)
        for sub, parent in zip(reversed(subs), reversed(path_schema), strict=True):
            sub_type = next((o.get("type", 1) for o in parent if o["name"] == sub), 1)
            leaf = [{"name": sub, "type": sub_type, "options": leaf}]

        data: dict[str, Any] = {
            "id": command["id"] if command else str(new_id()),
            "name": root,
            "type": 1,
            "options": leaf,
        }
        if command and command.get("guild_id") and not dm:
            data["guild_id"] = command["guild_id"]
        if resolved:
            data["resolved"] = resolved
        return await self._send_interaction(
            kind, guild, member, channel, locale, name, data,
            timeout=timeout, dm=dm, require_session=require_session,
        )  # fmt: skip

    async def click(
        self,
        user: UserRef,
        message: FakeMessage | int,
        *,
        label: str | None = None,
        custom_id: str | None = None,
        locale: str = "en-US",
        timeout: float = 5.0,  # noqa: ASYNC109 - a timeout argument, as in asyncio.wait_for
    ) -> InteractionHandle:
        """``user`` presses a button (by ``label`` or ``custom_id``) on a bot message.

        Sends a MESSAGE_COMPONENT interaction (type 3) carrying the message, as
        Discord does. A type 7 callback (``response.edit_message``) or a type 6
        (``response.defer()``) followed by an ``@original`` edit changes that
        message; a type 4 callback creates a new one. Wait on the returned handle.
        """
        msg = message if isinstance(message, FakeMessage) else self.messages[message]
        if msg.guild_id is None:
            raise ValueError("the fake only supports components in guilds")
        guild = self.guild(msg.guild_id)
        member = guild.member(user)
        button = _find_button(msg, label=label, custom_id=custom_id)
        channel = next(c for c in guild.channels if c.id == msg.channel_id)
        data = {"custom_id": button["custom_id"], "component_type": button.get("type", 2)}
        return await self._send_interaction(
            3, guild, member, channel, locale, str(button["custom_id"]), data,
            timeout=timeout, message=msg,
        )  # fmt: skip

    def post_message(
        self,
        guild: GuildRef,
        user: UserRef,
        content: str = "",
        *,
        embeds: list[dict[str, Any]] | None = None,
        channel: FakeChannel | None = None,
    ) -> FakeMessage:
        """A member's message in a channel (``#general`` unless ``channel``), to target.

        The bot hears nothing of it (no event): without the guild-messages intent a
        bot sees a member's message only as the target of a message command
        (:meth:`invoke_message_command`). ``embeds`` stand in for the previews Discord
        adds to links (a Spotify link's embed has the link as its ``url``).
        """
        g = self.guild(guild)
        member = g.member(user)
        message = FakeMessage(
            id=new_id(),
            channel_id=(channel or g.default_channel).id,
            guild_id=g.id,
            author=member.user,
            content=content,
            embeds=list(embeds or []),
            created_at=self.clock(),
        )
        message.history.append({"content": content, "embeds": message.embeds})
        self.messages[message.id] = message
        return message

    async def invoke_message_command(
        self,
        user: UserRef,
        name: str,
        message: FakeMessage | int,
        *,
        locale: str = "en-US",
        timeout: float = 5.0,  # noqa: ASYNC109 - a timeout argument, as in asyncio.wait_for
        dm: bool = False,
    ) -> InteractionHandle:
        """``user`` runs the message context-menu command ``name`` ("Apps" menu) on ``message``.

        As Discord sends it: an APPLICATION_COMMAND interaction (type 2) whose data
        has ``type`` 3, ``target_id`` and ``resolved.messages`` with the whole target
        message, content and embeds included (an app receives the content of a
        message its command targets without the message-content intent). ``dm``: as
        for :meth:`invoke`, from the member's DM with the bot.
        """
        msg = message if isinstance(message, FakeMessage) else self.messages[message]
        if msg.guild_id is None:
            raise ValueError("the fake only supports message commands in guilds")
        guild = self.guild(msg.guild_id)
        member = guild.member(user)
        command = self._registered(guild, name, kind=3)
        data: dict[str, Any] = {
            "id": command["id"] if command else str(new_id()),
            "name": name,
            "type": 3,
            "target_id": str(msg.id),
            "resolved": {"messages": {str(msg.id): msg.to_payload(self.bot_user.id)}},
        }
        if command and command.get("guild_id") and not dm:
            data["guild_id"] = command["guild_id"]
        channel = next(c for c in guild.channels if c.id == msg.channel_id)
        return await self._send_interaction(
            2, guild, member, channel, locale, name, data, timeout=timeout, dm=dm
        )

    async def leave_guild(self, guild: GuildRef) -> None:
        """The bot is removed from ``guild`` (kicked, or the guild deleted): GUILD_DELETE.

        Like Discord, the event has no ``unavailable`` key, so discord.py dispatches
        ``on_guild_remove``; the guild is gone from the world (a later READY omits it).
        """
        g = self.guild(guild)
        await self._dispatch_to_guild(g.id, "GUILD_DELETE", {"id": str(g.id)})
        del self.guilds[g.id]

    async def _send_interaction(
        self,
        kind: int,
        guild: FakeGuild,
        member: FakeMember,
        channel: FakeChannel,
        locale: str,
        name: str,
        data: dict[str, Any],
        *,
        timeout: float,  # noqa: ASYNC109 - a timeout argument, as in asyncio.wait_for
        message: FakeMessage | None = None,
        dm: bool = False,
        require_session: bool = True,
    ) -> InteractionHandle:
        interaction_id = new_id()
        token = f"fake-interaction-token-{interaction_id}-{uuid.uuid4().hex}"
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "token": token,
            "version": 1,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": guild.locale, "features": []},
            "channel_id": str(channel.id),
            "channel": channel.to_payload(),
            "member": member.to_payload(with_permissions=True),
            "app_permissions": str(BOT_PERMISSIONS),
            "locale": locale,
            "guild_locale": guild.locale,
            "entitlements": [],
            "context": 0,
            "authorizing_integration_owners": {"0": str(guild.id)},
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "data": data,
        }
        if message is not None:
            payload["message"] = message.to_payload(self.bot_user.id)
        if dm:
            _as_dm(payload, member)
        handle = InteractionHandle(
            interaction_id=interaction_id,
            token=token,
            type=kind,
            name=name,
            guild=guild,
            member=member,
            payload=payload,
        )
        handle.source_message = message
        self.interactions.append(handle)
        self._handles[interaction_id] = handle
        self._handles_by_token[token] = handle
        # Discord sends DM events to shard 0 (the shard of "guild" 0).
        target = 0 if dm else guild.id
        if require_session:
            await self.wait_connected(timeout, guild=target)
        # Stamped before the write: Discord's 3-second window includes delivery.
        handle.dispatched_at = self.clock()
        handle.delivered_to = await self._dispatch_to_guild(
            target, "INTERACTION_CREATE", payload, required=require_session
        )
        return handle

    # ------------------------------------------------------------------ gateway

    def _spawn_guild_create(self, guild: FakeGuild) -> None:
        sessions = [s for s in self._sessions.values() if s.conn is not None and s.covers(guild.id)]
        for session in sessions:
            bot_member = guild.members[self.bot_user.id]
            # add_guild is synchronous for easy setup; keep a reference so the task
            # is not garbage-collected, and log (not lose) a failure.
            payload = guild.to_payload(bot_member)
            # A guild joined mid-session has no "unavailable" key, which makes
            # discord.py dispatch guild_join rather than guild_available.
            del payload["unavailable"]
            task = asyncio.get_running_loop().create_task(
                self._send_dispatch(session, "GUILD_CREATE", payload)
            )
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("fake Discord background task failed", exc_info=task.exception())

    async def _dispatch_to_guild(
        self,
        guild_id: int,
        event: str,
        data: dict[str, Any],
        *,
        intent: int | None = None,
        required: bool = True,
    ) -> list[GatewayConnection]:
        """Send a guild event to the sessions whose shard covers the guild.

        Returns the connections it was written to (a session that is between
        connections gets it on RESUME instead). ``intent``: only sessions that
        asked for it get the event (Discord stays silent otherwise). ``required``:
        a test-driven event with no session at all is a test bug and raises; an
        echo of a REST call (e.g. the bot's own reaction from a REST-only client),
        or an event a test sends to a shard nobody runs, is simply not delivered.
        """
        sessions = [s for s in self._sessions.values() if s.covers(guild_id)]
        if not sessions:
            if required:
                raise RuntimeError(f"no gateway session to deliver {event} (is the bot running?)")
            return []
        if intent is not None:
            sessions = [s for s in sessions if s.intents & intent]
        delivered = [s.conn.record for s in sessions if s.conn is not None]
        for session in sessions:
            await self._send_dispatch(session, event, data)
        await self._notify()
        return delivered

    async def _send_dispatch(self, session: _Session, event: str, data: dict[str, Any]) -> None:
        conn = session.conn
        if conn is None:
            # Disconnected but resumable: keep it for the RESUME replay.
            session.seq += 1
            self._remember(session, {"op": OP_DISPATCH, "d": data, "s": session.seq, "t": event})
            return
        async with conn.lock:
            session.seq += 1
            frame = {"op": OP_DISPATCH, "d": data, "s": session.seq, "t": event}
            self._remember(session, frame)
            await self._write(conn, frame)

    def _remember(self, session: _Session, frame: dict[str, Any]) -> None:
        session.frames.append(frame)
        del session.frames[: -self.max_replay]

    async def _write(self, conn: _Connection, frame: dict[str, Any]) -> None:
        if frame["op"] == OP_DISPATCH:
            conn.record.record(frame)
        text = json.dumps(frame)
        try:
            if conn.compressor is not None:
                payload = conn.compressor.compress(text.encode()) + conn.compressor.flush(
                    zlib.Z_SYNC_FLUSH
                )
                await conn.ws.send_bytes(payload)
            else:
                await conn.ws.send_str(text)
        except (ConnectionError, RuntimeError) as exc:
            # The client went away mid-write; the session stays resumable.
            _log.debug("gateway write failed: %r", exc)

    async def _send_op(self, conn: _Connection, op: int, data: Any = None) -> None:
        async with conn.lock:
            await self._write(conn, {"op": op, "d": data, "s": None, "t": None})

    async def _ping_loop(self, conn: _Connection) -> None:
        # Real Discord may ask for a heartbeat at any time (op 1); discord.py answers
        # at once. It also keeps an idle connection from hitting heartbeat_timeout.
        while not conn.ws.closed:
            await asyncio.sleep(self.ping_interval)
            await self._send_op(conn, OP_HEARTBEAT)

    def _token_ok(self, token: str | None) -> bool:
        if not token:
            return False
        return self.valid_tokens is None or token in self.valid_tokens

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = _Connection(ws, GatewayConnection(len(self.gateway_connections) + 1))
        self.gateway_connections.append(conn.record)
        if self.zlib_frames and request.query.get("compress") == "zlib-stream":
            conn.compressor = zlib.compressobj()
        self._connections.add(conn)
        session: _Session | None = None
        pinger = asyncio.create_task(self._ping_loop(conn))
        try:
            await self._send_op(conn, OP_HELLO, {"heartbeat_interval": self.heartbeat_interval_ms})
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                packet = json.loads(msg.data)
                op = packet.get("op")
                self.gateway_ops.append(op)
                if op == OP_HEARTBEAT:
                    await self._send_op(conn, OP_HEARTBEAT_ACK)
                elif op == OP_IDENTIFY:
                    session = await self._identify(conn, packet["d"])
                elif op == OP_RESUME:
                    session = await self._resume(conn, packet["d"])
                await self._notify()
        finally:
            pinger.cancel()
            conn.record.closed = True
            self._connections.discard(conn)
            if session is not None and session.conn is conn:
                session.conn = None
                code = conn.server_close_code or ws.close_code
                if code in _SESSION_ENDING_CLOSE_CODES:
                    self._sessions.pop(session.id, None)
            await self._notify()
        return ws

    async def _identify(self, conn: _Connection, data: dict[str, Any]) -> _Session | None:
        self.identifies.append(data)
        conn.record.identifies.append(data)
        if not self._token_ok(data.get("token")):
            await conn.close(AUTHENTICATION_FAILED, b"Authentication failed.")
            return None
        shard, refusal = self.identify_gate.judge(data.get("shard"), self._guild_count)
        if refusal is not None:
            await self._refuse_identify(conn, refusal)
            return None
        assert shard is not None
        shard_id, shard_count = shard
        session = _Session(uuid.uuid4().hex, shard, int(data.get("intents", 0)))
        conn.record.shard, conn.record.session_id = shard, session.id
        guilds = [g for g in self.guilds.values() if session.covers(g.id)]
        ready = {
            "v": 10,
            "user": {
                **self.bot_user.to_payload(),
                "verified": True,
                "mfa_enabled": False,
                "flags": 0,
            },
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "geo_ordered_rtc_regions": [],
            "auth_session_id_hash": "",
            "shard": [shard_id, shard_count],
        }
        self._sessions[session.id] = session
        session.conn = conn
        await self._send_dispatch(session, "READY", ready)
        for guild in guilds:
            bot_member = guild.members[self.bot_user.id]
            await self._send_dispatch(session, "GUILD_CREATE", guild.to_payload(bot_member))
        return session

    def _guild_count(self, shard: tuple[int, int]) -> int:
        shard_id, shard_count = shard
        return sum(1 for g in self.guilds if shard_of(g, shard_count) == shard_id)

    async def _refuse_identify(self, conn: _Connection, refusal: IdentifyRefusal) -> None:
        """Answer a refused IDENTIFY as Discord does: op 9 when too fast, else a close."""
        if refusal.close_code is None:
            conn.record.invalid_sessions += 1
            await self._send_op(conn, OP_INVALID_SESSION, False)
            return
        if refusal.close_code == AUTHENTICATION_FAILED:
            # The daily session starts are spent: Discord ends every session and
            # resets the token, so the old one works nowhere any more.
            self.valid_tokens = set()
            for other in list(self._connections):
                if other is not conn:
                    await other.close(AUTHENTICATION_FAILED, b"Authentication failed.")
        await conn.close(refusal.close_code, refusal.reason.encode())

    async def _resume(self, conn: _Connection, data: dict[str, Any]) -> _Session | None:
        session = self._sessions.get(data.get("session_id", ""))
        if session is None or not self._token_ok(data.get("token")):
            conn.record.invalid_sessions += 1
            await self._send_op(conn, OP_INVALID_SESSION, False)
            return None
        session.conn = conn
        conn.record.shard, conn.record.session_id = session.shard, session.id
        conn.record.resumed = True
        last_seq = int(data.get("seq") or 0)
        async with conn.lock:
            for frame in session.frames:
                if frame["s"] > last_seq:
                    await self._write(conn, frame)
        await self._send_dispatch(session, "RESUMED", {})
        return session

    # ------------------------------------------------------------------ REST plumbing

    def _route(self, method: str, template: str, handler: Handler) -> None:
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self._routes.append((method, template, re.compile(f"^{pattern}$"), handler))

    def _match(self, method: str, path: str) -> tuple[str, Handler, dict[str, str]] | None:
        for route_method, template, pattern, handler in self._routes:
            if route_method == method and (match := pattern.match(path)):
                return template, handler, match.groupdict()
        return None

    async def _read_body(self, request: web.Request) -> _Body:
        body = _Body()
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "payload_json":
                    body.json = json.loads(await part.text())
                    continue
                content = bytes(await part.read())
                index = int(re.sub(r"\D", "", part.name or "") or len(body.files))
                body.files[index] = FakeAttachment(
                    filename=part.filename or f"file{index}",
                    content=content,
                    content_type=part.headers.get("Content-Type"),
                )
        elif request.can_read_body:
            raw = await request.read()
            body.json = json.loads(raw) if raw else None
        return body

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body = await self._read_body(request)
        record = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            json=body.json,
            headers=dict(request.headers),
            files=list(body.files.values()),
            time=self.clock(),
        )
        self.requests.append(record)
        try:
            response = await self._answer(request, path, body, record)
        except Exception as exc:
            # A bug in the fake (or a payload it cannot parse) must fail fast: a 5xx
            # would make discord.py retry with back-off for ~25 s.
            _log.exception("fake Discord failed on %s %s", request.method, path)
            self.errors.append(exc)
            response = error_response(400, 0, f"fake Discord error: {exc!r}")
        record.status = response.status
        await self._notify()
        return response

    async def _answer(
        self, request: web.Request, path: str, body: _Body, record: RecordedRequest
    ) -> web.StreamResponse:
        """Rate limits, then authentication, then the route's handler.

        A :class:`~.errors.DiscordError` from any step is answered with its status
        and body (recorded on ``record.error``); the bucket's headers go on every
        answer that was not rate limited.
        """
        found = self._match(request.method, path)
        template, handler, params = found if found else (None, None, {})
        verdict = self.ratelimits.take(record, template, params)
        if verdict.limited:
            record.error = verdict.body
            return json_response(verdict.body, status=429, headers=verdict.headers)
        try:
            if self.validate_payloads:
                limits.check_files(len(f.content) for f in body.files.values())
            response = await self._authenticated(request, path, body, handler, params)
        except DiscordError as refusal:
            record.error = refusal.body
            response = json_response(refusal.body, status=refusal.status)
        return _with_headers(response, verdict)

    async def _authenticated(
        self,
        request: web.Request,
        path: str,
        body: _Body,
        handler: Handler | None,
        params: dict[str, str],
    ) -> web.StreamResponse:
        # Webhook and interaction routes are authenticated by their token, not the bot's.
        if not path.startswith(("/webhooks/", "/interactions/")):
            auth = request.headers.get("Authorization", "")
            if not auth.startswith("Bot ") or not self._token_ok(auth[4:]):
                raise DiscordError(401, 0, "401: Unauthorized")
        if handler is None:
            raise DiscordError(404, 0, "404: Not Found")
        return await handler(request, body, params)

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        attachment = self._attachments.get(int(request.match_info["attachment_id"]))
        if attachment is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(
            body=attachment.content,
            headers={"Content-Type": attachment.content_type or "application/octet-stream"},
        )

    def _serve_attachment(self, attachment: FakeAttachment, channel_id: int) -> FakeAttachment:
        attachment.url = (
            f"{self.http_url}/attachments/{channel_id}/{attachment.id}/{attachment.filename}"
        )
        self._attachments[attachment.id] = attachment
        return attachment

    def _install_routes(self) -> None:
        app = "{app_id}"
        r = self._route
        r("GET", "/users/@me", self._get_me)
        r("GET", "/users/{user_id}", self._get_user)
        r("GET", "/oauth2/applications/@me", self._get_application)
        r("GET", "/applications/@me", self._get_application)
        r("GET", "/gateway", self._get_gateway)
        r("GET", "/gateway/bot", self._get_gateway_bot)
        r("PUT", f"/applications/{app}/commands", self._put_commands)
        r("PUT", f"/applications/{app}/guilds/{{guild_id}}/commands", self._put_commands)
        r("GET", f"/applications/{app}/commands", self._get_commands)
        r("GET", f"/applications/{app}/guilds/{{guild_id}}/commands", self._get_commands)
        r("GET", f"/applications/{app}/guilds/{{guild_id}}/commands/permissions", self._empty_list)
        r("POST", "/interactions/{interaction_id}/{token}/callback", self._interaction_callback)
        r("POST", f"/webhooks/{app}/{{token}}", self._followup)
        for method in ("GET", "PATCH", "DELETE"):
            r(method, f"/webhooks/{app}/{{token}}/messages/{{message_id}}", self._webhook_message)
        r("GET", "/guilds/{guild_id}", self._get_guild)
        r("GET", "/guilds/{guild_id}/channels", self._get_guild_channels)
        r("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member)
        r("GET", "/channels/{channel_id}", self._get_channel)
        r("POST", "/channels/{channel_id}/messages", self._create_message)
        r("GET", "/channels/{channel_id}/messages", self._list_messages)
        for method in ("GET", "PATCH", "DELETE"):
            r(method, "/channels/{channel_id}/messages/{message_id}", self._channel_message)
        reactions = "/channels/{channel_id}/messages/{message_id}/reactions"
        r("PUT", reactions + "/{emoji}/@me", self._add_own_reaction)
        r("DELETE", reactions + "/{emoji}/{user_id}", self._remove_reaction)
        r("GET", reactions + "/{emoji}", self._reaction_users)

    # ------------------------------------------------------------------ REST: login & gateway

    async def _get_me(self, _req: web.Request, _body: _Body, _p: dict[str, str]) -> web.Response:
        return json_response({**self.bot_user.to_payload(), "verified": True, "flags": 0})

    async def _get_user(self, _req: web.Request, _body: _Body, p: dict[str, str]) -> web.Response:
        user = self.users.get(int(p["user_id"]))
        if user is None:
            raise DiscordError(404, 10013, "Unknown User")
        return json_response(user.to_payload())

    async def _get_application(
        self, _req: web.Request, _body: _Body, _p: dict[str, str]
    ) -> web.Response:
        return json_response(
            {
                "id": str(self.application_id),
                "name": self.bot_user.username,
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.owner.to_payload(),
                "team": None,
                "verify_key": "0" * 64,
                "flags": 0,
                "bot": self.bot_user.to_payload(),
                "approximate_guild_count": len(self.guilds),
                "interactions_endpoint_url": None,
                "redirect_uris": [],
            }
        )

    async def _get_gateway(
        self, _req: web.Request, _body: _Body, _p: dict[str, str]
    ) -> web.Response:
        return json_response({"url": self.gateway_url})

    async def _get_gateway_bot(
        self, _req: web.Request, _body: _Body, _p: dict[str, str]
    ) -> web.Response:
        return json_response(
            {
                "url": self.gateway_url,
                "shards": self.shard_count,
                "session_start_limit": self.session_start_limit.payload(self.clock()),
            }
        )

    # ------------------------------------------------------------------ REST: commands

    def _check_app(self, p: dict[str, str]) -> None:
        if p.get("app_id") != str(self.application_id):
            raise DiscordError(404, 10002, "Unknown Application")

    async def _put_commands(
        self, _req: web.Request, body: _Body, p: dict[str, str]
    ) -> web.Response:
        self._check_app(p)
        guild_id = int(p["guild_id"]) if "guild_id" in p else None
        if guild_id is not None and guild_id not in self.guilds:
            raise DiscordError(403, 50001, "Missing Access")
        payload = body.json or []
        if self.validate_payloads:
            limits.check_commands(payload)
        self.command_syncs.append(CommandSync(guild_id, payload, self.clock()))
        old = self._commands.get(guild_id, {})
        registered: dict[tuple[str, int], dict[str, Any]] = {}
        for command in payload:
            key = (command["name"], command.get("type", 1))
            # Discord keeps a command's id across overwrites when name and type match.
            command_id = old[key]["id"] if key in old else str(new_id())
            registered[key] = self._command_object(command, command_id, guild_id)
        self._commands[guild_id] = registered
        return json_response(list(registered.values()))

    def _command_object(
        self, command: dict[str, Any], command_id: str, guild_id: int | None
    ) -> dict[str, Any]:
        permissions = command.get("default_member_permissions")
        result = {
            **command,
            "id": command_id,
            "application_id": str(self.application_id),
            "version": str(new_id()),
            "type": command.get("type", 1),
            "description": command.get("description", ""),
            "options": command.get("options", []),
            # Discord returns the permission bit set as a string.
            "default_member_permissions": None if permissions is None else str(permissions),
            "nsfw": command.get("nsfw", False),
            "contexts": command.get("contexts"),
            "integration_types": command.get("integration_types") or [0],
        }
        if guild_id is not None:
            result["guild_id"] = str(guild_id)
        return result

    async def _get_commands(
        self, _req: web.Request, _body: _Body, p: dict[str, str]
    ) -> web.Response:
        self._check_app(p)
        guild_id = int(p["guild_id"]) if "guild_id" in p else None
        return json_response(list(self._commands.get(guild_id, {}).values()))

    async def _empty_list(
        self, _req: web.Request, _body: _Body, _p: dict[str, str]
    ) -> web.Response:
        return json_response([])

    # ------------------------------------------------------------------ REST: interactions

    def _new_message(
        self,
        *,
        channel_id: int,
        guild_id: int | None,
        data: dict[str, Any],
        files: dict[int, FakeAttachment],
        interaction_id: int | None = None,
        flags: int = 0,
    ) -> FakeMessage:
        message = FakeMessage(
            id=new_id(),
            channel_id=channel_id,
            guild_id=guild_id,
            author=self.bot_user,
            interaction_id=interaction_id,
            flags=flags,
            created_at=self.clock(),
        )
        # A deferred response starts empty ("thinking..."); anything else must say something.
        self._apply_edit(message, data, files, creating=True, allow_empty=bool(flags & LOADING))
        self.messages[message.id] = message
        return message

    def _apply_edit(
        self,
        message: FakeMessage,
        data: dict[str, Any],
        files: dict[int, FakeAttachment],
        *,
        creating: bool = False,
        allow_empty: bool = False,
    ) -> None:
        """Apply a create/edit payload the way Discord does (absent keys stay as they were).

        Refuses (50006, before changing anything) what would leave the message empty.
        """
        content = (data["content"] or "") if "content" in data else message.content
        if "embeds" in data:
            embeds = list(data["embeds"] or [])
        elif "embed" in data:
            embeds = [data["embed"]] if data["embed"] else []
        else:
            embeds = message.embeds
        components = list(data["components"] or []) if "components" in data else message.components
        if "attachments" in data:
            # The list names what to keep (existing ids) and what is new (file indexes).
            existing = {str(a.id): a for a in message.attachments}
            attachments: list[FakeAttachment] = []
            for item in data["attachments"] or []:
                ref = str(item.get("id"))
                if ref in existing:
                    attachments.append(existing[ref])
                elif ref.isdigit() and int(ref) in files:
                    attachments.append(files[int(ref)])
        else:
            attachments = message.attachments + list(files.values())
        if self.validate_payloads and not allow_empty:
            limits.check_not_empty(
                content=content,
                embeds=embeds,
                attachments=len(attachments),
                components=components,
            )
        message.content, message.embeds, message.components = content, embeds, components
        message.attachments = [
            a if a in message.attachments else self._serve_attachment(a, message.channel_id)
            for a in attachments
        ]
        if not creating:
            message.flags &= ~LOADING
            message.edited_at = self.clock()
        message.history.append(data)

    def _check_message(self, data: Any, files: dict[int, FakeAttachment]) -> dict[str, Any]:
        """The JSON of a message create/edit, checked against Discord's limits."""
        data = data if data is not None else {}
        if self.validate_payloads:
            limits.check_message(data, file_count=len(files))
        return cast(dict[str, Any], data)

    def _handle_for(self, interaction_id: int | None, token: str) -> InteractionHandle | None:
        handle = self._handles_by_token.get(token)
        if handle is None or (interaction_id is not None and handle.id != interaction_id):
            return None
        return handle

    def _webhook_handle(self, p: dict[str, str]) -> InteractionHandle:
        """The interaction behind a followup/edit URL, refused once its token expired."""
        self._check_app(p)
        handle = self._handle_for(None, p["token"])
        if handle is None:
            raise errors.unknown_webhook()
        if (
            self.token_lifetime is not None
            and self.clock() - handle.dispatched_at > self.token_lifetime
        ):
            raise errors.invalid_webhook_token()
        return handle

    async def _interaction_callback(
        self, _req: web.Request, body: _Body, p: dict[str, str]
    ) -> web.Response:
        handle = self._handle_for(int(p["interaction_id"]), p["token"])
        if handle is None:
            raise errors.unknown_interaction()
        payload = body.json or {}
        # An invalid body is refused before it can acknowledge anything, so the bot
        # may still answer correctly within the window.
        if self.validate_payloads:
            limits.check_callback(payload, file_count=len(body.files))
        now = self.clock()
        if handle.callbacks:
            raise errors.already_acknowledged()
        deadline = min(
            (d for d in (self.ack_deadline, self.token_lifetime) if d is not None),
            default=None,
        )
        if deadline is not None and now - handle.dispatched_at > deadline:
            raise errors.unknown_interaction()
        callback_type = int(payload.get("type", 0))
        data = payload.get("data") or {}
        interaction: dict[str, Any] = {"id": str(handle.id), "type": handle.type}
        result: dict[str, Any] = {"interaction": interaction}
        if callback_type in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            flags = int(data.get("flags") or 0) & EPHEMERAL
            if callback_type == DEFERRED_CHANNEL_MESSAGE:
                flags |= LOADING
                message_data: dict[str, Any] = {}
            else:
                message_data = data
            message = self._new_message(
                channel_id=int(handle.payload["channel_id"]),
                guild_id=handle.guild.id if "guild_id" in handle.payload else None,
                data=message_data,
                files=body.files,
                interaction_id=handle.id,
                flags=flags,
            )
            handle.original = message
            interaction.update(
                response_message_id=str(message.id),
                response_message_loading=callback_type == DEFERRED_CHANNEL_MESSAGE,
                response_message_ephemeral=bool(flags & EPHEMERAL),
            )
            result["resource"] = {
                "type": callback_type,
                "message": message.to_payload(self.bot_user.id),
            }
        elif (
            callback_type in (UPDATE_MESSAGE, DEFERRED_UPDATE_MESSAGE)
            and handle.source_message is not None
        ):
            # A component interaction's "original" is the message the component is on.
            if callback_type == UPDATE_MESSAGE:
                self._apply_edit(handle.source_message, data, body.files)
            handle.original = handle.source_message
            interaction.update(response_message_id=str(handle.original.id))
            result["resource"] = {
                "type": callback_type,
                "message": handle.original.to_payload(self.bot_user.id),
            }
        elif callback_type != AUTOCOMPLETE_RESULT:
            result["resource"] = {"type": callback_type}
        # Recorded only once accepted: a refused callback acknowledges nothing.
        handle.callbacks.append(
            InteractionCallback(callback_type, data, list(body.files.values()), now)
        )
        handle.first_callback_at = now
        await handle.notify()
        return json_response(result)

    async def _followup(
        self, req: web.Request, body: _Body, p: dict[str, str]
    ) -> web.StreamResponse:
        handle = self._webhook_handle(p)
        if not handle.callbacks:
            raise errors.unknown_webhook()
        data = self._check_message(body.json, body.files)
        original = handle.original
        if original is not None and original.loading and not handle.followups:
            # Discord's (deprecated) compatibility rule: the first followup after a
            # defer edits the "thinking" message instead of creating a new one.
            self._apply_edit(original, data, body.files)
            message = original
        else:
            message = self._new_message(
                channel_id=int(handle.payload["channel_id"]),
                guild_id=handle.guild.id if "guild_id" in handle.payload else None,
                data=data,
                files=body.files,
                interaction_id=handle.id,
                flags=int(data.get("flags") or 0) & EPHEMERAL,
            )
            handle.followups.append(message)
        await handle.notify()
        if req.query.get("wait", "").lower() in ("1", "true"):
            return json_response(message.to_payload(self.bot_user.id))
        return web.Response(status=204)

    async def _webhook_message(
        self, req: web.Request, body: _Body, p: dict[str, str]
    ) -> web.StreamResponse:
        handle = self._webhook_handle(p)
        if p["message_id"] == "@original":
            message = handle.original
        else:
            message = next((m for m in handle.messages if str(m.id) == p["message_id"]), None)
        if message is None or message.deleted:
            raise DiscordError(404, 10008, "Unknown Message")
        if req.method == "PATCH":
            self._apply_edit(message, self._check_message(body.json, body.files), body.files)
            await handle.notify()
        elif req.method == "DELETE":
            message.deleted = True
            await handle.notify()
            return web.Response(status=204)
        return json_response(message.to_payload(self.bot_user.id))

    # ------------------------------------------------------------------ REST: guilds & channels

    def _find_channel(self, channel_id: str) -> FakeChannel | None:
        for guild in self.guilds.values():
            for channel in guild.channels:
                if str(channel.id) == channel_id:
                    return channel
        return None

    async def _get_guild(self, _req: web.Request, _body: _Body, p: dict[str, str]) -> web.Response:
        guild = self.guilds.get(int(p["guild_id"]))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        payload = guild.to_payload(guild.members[self.bot_user.id])
        for key in ("members", "channels", "threads", "voice_states", "presences", "joined_at"):
            payload.pop(key, None)
        return json_response(payload)

    async def _get_guild_channels(
        self, _req: web.Request, _body: _Body, p: dict[str, str]
    ) -> web.Response:
        guild = self.guilds.get(int(p["guild_id"]))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        return json_response([c.to_payload() for c in guild.channels])

    async def _get_member(self, _req: web.Request, _body: _Body, p: dict[str, str]) -> web.Response:
        guild = self.guilds.get(int(p["guild_id"]))
        member = guild.members.get(int(p["user_id"])) if guild else None
        if member is None:
            raise DiscordError(404, 10007, "Unknown Member")
        return json_response(member.to_payload())

    async def _get_channel(
        self, _req: web.Request, _body: _Body, p: dict[str, str]
    ) -> web.Response:
        channel = self._find_channel(p["channel_id"])
        if channel is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        return json_response(channel.to_payload())

    async def _create_message(
        self, _req: web.Request, body: _Body, p: dict[str, str]
    ) -> web.Response:
        channel = self._find_channel(p["channel_id"])
        if channel is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        data = self._check_message(body.json, body.files)
        message = self._new_message(
            channel_id=channel.id, guild_id=channel.guild_id, data=data, files=body.files
        )
        return json_response(message.to_payload(self.bot_user.id))

    async def _list_messages(
        self, req: web.Request, _body: _Body, p: dict[str, str]
    ) -> web.Response:
        channel = self._find_channel(p["channel_id"])
        if channel is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        limit = int(req.query.get("limit", "50"))
        newest_first = list(reversed(self.channel_messages(channel)))[:limit]
        return json_response([m.to_payload(self.bot_user.id) for m in newest_first])

    def _existing_message(self, p: dict[str, str]) -> FakeMessage:
        message = self.messages.get(int(p["message_id"]))
        if message is None or message.deleted or str(message.channel_id) != p["channel_id"]:
            raise DiscordError(404, 10008, "Unknown Message")
        return message

    async def _channel_message(
        self, req: web.Request, body: _Body, p: dict[str, str]
    ) -> web.Response:
        message = self._existing_message(p)
        if req.method == "PATCH":
            self._apply_edit(message, self._check_message(body.json, body.files), body.files)
        elif req.method == "DELETE":
            message.deleted = True
            return web.Response(status=204)
        return json_response(message.to_payload(self.bot_user.id))

    # ------------------------------------------------------------------ REST: reactions

    async def _add_own_reaction(
        self, _req: web.Request, _body: _Body, p: dict[str, str]
    ) -> web.Response:
        message = self._existing_message(p)
        key = emoji_key(p["emoji"])
        if self.validate_payloads:
            limits.check_reaction_count(message.reactions, key, MAX_DISTINCT_REACTIONS)
        users = message.reactions.setdefault(key, [])
        if self.bot_user.id not in users:
            users.append(self.bot_user.id)
            if message.guild_id is not None:
                # Discord echoes the bot's own reaction over the gateway as well.
                bot_member = self.guild(message.guild_id).members[self.bot_user.id]
                await self._send_reaction_event(
                    "MESSAGE_REACTION_ADD", message, bot_member, key, required=False
                )
        return web.Response(status=204)

    async def _remove_reaction(
        self, _req: web.Request, _body: _Body, p: dict[str, str]
    ) -> web.Response:
        message = self._existing_message(p)
        key = emoji_key(p["emoji"])
        user_id = self.bot_user.id if p["user_id"] == "@me" else int(p["user_id"])
        users = message.reactions.get(key, [])
        if user_id in users:
            users.remove(user_id)
            if message.guild_id is not None:
                member = self.guild(message.guild_id).members.get(user_id)
                if member is not None:
                    await self._send_reaction_event(
                        "MESSAGE_REACTION_REMOVE", message, member, key, required=False
                    )
        return web.Response(status=204)

    async def _reaction_users(
        self, req: web.Request, _body: _Body, p: dict[str, str]
    ) -> web.Response:
        """Who reacted, as Discord pages it: by user id, ``limit`` (1-100, default 25)
        users after the ``after`` user id (a form error otherwise)."""
        message = self._existing_message(p)
        form = limits.FormErrors()
        limit = after = 0
        try:
            limit = int(req.query.get("limit", "25"))
            if not 1 <= limit <= 100:
                form.add(("limit",), "NUMBER_TYPE_MAX", "int value should be between 1 and 100.")
        except ValueError:
            form.add(("limit",), "NUMBER_TYPE_COERCE", "Value is not int.")
        try:
            after = int(req.query.get("after", "0"))
        except ValueError:
            form.add(("after",), "NUMBER_TYPE_COERCE", "Value is not snowflake.")
        form.raise_if_any()
        users = message.reactions.get(emoji_key(p["emoji"]), [])
        page = sorted(u for u in users if u > after and u in self.users)[:limit]
        return json_response([self.users[u].to_payload() for u in page])


def _with_headers(response: web.StreamResponse, verdict: Verdict) -> web.StreamResponse:
    response.headers.update(verdict.headers)
    return response


def _as_dm(payload: dict[str, Any], member: FakeMember) -> None:
    """Turn a guild interaction payload into one from the member's DM with the bot.

    As Discord sends it: no ``guild_id``, ``guild``, ``member`` or ``guild_locale``;
    a ``user``; a DM channel (type 1); context 1 (BOT_DM); and for a guild-installed
    app ``authorizing_integration_owners`` ``{"0": "0"}``.
    """
    user = member.user.to_payload()
    channel_id = str(new_id())
    for key in ("guild_id", "guild", "member", "guild_locale"):
        payload.pop(key, None)
    payload.update(
        user=user,
        channel_id=channel_id,
        channel={"id": channel_id, "type": 1, "recipients": [user], "last_message_id": None},
        context=1,
        authorizing_integration_owners={"0": "0"},
    )


def _find_button(
    message: FakeMessage, *, label: str | None, custom_id: str | None
) -> dict[str, Any]:
    """The button on ``message`` with this label or custom id (from its action rows)."""
    for row in message.components:
        for component in row.get("components", []):
            if component.get("type") != 2:
                continue
            if (label is not None and component.get("label") == label) or (
                custom_id is not None and component.get("custom_id") == custom_id
            ):
                return component
    labels = [c.get("label") for r in message.components for c in r.get("components", [])]
    raise AssertionError(f"no button {label or custom_id!r} on the message; buttons: {labels}")


def _infer_option_type(value: Any) -> int:
    """Application command option type for a Python value (when nothing was synced)."""
    if isinstance(value, FakeAttachment):
        return 11
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    return 3
