"""A member's data in one guild: list it (/myratings), export it as CSV (/exportmyratings),
delete it (/forgetme)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from bot.render.discord_limits import ATTACHMENT_BYTES
from bot.render.untrusted_text import file_cell
from bot.store.interface import RatingStore
from bot.store.models import ForgetResult, RatedTrack

CSV_COLUMNS = ("track_id", "name", "artists", "album", "rating", "rated_at", "spotify_url")
#: The file must fit Discord's upload limit, with room for the multipart envelope.
MAX_EXPORT_BYTES = ATTACHMENT_BYTES - 64 * 1024


@dataclass(frozen=True)
class RatingsExport:
    """The CSV file and how many of the member's ratings it holds."""

    data: bytes
    rows: int
    total: int


def ratings_csv(ratings: list[RatedTrack], max_bytes: int = MAX_EXPORT_BYTES) -> RatingsExport:
    """UTF-8 CSV (with a BOM so spreadsheet apps detect the encoding), newest first.

    Names are untrusted: every text cell is one clean line that a spreadsheet never
    runs as a formula. Rows that would push the file past ``max_bytes`` are left out.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    size = len(("\ufeff" + buffer.getvalue()).encode("utf-8"))
    rows: list[str] = []
    for rated in ratings:
        track = rated.track
        rating = rated.rating
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow(
            [
                rating.track_id,
                file_cell(rated.name),
                file_cell(track.artist_line) if track else "",
                file_cell(track.album) if track else "",
                "like" if rating.value > 0 else "dislike",
                rating.updated_at.isoformat(),
                f"https://open.spotify.com/track/{rating.track_id}",
            ]
        )
        encoded = len(line.getvalue().encode("utf-8"))
        if size + encoded > max_bytes:
            break
        rows.append(line.getvalue())
        size += encoded
    data = ("\ufeff" + buffer.getvalue() + "".join(rows)).encode("utf-8")
    return RatingsExport(data, len(rows), len(ratings))


class PrivacyService:
    """Export and deletion of a member's data; one guild at a time, never another's."""

    def __init__(self, store: RatingStore) -> None:
        self._store = store

    async def ratings(self, guild_id: int, user_id: int) -> list[RatedTrack]:
        """The member's ratings here, newest first, with the tracks as the guild sees them."""
        return await self._store.list_member_ratings(guild_id, user_id)

    async def export(self, guild_id: int, user_id: int) -> RatingsExport:
        """The member's ratings here as a CSV file (within Discord's upload limit)."""
        return ratings_csv(await self.ratings(guild_id, user_id))

    async def count(self, guild_id: int, user_id: int) -> int:
        """How many ratings the member has here (shown before asking to confirm)."""
        return len(await self.ratings(guild_id, user_id))

    async def forget(self, guild_id: int, user_id: int) -> ForgetResult:
        """Delete the member's ratings and the recommendation records they requested here."""
        return await self._store.forget_member(guild_id, user_id)
