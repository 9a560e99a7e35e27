"""A hostile or broken upstream: absurd numbers, foreign links, endless pages, moving playlists."""

from __future__ import annotations

import dataclasses

from recommender.ingest import Ingestion
from recommender.spotify import SpotifySettings
from tests.fakes import FakeReccoBeats, FakeSpotify
from tests.fakes.spotify import random_features


def settings_for(
    fake: FakeSpotify, recco: FakeReccoBeats | None = None, **overrides: object
) -> SpotifySettings:
    """Settings pointing at the fakes, with retries fast enough for tests."""
    env = fake.env()
    if recco is not None:
        env["RECCOBEATS_API_URL"] = recco.url
    settings = SpotifySettings.from_env(env)
    fast = {"backoff_base": 0.01, "max_retry_after": 1.0, "request_timeout": 5.0}
    return dataclasses.replace(settings, **{**fast, **overrides})


# -- absurd numbers ---------------------------------------------------------------------


async def test_an_absurd_duration_from_spotify_is_dropped_and_the_playlist_imported(
    full: FakeSpotify,
) -> None:
    normal = [full.add_track() for _ in range(5)]
    huge = full.add_track(duration_ms=1e20)  # once failed the whole write (SQLite INTEGER)
    beyond = full.add_track(duration_ms=10**30)  # an int JSON allows, no float holds exactly
    negative = full.add_track(duration_ms=-1)
    nan = full.add_track(duration_ms=float("nan"), popularity=float("inf"))
    playlist = full.add_playlist([*normal, huge, beyond, negative, nan])

    async with Ingestion(settings_for(full)) as ingestion:
        tracks, summary = await ingestion.playlist(playlist)

    by_id = {t.id: t for t in tracks}
    assert set(by_id) == {*normal, huge, beyond, negative, nan}  # nobody lost
    for track_id in (huge, beyond, negative, nan):
        assert by_id[track_id].duration_ms is None
    assert by_id[nan].popularity is None and by_id[nan].features is not None
    assert all(by_id[t].duration_ms == full.tracks[t].duration_ms for t in normal)
    assert summary.dropped_values == {"duration_ms": 4, "popularity": 1}
    assert "5 impossible values dropped: duration_ms 4, popularity 1" in summary.lines()


async def test_absurd_features_from_a_provider_are_counted_and_the_next_one_asked(
    dev: FakeSpotify, recco: FakeReccoBeats
) -> None:
    ids = [dev.add_track() for _ in range(3)]
    playlist = dev.add_playlist(ids)
    for track_id in ids:
        recco.add_track(track_id, random_features(dev.rng), popularity=40)
    broken = dict(random_features(dev.rng), tempo=1e30, key=12.0)
    recco.add_track(ids[0], broken, popularity=1000)

    settings = settings_for(dev, recco)
    env_user = dev.env(user="owner")["SPOTIFY_REFRESH_TOKEN"]
    async with Ingestion(dataclasses.replace(settings, refresh_token=env_user)) as ingestion:
        tracks, summary = await ingestion.playlist(playlist)

    by_id = {t.id: t for t in tracks}
    assert by_id[ids[0]].features is None and by_id[ids[0]].popularity is None
    assert all(by_id[t].features is not None and by_id[t].popularity == 40 for t in ids[1:])
    assert summary.dropped_values == {"tempo": 1, "key": 1, "popularity": 1}
    assert summary.features_by_source == {"reccobeats": 2}
