"""A member's data in one guild: export it as CSV (/exportmyratings), delete it (/forgetme)."""

from __future__ import annotations

import csv
import io

from bot.store import Store
from bot.store.models import ForgetResult, RatedTrack

CSV_COLUMNS = ("track_id", "name", "artists", "album", "rating", "rated_at", "spotify_url")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    # A spreadsheet would run "=HYPERLINK(...)" in a track name as a formula (CSV
    # injection); a leading apostrophe makes it plain text and is the usual guard.
    return "'" + text if text.startswith(_FORMULA_START) else text


def ratings_csv(ratings: list[RatedTrack]) -> bytes:
    """UTF-8 CSV (with a BOM so spreadsheet apps detect the encoding), newest first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for rated in ratings:
        track = rated.track
        rating = rated.rating
        writer.writerow(
            [
                rating.track_id,
                _cell(rated.name),
                _cell(track.artist_line) if track else "",
                _cell(track.album) if track else "",
                "like" if rating.value > 0 else "dislike",
                rating.updated_at.isoformat(),
                f"https://open.spotify.com/track/{rating.track_id}",
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


class PrivacyService:
    """Export and deletion of a member's data; one guild at a time, never another's."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def export(self, guild_id: int, user_id: int) -> tuple[int, bytes]:
        """How many ratings, and the CSV holding them."""
        ratings = await self._store.export_member_ratings(guild_id, user_id)
        return len(ratings), ratings_csv(ratings)

    async def count(self, guild_id: int, user_id: int) -> int:
        """How many ratings the member has here (shown before asking to confirm)."""
        return len(await self._store.list_member_ratings(guild_id, user_id))

    async def forget(self, guild_id: int, user_id: int) -> ForgetResult:
        """Delete the member's ratings and the recommendation records they requested here."""
        return await self._store.forget_member(guild_id, user_id)
