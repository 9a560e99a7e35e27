"""Charts through the real bot: /recommend's radar, /profile, /stats, and the event loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from bot.render import charts, rating_scheme
from tests.e2e.world import (
    add_playlist,
    recommend_and_rate,
    recommend_answer,
    running_music_bot,
    running_world,
    stored_recommendation,
    wait_rating,
)
from tests.pngs import assert_sane_png


async def test_recommend_attaches_a_radar_chart_shown_in_the_embed(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        handle = await world.discord.invoke(
            world.guild, world.member, "recommend", options={"song": "Golden Hour", "count": 4}
        )
        # The answer goes out first; the chart is added by an edit once it is drawn.
        first = await recommend_answer(handle)
        answer = next(edit for edit in first.history if edit.get("embeds"))
        assert not answer.get("attachments")
        message = await handle.wait_final(lambda m: bool(m.attachments))
        assert [a.filename for a in message.attachments] == ["sound.png"]
        assert message.embed is not None
        assert message.embed["image"]["url"] == "attachment://sound.png"
        assert_sane_png(message.attachments[0].content)


async def test_a_failing_chart_never_fails_recommend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: object, **_kwargs: object) -> bytes:
        raise RuntimeError("no fonts on this machine")

    monkeypatch.setattr(charts, "recommendation_chart", broken)
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        handle = await world.discord.invoke(
            world.guild, world.member, "recommend", options={"song": "Golden Hour"}
        )
        message = await handle.wait_final()
        assert message.embed is not None and "Golden Hour" in message.embed["title"]
        await world.discord.wait_until(
            lambda: "could not render the /recommend chart" in caplog.text
        )
        assert message.attachments == [] and "image" not in message.embed


async def test_charts_render_in_worker_threads_while_the_loop_keeps_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = charts.recommendation_chart
    loop_thread = threading.get_ident()
    render_threads: list[int] = []
    loop_ticked_during_render = threading.Event()
    renders_started = 0
    lag: list[float] = []

    def wrapped(*args: object, **kwargs: object) -> bytes | None:
        nonlocal renders_started
        render_threads.append(threading.get_ident())
        renders_started += 1
        # If this ran on the event loop, the ticker could never set the event: the
        # render would wait here in vain and the chart would be missing.
        assert loop_ticked_during_render.wait(10)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.005)
            lag.append(loop.time() - before - 0.005)  # measured for the log, not asserted
            if renders_started:
                loop_ticked_during_render.set()

    monkeypatch.setattr(charts, "recommendation_chart", wrapped)
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        members = [world.discord.add_member(world.guild, f"fan{i}") for i in range(5)]
        ticking = asyncio.create_task(ticker())
        try:
            handles = [
                await world.discord.invoke(
                    world.guild, member, "recommend", options={"song": "Golden Hour"}
                )
                for member in members
            ]
            messages = await asyncio.gather(
                *(h.wait_final(lambda m: bool(m.attachments)) for h in handles)
            )
        finally:
            ticking.cancel()
        assert len(render_threads) == 5
        assert loop_thread not in render_threads
        for message in messages:
            assert len(message.attachments) == 1
            assert_sane_png(message.attachments[0].content)
        print(f"largest event-loop lag while rendering: {max(lag) * 1000:.1f} ms")


async def test_profile_shows_the_taste_chart_and_top_likes_ephemerally(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        handle = await world.discord.invoke(world.guild, world.member, "profile")
        empty = await handle.wait_final()
        assert empty.ephemeral and "No ratings yet" in empty.embed["description"]
        assert empty.attachments == []

        stored = await recommend_and_rate(world, bot, world.member, "Golden Hour", 3)

        handle = await world.discord.invoke(world.guild, world.member, "profile")
        assert (await handle.wait_response()).ephemeral
        profile = await handle.wait_final()
        embed = profile.embed
        assert "**1** liked · **1** disliked" in embed["description"]
        assert stored.items[0].track_id in embed["description"]  # the liked track's link
        assert stored.items[1].track_id not in embed["description"]
        assert embed["image"]["url"] == "attachment://taste.png"
        assert_sane_png(profile.attachments[0].content)


async def test_stats_shows_sources_coverage_likes_and_raters_without_pinging(
    tmp_path: Path,
) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        handle = await world.discord.invoke(
            world.guild, world.member, "recommend", options={"song": "Golden Hour", "count": 2}
        )
        message = await handle.wait_final()
        stored = await stored_recommendation(bot, world.guild.id, message.id)
        for rater in (world.member, world.admin):
            await world.discord.react(rater, message, rating_scheme.LIKE_EMOJIS[0])
            await wait_rating(bot, world.guild.id, rater.id, stored.items[0].track_id)

        handle = await world.discord.invoke(world.guild, world.member, "stats")
        stats = await handle.wait_final()
        embed = stats.embed
        assert "**40** tracks from 1 playlists: Club Classics (40)" in embed["description"]
        assert "have audio features" in embed["description"]
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        assert "2 👍" in fields["Most liked"]
        assert f"<@{world.member.id}>" in fields["Most active raters"]
        assert_sane_png(stats.attachments[0].content)
        # Mentions render as names but ping nobody (the bot's default allowed_mentions).
        sent = [r for r in world.discord.requests if r.path.endswith("/messages/@original")]
        assert sent[-1].json["allowed_mentions"] == {"parse": []}

        handle = await world.discord.invoke(world.other_guild, world.other_member, "stats")
        other = await handle.wait_final()
        assert "No music yet" in other.embed["description"] and other.attachments == []
