"""A fake Discord (REST + gateway) on 127.0.0.1 that runs the real discord.py client.

The bot under test is the real ``commands.Bot``: it logs in over REST, connects to
the gateway (HELLO, IDENTIFY, READY, GUILD_CREATE, heartbeats, RESUME), syncs its
commands, and answers interactions over HTTP, exactly as against Discord. Only
the URLs differ (:func:`bot.infra.discord_urls.apply_discord_urls`, the same settings
``DISCORD_API_URL`` / ``DISCORD_GATEWAY_URL`` a REST or gateway proxy uses).
Protocol: https://discord.com/developers/docs/events/gateway and
https://discord.com/developers/docs/interactions/receiving-and-responding, and what
discord.py 2.7.1 reads (``gateway.py``, ``http.py``, ``interactions.py``); the traps
are commented where :mod:`.server` handles them.

Setting up the world::

    async with running_fake_discord(guilds=["Rock Club"]) as fake:
        guild = fake.guild("Rock Club")                    # has #general, owner, bot
        admin = fake.add_member(guild, "alice", permissions=MANAGE_GUILD)
        member = fake.add_member(guild, "bob")             # @everyone permissions only
        other = fake.add_guild("Jazz Club")                # more guilds, channels, roles
        fake.add_channel(guild, "music"); fake.add_role(guild, "DJ", MANAGE_GUILD)

Running a bot (construct it with ``Intents`` ``guilds`` + ``guild_reactions``)::

    async with running_bot(MyBot(), fake) as bot:          # ready, all guilds cached
        await bot.tree.sync(guild=discord.Object(guild.id))
        fake.command_syncs[-1].payload                     # what discord.py sent
        fake.command("recommend", guild)                   # as Discord returned it (id...)

        choices = await fake.autocomplete(guild, member, "recommend", focused="song", value="so")

        handle = await fake.invoke(guild, member, "recommend", options={"song": "x", "count": 3})
        first = await handle.wait_response()               # InteractionCallback
        first.type, first.deferred, first.ephemeral, first.embeds
        final = await handle.wait_final()                  # FakeMessage after edits/followups
        final.content, final.embed, final.attachments, final.reactions
        handle.ack_latency                                 # dispatch -> first callback, seconds

        await fake.react(member, final, "👍")              # MESSAGE_REACTION_ADD (+ member)
        await fake.unreact(member, final, "👍")            # MESSAGE_REACTION_REMOVE

        press = await fake.click(member, final, label="Confirm")  # button: interaction type 3
        await press.wait_final(lambda m: "Done" in m.content)      # type 7 edits that message

        await fake.leave_guild(guild)                      # GUILD_DELETE: on_guild_remove

        fake.rate_limit(1, method="PUT", path="/channels/*/reactions/*")  # next call: 429
        await fake.disconnect(4000)                        # the client RESUMEs
        fake.advance(15 * 60)                              # interaction tokens expire
        fake.refusals(50035)                               # requests Discord would refuse

Strict like Discord, by default (each rule has a named knob on :class:`FakeDiscord`;
a test that turns one off says why in a comment):

- payload limits (:mod:`.limits`, ``validate_payloads``): content 2,000; 10 embeds;
  title 256, description 4,096, 25 fields, field name 1-256 and value 1-1,024,
  footer 2,048, author 256, 6,000 in all; autocomplete at most 25 choices, names
  1-100, string values up to 100; modals; command sync (names, descriptions,
  option order, choices). Refused with 400 / 50035 "Invalid Form Body" and the
  ``errors`` tree (``{"data": {"content": {"_errors": [{"code":
  "BASE_TYPE_MAX_LENGTH", ...}]}}}``); an empty message with 50006; a file over
  10 MiB with 413 / 40005; a 21st distinct reaction with 30010 (also for
  :meth:`FakeDiscord.react`, which raises :class:`DiscordError`). A refused
  interaction callback acknowledges nothing.
- rate limits (:mod:`.ratelimits`, ``rate_limits``, ``global_rate_limit``): per-route
  buckets with ``X-RateLimit-*`` headers on every answer (reactions 1 per 0.25 s
  per channel, interaction followups/edits 5 per 2 s per token, channel messages
  5 per 5 s), 50 requests/s for the bot outside interaction endpoints, and
  Discord's 429 (``Retry-After``, ``Via``, ``{"message", "retry_after",
  "global"}``). discord.py paces itself from the headers: twenty reactions take
  about 5 s, as on Discord, so wait on conditions with generous timeouts.
- time (:mod:`.clock`): the first response within 3 s of dispatch, real time
  (``ack_deadline``; later: 404 / 10062), a second one 400 / 40060; followups and
  edits 15 minutes on the fake's clock (``token_lifetime``; later: 401 / 50027
  "Invalid Webhook Token"), moved with :meth:`FakeDiscord.advance`.
- gateway: zlib-stream binary frames (one compressor per connection, each
  message ending in ``00 00 ff ff``) when the client asks for them, as
  discord.py does (``zlib_frames``).
- shards (:mod:`.sharding`): ``GET /gateway/bot`` answers ``shard_count`` and a
  ``session_start_limit`` (:class:`SessionStartLimit`: total, remaining,
  reset_after, max_concurrency; Discord's 1,000 a day and max_concurrency 1 by
  default) that counts down with every session started; IDENTIFY's ``[shard_id,
  shard_count]`` is checked (4010 if invalid or off ``shard_multiple``; 4011 for
  a session over ``max_guilds_per_shard``, 2,500); at most ``max_concurrency``
  IDENTIFYs per 5 s, one per key ``shard_id % max_concurrency``, on the fake's
  clock (faster: Invalid Session, op 9; a restart within 5 s meets it too, so a
  test restarting a bot at once says ``fake.advance(IDENTIFY_WINDOW)``); spent
  session starts end every session with 4004 and the token stops working. Guild
  events (GUILD_CREATE/DELETE, reactions, interactions) go only to the sessions
  whose shard owns the guild (``(guild_id >> 22) % shard_count``), DMs to shard 0.

The pieces:

- :class:`FakeDiscord`: the server and the world. Setup: ``add_guild``,
  ``add_channel``, ``add_role``, ``add_user``, ``add_member`` (permission bits as
  an int such as :data:`MANAGE_GUILD` or a ``discord.Permissions``; an
  interaction's ``member.permissions`` is @everyone | roles | extra, everything
  for the owner or ADMINISTRATOR). URLs: ``api_url``, ``gateway_url``. Driving:
  ``invoke`` (slash command; ``"group sub"`` names; option types taken from the
  synced command, else from the value; a :class:`FakeAttachment` value becomes
  an attachment option whose URL the fake serves), ``dispatch_autocomplete`` /
  ``autocomplete``, ``react`` / ``unreact``, ``click`` (a button press on a bot
  message, found by label or custom id in its recorded components),
  ``post_message`` (a member's message; the bot gets no event) and
  ``invoke_message_command`` (a message context-menu command run on it, the
  message resolved in the interaction as Discord sends it),
  ``leave_guild`` (the bot is removed: GUILD_DELETE), ``disconnect``;
  ``add_guild(name, shard=k)`` puts a guild on shard ``k`` of ``shard_count``;
  ``invoke(..., require_session=False)`` sends to a shard nobody may run
  (``handle.delivered_to`` lists the connections it reached). Inspection:
  ``requests`` (:class:`RecordedRequest`: method, path, query, json, headers,
  files, time on the fake's clock, status) and ``find_requests(method, path_glob)``;
  ``command_syncs`` (:class:`CommandSync`), ``commands(guild)``,
  ``command(name, guild)``; ``messages`` / ``channel_messages(channel)``
  (:class:`FakeMessage`: content, embeds, attachments with bytes, flags,
  ``reactions`` emoji -> user ids, ``history`` of create/edit payloads);
  ``interactions`` (handles); ``gateway_ops`` and ``identifies``;
  ``gateway_connections`` (:class:`GatewayConnection`, one per websocket: shard,
  IDENTIFYs, Invalid Sessions, every event with its guild ids, close code),
  ``serving(guild)`` (the live connections owning a guild), ``identify_refusals``
  and ``session_start_limit``; ``errors``
  (exceptions inside the fake, answered with a 400 so the client fails fast);
  ``wait_until(predicate)`` re-checked after every request and event;
  ``refusals(*codes)`` the requests refused with a Discord error (each
  :class:`RecordedRequest` has ``status``, ``error`` body and ``error_code``).
  Faults: ``rate_limit(count, method=, path=, retry_after=, is_global=)`` answers
  the next matching calls with a 429. Time: ``now()``, ``advance(seconds)``.
- :class:`InteractionHandle`: ``wait_response``, ``wait_final(predicate=None)``,
  ``callbacks`` (accepted ones only), ``original``, ``followups``, ``messages``,
  ``dispatched_at`` / ``first_callback_at`` (the fake's clock, which reads as
  ``time.monotonic()`` until a test advances it) and ``ack_latency``.
- :func:`running_fake_discord`, :func:`running_bot`, :func:`start_bot`,
  :func:`stop_bot`: lifecycles for pytest (no leaked sessions or tasks).
  ``running_bot`` sets the client's ``guild_ready_timeout`` to 0 (else
  ``on_ready`` waits 2 s) and returns once every fake guild is cached. An
  ``AutoShardedBot`` works too (``shard_count=`` on the fake): discord.py waits
  5 s before every IDENTIFY but the first (ignoring ``max_concurrency``); a test
  that overrides the public ``before_identify_hook`` to skip the wait must give
  the fake a ``max_concurrency`` covering its shards, or meet Invalid Session.
  ``running_bot`` waits only for the guilds of the client's own shards. A
  restart means a new client instance against the same fake (a closed
  discord.py client cannot be started again).

Behaviour matching Discord: the bot's own ``add_reaction`` is echoed as
MESSAGE_REACTION_ADD (with ``member``); reaction events go only to sessions that
asked for the ``guild_reactions`` intent; MESSAGE_REACTION_REMOVE carries no
``member``; the first followup after a defer edits the "thinking" message;
ephemeral messages never appear in channel listings; command ids are stable
across overwrites; GUILD_CREATE lists only the bot as member (no members
intent); a session closed with 1000/1001 cannot be resumed, any other close can.

Not implemented: MESSAGE_CREATE/UPDATE events (the bot has no message intents),
DMs, threads, select menus and modal submissions (buttons only; a modal
callback is validated and accepted), voice, member chunking, zstd-stream,
shared-scope rate limits, the 10,000-invalid-requests ban.
"""

from .clock import FakeClock
from .connections import DeliveredEvent, GatewayConnection
from .errors import DiscordError
from .harness import running_bot, running_fake_discord, start_bot, stop_bot
from .interactions import (
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    MODAL,
    InteractionCallback,
    InteractionHandle,
)
from .models import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    EPHEMERAL,
    MANAGE_GUILD,
    CommandSync,
    FakeAttachment,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    RecordedRequest,
)
from .ratelimits import RateLimitRule
from .server import FakeDiscord, json_response
from .sharding import (
    IDENTIFY_WINDOW,
    IdentifyRefusal,
    SessionStartLimit,
    new_id_on_shard,
    shard_of,
)

__all__ = [
    "ADMINISTRATOR",
    "ALL_PERMISSIONS",
    "AUTOCOMPLETE_RESULT",
    "CHANNEL_MESSAGE",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "DEFERRED_CHANNEL_MESSAGE",
    "EPHEMERAL",
    "IDENTIFY_WINDOW",
    "MANAGE_GUILD",
    "MODAL",
    "CommandSync",
    "DeliveredEvent",
    "DiscordError",
    "FakeAttachment",
    "FakeChannel",
    "FakeClock",
    "FakeDiscord",
    "FakeGuild",
    "FakeMember",
    "FakeMessage",
    "FakeRole",
    "FakeUser",
    "GatewayConnection",
    "IdentifyRefusal",
    "InteractionCallback",
    "InteractionHandle",
    "RateLimitRule",
    "RecordedRequest",
    "SessionStartLimit",
    "json_response",
    "new_id_on_shard",
    "running_bot",
    "running_fake_discord",
    "shard_of",
    "start_bot",
    "stop_bot",
]
