"""Hostile names through the real bot and the strict fake Discord.

Track, artist, album and playlist names built to phish (masked links), ping
(mentions), disguise (bidi and zero-width characters), overflow (5,000
characters) or vanish (empty); CSV files with thousands of long headers; an
ambiguous song whose candidates have long names. Each test asserts what Discord
received: every payload within Discord's limits, no clickable link except the
bot's own open.spotify.com links, no mention syntax, no disguising characters,
and an answer for the member every time.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.errors import REFUSED_ANSWER
from bot.render import rating_scheme
from tests.discord_payloads import disguises, foreign_links, hostile_problems, links
from tests.e2e.world import (
    World,
    recommend_answer,
    running_music_bot,
    running_world,
    stored_recommendation,
    wait_rating,
)
from tests.fakes.discord import FakeAttachment

PHISHING = "Free Nitro](https://evil.example/claim) [x"
HOSTILE_NAMES = [
    PHISHING,
    "[Click me](https://evil.example/a)",
    "@everyone @here free nitro",
    "<@111111111111111111> <@&222222222222222222> <#333333333333333333> </recommend:4444444>",
    "x" * 5000,
    "",
    "   \n\t  ",
    "\u200b\u200b\u200b",
    "\u3164",
    "\u202eevil\u202c normal \u2066hidden\u2069 \u200fname",
    "# Heading\n> quote\n```code``` ||spoiler|| -# sub",
    "discord.gg/evil https://evil.example/x <https://evil.example/y>",
    "Joey Bada$$ **bold** __under__ `tick`",
    '=HYPERLINK("https://evil.example","ok")',
    "Normal Song",
]
HOSTILE_ARTISTS = [
    ["Evil](https://evil.example) [x"],
    ["<@111111111111111111>", "@everyone"],
    ["y" * 5000],
    [""],
    ["\u202eReversed\u202c"],
]
HOSTILE_PLAYLIST = "Club](https://evil.example/p) @everyone \u202e<@111111111111111111>\n# big"


def sent_payloads(world: World) -> Iterator[dict[str, Any]]:
    """Every message or autocomplete payload the bot sent to Discord, as Discord got it."""
    for request in world.discord.requests:
        body = request.json if isinstance(request.json, dict) else None
        if body is None:
            continue
        if request.path.endswith("/callback"):
            data = body.get("data")
            if isinstance(data, dict):
                yield data
        elif "/webhooks/" in request.path or request.path.endswith("/messages"):
            yield body


def check_everything_sent(world: World, *, allowed_mentions: Iterable[str] = ()) -> None:
    """Assert the whole conversation was fit for Discord and for strangers."""
    payloads = list(sent_payloads(world))
    assert payloads, "the bot sent nothing"
    assert hostile_problems(payloads, allowed_mentions) == []
    refused = [(r.route, r.status, r.error) for r in world.discord.refusals()]
    assert refused == [], refused


def hostile_tracks(world: World) -> list[str]:
    """Add the hostile tracks to the fake Spotify; returns their ids in HOSTILE_NAMES order."""
    return [
        world.spotify.add_track(
            name=name,
            artists=HOSTILE_ARTISTS[i % len(HOSTILE_ARTISTS)],
            album=HOSTILE_NAMES[(i + 3) % len(HOSTILE_NAMES)],
        )
        for i, name in enumerate(HOSTILE_NAMES)
    ]


async def add_hostile_playlist(world: World, track_ids: list[str]) -> str:
    """The admin adds a playlist of hostile tracks with a hostile title; returns the summary."""
    playlist_id = world.spotify.add_playlist(track_ids, name=HOSTILE_PLAYLIST)
    handle = await world.discord.invoke(
        world.guild, world.admin, "setplaylist", options={"playlist": playlist_id}
    )
    final = await handle.wait_final(lambda m: "Added" in (m.content or ""), timeout=20)
    return final.content


async def test_hostile_names_never_become_links_mentions_or_oversized_payloads(
    tmp_path: Path,
) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        ids = hostile_tracks(world)
        summary = await add_hostile_playlist(world, ids)
        assert "Club" in summary and links(summary) == []

        # Autocomplete: every choice 1-100 characters (an empty name would void the list).
        for typed in ("", "free", "x", "evil", "everyone", "normal"):
            choices = await world.discord.autocomplete(
                world.guild, world.member, "recommend", focused="song", value=typed
            )
            assert 1 <= len(choices) <= 25, typed
            assert all(1 <= len(c["name"]) <= 100 and c["name"].strip() for c in choices)

        # /recommend for the phishing track: ten hostile suggestions in one embed.
        handle = await world.discord.invoke(
            world.guild, world.member, "recommend", options={"song": ids[0], "count": 10}
        )
        message = await handle.wait_final(lambda m: bool(m.attachments), timeout=20)
        embed = message.embed
        assert embed is not None
        assert "Free Nitro" in embed["title"]
        description = embed["description"]
        targets = links(description)
        assert len(targets) == 10
        assert all(t.startswith("https://open.spotify.com/track/") for t in targets)
        assert foreign_links(description) == []

        # Rate five suggestions; the ratings views show the same names.
        stored = await stored_recommendation(bot, world.guild.id, message.id)
        assert stored is not None
        for position in range(5):
            await world.discord.react(world.member, message, rating_scheme.LIKE_EMOJIS[position])
        for item in stored.items[:5]:
            await wait_rating(bot, world.guild.id, world.member.id, item.track_id)

        for command in ("myratings", "profile", "stats", "playlists"):
            handle = await world.discord.invoke(world.guild, world.member, command)
            await handle.wait_final(timeout=20)
        export = await world.discord.invoke(world.guild, world.member, "exportmyratings")
        exported = await export.wait_final()
        check_export(exported.attachments[0].content)

        check_everything_sent(
            world, allowed_mentions={f"<@{world.admin.id}>", f"<@{world.member.id}>"}
        )


def check_export(data: bytes) -> None:
    """The CSV file: one clean line per cell, nothing a spreadsheet would run."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 5
    for row in rows:
        for column in ("name", "artists", "album"):
            cell = row[column]
            assert "\n" not in cell and disguises(cell) == []
            assert not cell.startswith(("=", "+", "-", "@")), cell


async def test_typed_hostile_text_is_echoed_safely(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world):
        await add_hostile_playlist(world, hostile_tracks(world))
        typed = [
            "[Nitro](https://evil.example/typed) <@111111111111111111> @everyone",
            "z" * 5000 + "](https://evil.example)",
            "\u202e\u200b",
        ]
        for text in typed:
            handle = await world.discord.invoke(
                world.guild, world.member, "recommend", options={"song": text}
            )
            answer = await recommend_answer(handle, timeout=20)
            assert answer.content or answer.embeds
        check_everything_sent(world)


def csv_file(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


async def test_a_csv_with_thousands_of_long_headers_gets_a_short_useful_answer(
    tmp_path: Path,
) -> None:
    header = [f"column {i} " + "h" * 200 + " [x](https://evil.example)" for i in range(3000)]
    data = csv_file(header, [["v"] * len(header)])
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        upload = FakeAttachment("**headers**_@everyone_#1.csv", data)
        handle = await world.discord.invoke(
            world.guild, world.admin, "setplaylist", options={"file": upload}
        )
        answer = await handle.wait_final(lambda m: "can't use" in (m.content or ""), timeout=30)
        assert len(answer.content) <= 2000
        assert "missing required column" in answer.content
        assert answer.content.rstrip("`").endswith("more") or "more" in answer.content
        assert "column 0" in answer.content  # the list starts with the file's own headers
        assert await bot.store.count_sources(world.guild.id) == 0
        check_everything_sent(world)


async def test_a_valid_csv_with_long_names_and_many_extra_columns_is_added(
    tmp_path: Path,
) -> None:
    extra = [f"extra {i} " + "e" * 300 for i in range(500)]
    header = ["Track URI", "Track Name", "Artist Name(s)", "Album Name", *extra]
    rows = [
        [f"spotify:track:{i:022d}", HOSTILE_NAMES[i % len(HOSTILE_NAMES)],
         "w" * 3000, PHISHING, *(["1"] * len(extra))]
        for i in range(1, 16)
    ]  # fmt: skip
    async with running_world(tmp_path) as world, running_music_bot(world):
        upload = FakeAttachment("x" * 240 + ".csv", csv_file(header, rows))
        handle = await world.discord.invoke(
            world.guild, world.admin, "setplaylist", options={"file": upload}
        )
        added = await handle.wait_final(lambda m: "Added" in (m.content or ""), timeout=30)
        assert "15 tracks" in added.content
        choices = await world.discord.autocomplete(
            world.guild, world.admin, "removeplaylist", focused="playlist", value="x"
        )
        assert len(choices) == 1 and len(choices[0]["name"]) <= 100
        handle = await world.discord.invoke(world.guild, world.member, "myratings")
        await handle.wait_final()
        check_everything_sent(world, allowed_mentions={f"<@{world.admin.id}>"})


async def test_an_ambiguous_song_with_long_candidate_names_fits_one_message(
    tmp_path: Path,
) -> None:
    title = "Endless " + "night " * 60
    header = ["Track URI", "Track Name", "Artist Name(s)", "Popularity"]
    rows = [
        [f"spotify:track:{i:022d}", title, f"Artist {i} " + "a" * 400 + " <@111111111111111111>",
         "50"]
        for i in range(1, 13)
    ]  # fmt: skip
    async with running_world(tmp_path) as world, running_music_bot(world):
        upload = FakeAttachment("same.csv", csv_file(header, rows))
        handle = await world.discord.invoke(
            world.guild, world.admin, "setplaylist", options={"file": upload}
        )
        await handle.wait_final(lambda m: "Added" in (m.content or ""), timeout=30)
        handle = await world.discord.invoke(
            world.guild, world.member, "recommend", options={"song": title}
        )
        answer = await recommend_answer(handle, timeout=20)
        assert answer.ephemeral
        assert "could be several songs" in answer.content
        assert len(answer.content) <= 2000
        check_everything_sent(world)


async def test_a_refused_answer_still_reaches_the_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """If Discord refuses an answer anyway (here: forced oversize), a short one follows."""
    import discord

    from bot.render import insight_embeds, rendering

    def oversized(*_args: object, **_kwargs: object) -> discord.Embed:
        return discord.Embed(title="t" * 300, description="d" * 5000)

    monkeypatch.setattr(rendering, "ratings_embed", oversized)
    monkeypatch.setattr(insight_embeds, "profile_embed", oversized)
    caplog.set_level(logging.WARNING)
    async with (
        running_world(tmp_path, expect_refusals=True) as world,
        running_music_bot(world),
    ):
        # Refused as the first response: the fallback is the first response.
        handle = await world.discord.invoke(world.guild, world.member, "myratings")
        answer = await handle.wait_final(lambda m: REFUSED_ANSWER in (m.content or ""))
        assert answer.ephemeral
        # Refused as an edit of a deferred reply: the fallback replaces "thinking...".
        handle = await world.discord.invoke(world.guild, world.member, "profile")
        answer = await handle.wait_final(lambda m: REFUSED_ANSWER in (m.content or ""))
        assert world.discord.refusals(), "the fake should have refused the oversized embeds"
    refused = [r for r in caplog.records if "Discord refused" in r.getMessage()]
    assert len(refused) == 2
    assert all(r.exc_info is None for r in refused)  # one line each, no traceback
