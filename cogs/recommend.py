"""/recommend and "Recommend songs like this": suggestions for songs, answered the same way.

/recommend takes up to five songs (each autocompleted from the guild's catalogue, or
a Spotify track link). The message command ("Apps" > "Recommend songs like this")
reads the Spotify track links in a message, or a song of the catalogue named in it.
Both answer with the same embed, chart and rating reactions.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import PRIVATE_ERRORS
from bot.infra import guards
from bot.render import insight_embeds, rating_scheme, rendering, steering_choices
from bot.store.errors import StorageError

if TYPE_CHECKING:
    from bot.client import MusicBot
    from bot.services.recommending import RecommendOutcome

log = logging.getLogger(__name__)

CHART_FILENAME = "sound.png"
LIKE_THIS = "Recommend songs like this"
SONG_HELP = "Another song to mix in (start typing) or a Spotify track link"
T = TypeVar("T", str, int)


def _choices(choices: tuple[steering_choices.Choice, ...]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=c.label, value=c.value) for c in choices]


class RecommendCog(commands.Cog):
    """Slash command, message command and autocomplete; the work is in bot.recommending."""

    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot
        # A message command cannot be declared inside a class with a decorator; it is
        # built here and added to the tree while the cog is loaded.
        self.like_this = app_commands.guild_only(
            app_commands.ContextMenu(name=LIKE_THIS, callback=self.recommend_like_this)
        )

    async def cog_load(self) -> None:
        """Register the message command with the tree."""
        self.bot.tree.add_command(self.like_this)

    async def cog_unload(self) -> None:
        """Take the message command off the tree."""
        self.bot.tree.remove_command(self.like_this.name, type=self.like_this.type)

    @app_commands.command(name="recommend", description="Songs that sound like ones you like")
    @app_commands.describe(
        song="A song from this server's playlists (start typing) or a Spotify track link; "
        "empty: picks from your ratings",
        song2=SONG_HELP,
        song3=SONG_HELP,
        song4=SONG_HELP,
        song5=SONG_HELP,
        count="How many suggestions (1-10)",
        alpha="1 = sounding alike only, 0 = recent & popular only (default: the server's)",
        mood="Steer towards a mood",
        energy="Steer towards an energy",
        tempo="Only songs in this tempo range",
        decade="Only songs released in this decade",
        explore="Familiar: well known, artists you rated; adventurous: less known, new artists",
    )
    @app_commands.choices(
        mood=_choices(steering_choices.MOOD_CHOICES),
        energy=_choices(steering_choices.ENERGY_CHOICES),
        tempo=_choices(steering_choices.TEMPO_CHOICES),
        explore=_choices(steering_choices.EXPLORE_CHOICES),
    )
    @app_commands.choices(
        decade=[app_commands.Choice(name=f"{d}s", value=d) for d in steering_choices.DECADES]
    )
    @app_commands.guild_only()
    async def recommend(
        self,
        interaction: discord.Interaction,
        song: str | None = None,
        song2: str | None = None,
        song3: str | None = None,
        song4: str | None = None,
        song5: str | None = None,
        count: app_commands.Range[int, 1, 10] | None = None,
        alpha: app_commands.Range[float, 0.0, 1.0] | None = None,
        mood: app_commands.Choice[str] | None = None,
        energy: app_commands.Choice[str] | None = None,
        tempo: app_commands.Choice[str] | None = None,
        decade: app_commands.Choice[int] | None = None,
        explore: app_commands.Choice[str] | None = None,
    ) -> None:
        guild_id = guards.guild_id(interaction)
        songs = [song, song2, song3, song4, song5]
        picks = steering_choices.Picks(
            mood=_value(mood),
            energy=_value(energy),
            tempo=_value(tempo),
            decade=_value(decade),
            explore=_value(explore),
        )
        await self._answer(
            interaction,
            lambda: self.bot.recommendations.recommend(
                guild_id, interaction.user.id, songs, count, alpha, picks
            ),
        )

    async def recommend_like_this(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """The message command: suggestions for the songs the message links or names."""
        guild_id = guards.guild_id(interaction)
        texts = _message_texts(message)
        await self._answer(
            interaction,
            lambda: self.bot.recommendations.recommend_from_message(
                guild_id, interaction.user.id, texts
            ),
        )

    async def _answer(
        self,
        interaction: discord.Interaction,
        outcome_of: Callable[[], Awaitable[RecommendOutcome]],
    ) -> None:
        """Defer, compute, answer with the embed; then store it, add chart and reactions."""
        guild_id = guards.guild_id(interaction)
        # Acknowledge first, always: nothing after this line is provably quick (a burst
        # of requests queues on the loop and the store, a catalogue may still be loading,
        # a track link is fetched from Spotify), and Discord drops an interaction not
        # acknowledged within 3 s. The answer is public; a failure is answered privately
        # (bot.client.send_error), as it was before deferring.
        await interaction.response.defer(thinking=True)
        interaction.extras[PRIVATE_ERRORS] = True
        outcome = await outcome_of()
        embed = rendering.recommendation_embed(outcome)
        message = await interaction.edit_original_response(embed=embed)
        await self.bot.recommendations.remember(
            guild_id=guild_id,
            channel_id=interaction.channel_id or 0,
            message_id=message.id,
            user_id=interaction.user.id,
            outcome=outcome,
        )
        # Members may have reacted before the id was known: their reactions apply now.
        self.bot.ratings.recommendation_saved(message.id)
        # The chart (~0.1-0.3 s to draw) and twenty reactions (Discord paces them) follow
        # the answer instead of holding it back.
        self.bot.spawn(self._attach_chart(interaction, outcome, embed))
        self.bot.spawn(_add_rating_reactions(message, len(outcome.suggestions)))

    async def _attach_chart(
        self, interaction: discord.Interaction, outcome: RecommendOutcome, embed: discord.Embed
    ) -> None:
        """Add the radar chart to the answer once it is drawn (skipped if it fails)."""
        # None when nothing has features or rendering failed (already logged).
        png = await self.bot.insights.recommendation_chart(outcome)
        files = insight_embeds.with_chart(embed, png, CHART_FILENAME)
        if not files:
            return
        try:
            await interaction.edit_original_response(embed=embed, attachments=files)
        except discord.HTTPException as error:
            # One line, no traceback: the answer itself already arrived.
            log.warning("could not attach the chart to the /recommend answer: %s", error)

    @recommend.autocomplete("song")
    @recommend.autocomplete("song2")
    @recommend.autocomplete("song3")
    @recommend.autocomplete("song4")
    @recommend.autocomplete("song5")
    async def song_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            tracks = await self.bot.recommendations.suggest_songs(
                interaction.guild_id or 0, current, limit=rendering.AUTOCOMPLETE_LIMIT
            )
        except StorageError as error:
            # An autocomplete cannot carry a message; /recommend itself says it in words.
            log.warning("autocomplete: %s", error)
            return []
        return rendering.song_choices(tracks)


def _value(choice: app_commands.Choice[T] | None) -> T | None:
    return None if choice is None else choice.value


def _message_texts(message: discord.Message) -> list[str]:
    """Where a message can carry a song: its text, and its link previews (embeds).

    Discord gives an app the content of a message its command targets without the
    message-content intent; a link preview's ``url`` is the link itself.
    """
    texts = [message.content or ""]
    for embed in message.embeds:
        texts += [embed.url or "", embed.title or "", embed.description or ""]
    return [text for text in texts if text]


async def _add_rating_reactions(message: discord.Message, count: int) -> None:
    for emoji in rating_scheme.reactions_for(count):
        try:
            await message.add_reaction(emoji)
        except discord.HTTPException:
            log.warning("could not add the rating reactions to message %s", message.id)
            return


async def setup(bot: MusicBot) -> None:
    """Extension entry point."""
    await bot.add_cog(RecommendCog(bot))
