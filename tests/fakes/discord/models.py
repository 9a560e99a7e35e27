"""The fake Discord's world: users, guilds, channels, roles, members, messages.

Each object knows how to render itself as the JSON payload Discord would send,
including the fields discord.py 2.7 reads with ``data[...]`` (a missing one is a
``KeyError`` inside the client: e.g. discord.py 2.7.1 ``interactions.py:215-232`` for an
interaction, ``raw_models.py:248`` for a reaction's ``type``).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_APPLICATION_COMMANDS = 1 << 31
ALL_PERMISSIONS = (1 << 53) - 1

#: What @everyone may do in a fresh server, roughly (no management bits).
DEFAULT_EVERYONE_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | ADD_REACTIONS
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_APPLICATION_COMMANDS
)

# Message flags.
EPHEMERAL = 1 << 6
LOADING = 1 << 7

# Gateway intents the fake filters on.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10

TIMESTAMP = "2024-01-01T00:00:00+00:00"

# Snowflake-sized ids (18 digits, like Discord's), unique per process so that two
# fakes in one test never hand out the same id.
_ids = itertools.count(1_200_000_000_000_000_000)


def new_id() -> int:
    """A fresh snowflake-sized id."""
    return next(_ids)


@dataclass
class FakeUser:
    """A Discord user (a human unless ``bot``)."""

    id: int
    username: str
    bot: bool = False
    global_name: str | None = None

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
        }
        if self.bot:
            payload["bot"] = True
        return payload


@dataclass
class FakeRole:
    """A guild role; the @everyone role has the guild's id."""

    id: int
    name: str
    permissions: int = 0
    position: int = 0

    def to_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass
class FakeChannel:
    """A guild text channel."""

    id: int
    guild_id: int
    name: str
    position: int = 0

    def to_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": 0,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }


@dataclass
class FakeMember:
    """A user's membership of one guild, with the permissions Discord would compute."""

    user: FakeUser
    guild: FakeGuild = field(repr=False)
    roles: list[FakeRole] = field(default_factory=list)
    #: Extra permission bits granted to this member beyond @everyone and roles
    #: (a stand-in for a role, so tests can say "an admin" in one argument).
    extra_permissions: int = 0
    nick: str | None = None

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def permissions(self) -> int:
        """Guild-level permissions: @everyone | roles | extra; ADMINISTRATOR means all."""
        if self.guild.owner_id == self.user.id:
            return ALL_PERMISSIONS
        value = self.guild.everyone.permissions | self.extra_permissions
        for role in self.roles:
            value |= role.permissions
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

    def to_payload(self, *, with_permissions: bool = False) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "user": self.user.to_payload(),
            "roles": [str(r.id) for r in self.roles],
            "flags": 0,
            "joined_at": TIMESTAMP,
            "nick": self.nick,
            "avatar": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "premium_since": None,
            "communication_disabled_until": None,
        }
        if with_permissions:
            # Only interaction payloads carry the computed permissions.
            payload["permissions"] = str(self.permissions)
        return payload


@dataclass
class FakeGuild:
    """A guild with its @everyone role, channels and members."""

    id: int
    name: str
    owner_id: int
    everyone: FakeRole
    channels: list[FakeChannel] = field(default_factory=list)
    roles: list[FakeRole] = field(default_factory=list)
    members: dict[int, FakeMember] = field(default_factory=dict, repr=False)
    locale: str = "en-US"

    @property
    def default_channel(self) -> FakeChannel:
        """The first channel (``#general`` unless the test configured otherwise)."""
        return self.channels[0]

    def channel(self, name: str) -> FakeChannel:
        """The channel called ``name``."""
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(f"no channel {name!r} in guild {self.name!r}")

    def member(self, user: FakeUser | FakeMember | int) -> FakeMember:
        """The membership of ``user`` (a user, a member or an id) in this guild."""
        user_id = user if isinstance(user, int) else user.id
        try:
            return self.members[user_id]
        except KeyError:
            raise KeyError(f"user {user_id} is not a member of guild {self.name!r}") from None

    def to_payload(self, bot_member: FakeMember) -> dict[str, Any]:
        """The GUILD_CREATE payload. Without the members intent Discord sends only the bot."""
        return {
            "id": str(self.id),
            "name": self.name,
            "unavailable": False,
            "owner_id": str(self.owner_id),
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "features": [],
            "member_count": len(self.members),
            "large": False,
            "joined_at": TIMESTAMP,
            "preferred_locale": self.locale,
            "system_channel_id": str(self.default_channel.id) if self.channels else None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "max_members": 500000,
            "roles": [self.everyone.to_payload()] + [r.to_payload() for r in self.roles],
            "channels": [c.to_payload() for c in self.channels],
            "members": [bot_member.to_payload()],
            "emojis": [],
            "stickers": [],
            "threads": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }


@dataclass
class FakeAttachment:
    """A file: one uploaded by the bot, or one a test passes as a command option."""

    filename: str
    content: bytes
    content_type: str | None = None
    id: int = field(default_factory=new_id)
    #: Set by the fake once it serves the file (``GET /attachments/...``).
    url: str = ""

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.content),
            "url": self.url,
            "proxy_url": self.url,
        }
        if self.content_type:
            payload["content_type"] = self.content_type
        return payload


@dataclass
class FakeMessage:
    """A message the bot created: in a channel, or as an interaction response or followup."""

    id: int
    channel_id: int
    guild_id: int | None
    author: FakeUser
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[FakeAttachment] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0
    #: Emoji (as discord.py sends it in the URL: "👍" or "name:id") -> user ids, in order.
    reactions: dict[str, list[int]] = field(default_factory=dict)
    #: The interaction this message answers (original response or followup).
    interaction_id: int | None = None
    #: The payloads of every create/edit, oldest first (the first is the creation).
    history: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    #: The fake's clock at creation and at the last edit.
    created_at: float = field(default_factory=time.monotonic)
    edited_at: float | None = None

    @property
    def ephemeral(self) -> bool:
        """Whether only the invoking user sees it (flag 64)."""
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        """A deferred "Bot is thinking..." response not yet edited (flag 128)."""
        return bool(self.flags & LOADING)

    @property
    def edits(self) -> int:
        """How many times it was edited after creation."""
        return max(0, len(self.history) - 1)

    @property
    def embed(self) -> dict[str, Any] | None:
        """The first embed, if any (most bot replies have one)."""
        return self.embeds[0] if self.embeds else None

    def reactions_by(self, user_id: int) -> list[str]:
        """The emoji that ``user_id`` has on this message."""
        return [emoji for emoji, users in self.reactions.items() if user_id in users]

    def to_payload(self, bot_user_id: int | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "type": 0 if self.interaction_id is None else 20,
            "content": self.content,
            "author": self.author.to_payload(),
            "embeds": self.embeds,
            "attachments": [a.to_payload() for a in self.attachments],
            "components": self.components,
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": TIMESTAMP,
            "edited_timestamp": TIMESTAMP if self.edits else None,
            "flags": self.flags,
            "reactions": [
                {
                    "emoji": emoji_payload(emoji),
                    "count": len(users),
                    "count_details": {"burst": 0, "normal": len(users)},
                    "me": bot_user_id in users,
                    "me_burst": False,
                    "burst_colors": [],
                }
                for emoji, users in self.reactions.items()
                if users
            ],
        }
        if self.guild_id is not None:
            payload["guild_id"] = str(self.guild_id)
        if self.interaction_id is not None:
            payload["webhook_id"] = str(self.author.id)
        return payload


def emoji_key(emoji: str) -> str:
    """Normalise an emoji as a test may write it ("<:name:id>", "name:id", "👍")."""
    emoji = emoji.strip()
    if emoji.startswith("<") and emoji.endswith(">"):
        emoji = emoji[1:-1].removeprefix("a:").removeprefix(":")
    return emoji


def emoji_payload(emoji: str) -> dict[str, Any]:
    """The gateway/REST emoji object for a unicode emoji or a custom "name:id"."""
    name, sep, emoji_id = emoji_key(emoji).rpartition(":")
    if sep and emoji_id.isdigit():
        return {"id": emoji_id, "name": name, "animated": False}
    return {"id": None, "name": emoji}


@dataclass
class RecordedRequest:
    """One REST request the client made, as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    #: The JSON body; for multipart, the ``payload_json`` part.
    json: Any
    headers: dict[str, str]
    #: Files of a multipart body, in order.
    files: list[FakeAttachment]
    #: The fake's clock (``time.monotonic()`` unless a test advanced it) on arrival.
    time: float
    status: int = 0
    #: Discord's error body when the fake refused the request (4xx, 429), else ``None``.
    error: dict[str, Any] | None = None

    @property
    def error_code(self) -> int | None:
        """The JSON error ``code`` of a refusal (50035, 30010, 10062...), else ``None``."""
        return None if self.error is None else self.error.get("code")

    @property
    def route(self) -> str:
        """``"METHOD /path"``, handy in assertion messages."""
        return f"{self.method} {self.path}"


@dataclass
class CommandSync:
    """One bulk overwrite of application commands (``tree.sync``)."""

    #: ``None`` for a global sync.
    guild_id: int | None
    #: The command list discord.py sent, unchanged.
    payload: list[dict[str, Any]]
    time: float
