"""Track metadata by id: batches of 50 where the app may, else one request per track."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from recommender.spotify.client import SpotifyClient
from recommender.spotify.parse import parse_track
from recommender.track import Track

BATCH = 50  # documented maximum of GET /tracks?ids=


async def get_tracks(
    client: SpotifyClient, track_ids: Sequence[str], *, patience: float | None = None
) -> dict[str, Track]:
    """Tracks by id; unknown ids are absent from the answer (``patience``: see
    :meth:`SpotifyClient.get`).

    Uses ``GET /tracks?ids=`` until Spotify answers 403 (removed for 2026
    development-mode apps), then ``GET /tracks/{id}`` per track; the transport
    bounds how many are in flight. The outcome is remembered per process.
    """
    ids = list(dict.fromkeys(track_ids))
    found: dict[str, Track] = {}
    caps = client.capabilities
    params = {"market": client.settings.market} if client.settings.market else {}
    if caps.batch_tracks is not False and len(ids) > 1:
        batches = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]
        first = await _batch(client, batches[0], params, patience)
        if first is not None:
            found.update(first)
            rest = await asyncio.gather(*(_batch(client, b, params, patience) for b in batches[1:]))
            for result in rest:
                found.update(result or {})
            return found
    singles = await asyncio.gather(*(_single(client, i, params, patience) for i in ids))
    return {track.id: track for track in singles if track is not None}


async def _batch(
    client: SpotifyClient, ids: list[str], params: dict[str, str], patience: float | None
) -> dict[str, Track] | None:
    response = await client.get(
        "tracks",
        {**params, "ids": ",".join(ids)},
        what="a batch of tracks",
        allow=(403,),
        patience=patience,
    )
    if response.status == 403:
        client.capabilities.batch_tracks = False
        return None
    client.capabilities.batch_tracks = True
    tracks = response.body.get("tracks") if isinstance(response.body, dict) else None
    parsed = (parse_track(t) for t in tracks or ())  # unknown ids come back as null
    return {t.id: t for t in parsed if t is not None}


async def _single(
    client: SpotifyClient, track_id: str, params: dict[str, str], patience: float | None
) -> Track | None:
    response = await client.get(
        f"tracks/{track_id}", params, what=f"track {track_id}", allow=(400, 404), patience=patience
    )
    if not response.ok:
        return None
    track = parse_track(response.body)
    if track is not None and client.capabilities.popularity is None:
        client.capabilities.popularity = track.popularity is not None
    return track
