"""Ingesting a playlist or one track end to end: client, providers, cache, progress."""

from __future__ import annotations

import dataclasses
import math

import pytest

from recommender.cache import MemoryTrackCache
from recommender.ingest import Ingestion, IngestProgress, Stage
from recommender.spotify import (
    BadReference,
    PlaylistNotReadable,
    QuotaExceeded,
    SpotifySettings,
    TrackNotFound,
)
from tests.fakes import (
    Entry,
    FakeReccoBeats,
    FakeSpotify,
    Faults,
)


def settings_for(
    fake: FakeSpotify, recco: FakeReccoBeats, *, user: str | None = None
) -> SpotifySettings:
    settings = SpotifySettings.from_env({**fake.env(user=user), "RECCOBEATS_API_URL": recco.url})
    return dataclasses.replace(settings, backoff_base=0.01, max_retry_after=1.0)


def playlist_with_extras(fake: FakeSpotify, n: int, owner: str = "owner") -> tuple[str, list[str]]:
    ids = [fake.add_track() for _ in range(n)]
    entries = [*ids[:10], Entry("local"), Entry("episode"), Entry("null"), *ids[10:]]
    return fake.add_playlist(entries, owner=owner), ids


async def test_full_api_ingest_takes_everything_from_spotify(
    full: FakeSpotify, recco: FakeReccoBeats
) -> None:
    playlist_id, ids = playlist_with_extras(full, 180)
    seen: list[IngestProgress] = []
    async with Ingestion(settings_for(full, recco)) as ingestion:
        tracks, summary = await ingestion.playlist(playlist_id, progress=seen.append)
    assert [t.id for t in tracks] == ids
    assert summary.tracks == 180
    assert (summary.skipped_local, summary.skipped_episodes, summary.skipped_unavailable) == (
        1,
        1,
        1,
    )
    assert summary.features_by_source == {"spotify": 180}
    assert summary.popularity_by_source == {"spotify": 180}
    assert summary.requests == len(full.requests.requests) and summary.retries == 0
    assert summary.spotify_mode.startswith("full API")
    assert recco.requests.requests == []  # nothing left to ask
    assert seen[0].stage is Stage.PLAYLIST and seen[-1] == IngestProgress(Stage.DONE, 180, 180)
    playlist_steps = [p.done for p in seen if p.stage is Stage.PLAYLIST]
    assert playlist_steps == sorted(playlist_steps) and playlist_steps[-1] == 183


async def test_development_mode_ingest_uses_reccobeats_then_nothing(
    dev: FakeSpotify, recco: FakeReccoBeats
) -> None:
    playlist_id, ids = playlist_with_extras(dev, 90)
    recco.mirror([dev.tracks[i] for i in ids], skip_every=10)
    seen: list[IngestProgress] = []

    async def progress(step: IngestProgress) -> None:  # the bot's is async
        seen.append(step)

    async with Ingestion(settings_for(dev, recco, user="owner")) as ingestion:
        tracks, summary = await ingestion.playlist(playlist_id, progress=progress)
    assert summary.features_by_source == {"reccobeats": 81}
    assert summary.popularity_by_source == {"reccobeats": 81}
    assert summary.without_features == 9
    assert "development mode" in summary.spotify_mode
    featureless = [t for t in tracks if t.features is None]
    assert len(featureless) == 9 and all(t.feature_source is None for t in featureless)
    assert {(p.stage, p.source) for p in seen} >= {
        (Stage.PLAYLIST, None),
        (Stage.FEATURES, "reccobeats"),
        (Stage.POPULARITY, "reccobeats"),
    }
    # Per provider and stage, the chunks add up to every id asked, never more.
    recco_features = [p for p in seen if (p.stage, p.source) == (Stage.FEATURES, "reccobeats")]
    assert recco_features[-1].done == recco_features[-1].total == 90
    assert all(p.done <= p.total for p in seen)
    assert dev.requests.count("/v1/audio-features") == 1  # one probe, refused


async def test_the_jobs_patience_reaches_every_provider(
    dev: FakeSpotify, recco: FakeReccoBeats
) -> None:
    """An ingest's max_wait is passed down explicitly: ReccoBeats' 429 with a
    Retry-After over the interactive cap (1 s here) is waited out inside the job only."""
    playlist_id, ids = playlist_with_extras(dev, 40)
    recco.mirror([dev.tracks[i] for i in ids])
    recco.set_faults(Faults(rate_limit_every=1, retry_after=1.5, whole_seconds=False))
    async with Ingestion(settings_for(dev, recco, user="owner")) as ingestion:
        _, impatient = await ingestion.playlist(playlist_id)
        assert impatient.features_by_source == {}
        assert any("reccobeats" in w for w in impatient.warnings)
        recco.set_faults(Faults(rate_limit_every=2, retry_after=1.5, whole_seconds=False))
        _, patient = await ingestion.playlist(playlist_id, max_wait=5.0)
    assert patient.features_by_source == {"reccobeats": 40}
    assert patient.warnings == []


async def test_providers_start_while_a_refused_page_waits(
    full: FakeSpotify, recco: FakeReccoBeats
) -> None:
    """A page answered 429 delays its own tracks, not every feature lookup."""
    playlist_id, ids = playlist_with_extras(full, 1_000)
    full.set_faults(Faults(rate_limit_every=12, retry_after=1.5, whole_seconds=False))
    async with Ingestion(settings_for(full, recco)) as ingestion:
        tracks, summary = await ingestion.playlist(playlist_id, max_wait=2.0)
    assert [t.id for t in tracks] == ids
    assert summary.features_by_source == {"spotify": 1_000}
    answered = [r.path for r in full.requests.requests if r.status == 200]
    last_page = max(i for i, path in enumerate(answered) if path.endswith("/items"))
    assert answered.index("/v1/audio-features") < last_page
    # Tracks went to the providers in whole batches: no more requests than one stage.
    assert answered.count("/v1/audio-features") == 10


async def test_a_development_mode_app_probes_audio_features_once_however_many_chunks(
    dev: FakeSpotify, recco: FakeReccoBeats
) -> None:
    playlist_id, ids = playlist_with_extras(dev, 700)
    recco.mirror(dev.tracks.values())
    async with Ingestion(settings_for(dev, recco, user="owner")) as ingestion:
        tracks, summary = await ingestion.playlist(playlist_id)
    assert summary.features_by_source == {"reccobeats": 700} and [t.id for t in tracks] == ids
    assert dev.requests.count("/v1/audio-features") == 1
    # 40 ids a call; chunks are whole batches, so no more calls than without streaming.
    assert recco.requests.count("/audio-features") == math.ceil(700 / 40)


async def test_a_second_ingest_is_served_from_the_cache(
    dev: FakeSpotify, recco: FakeReccoBeats
) -> None:
    playlist_id, ids = playlist_with_extras(dev, 50)
    recco.mirror(dev.tracks.values())
    cache = MemoryTrackCache()
    async with Ingestion(settings_for(dev, recco, user="owner"), cache=cache) as ingestion:
        await ingestion.playlist(playlist_id)
        assert len(cache) == 50
        recco.requests.clear()
        tracks, summary = await ingestion.playlist(playlist_id)
    assert summary.from_cache == 50
    assert summary.features_by_source == {"reccobeats": 50}
    assert recco.requests.requests == []  # features and popularity came from the cache
    assert [t.id for t in tracks] == ids


async def test_a_failing_progress_callback_does_not_fail_the_ingest(
    full: FakeSpotify, recco: FakeReccoBeats
) -> None:
    playlist_id, _ = playlist_with_extras(full, 20)

    def broken(step: IngestProgress) -> None:
        raise RuntimeError("Discord edit failed")

    async with Ingestion(settings_for(full, recco)) as ingestion:
        tracks, _ = await ingestion.playlist(playlist_id, progress=broken)
    assert len(tracks) == 20


async def test_an_unreadable_playlist_raises_before_any_provider(
    dev: FakeSpotify, recco: FakeReccoBeats
) -> None:
    playlist_id, _ = playlist_with_extras(dev, 20, owner="alice")
    async with Ingestion(settings_for(dev, recco)) as ingestion:
        with pytest.raises(PlaylistNotReadable):
            await ingestion.playlist(playlist_id)
    assert recco.requests.requests == []


async def test_quota_exhaustion_mid_ingest_is_reported(
    full: FakeSpotify, recco: FakeReccoBeats
) -> None:
    playlist_id, _ = playlist_with_extras(full, 400)
    full.set_faults(Faults(quota_after=3, quota_retry_after=3600))
    async with Ingestion(settings_for(full, recco)) as ingestion:
        with pytest.raises(QuotaExceeded, match="renews in about 60 min"):
            await ingestion.playlist(playlist_id)


async def test_fetch_one_track_with_features(dev: FakeSpotify, recco: FakeReccoBeats) -> None:
    track_id = dev.add_track(name="Wicked Games")
    recco.mirror([dev.tracks[track_id]])
    cache = MemoryTrackCache()
    async with Ingestion(settings_for(dev, recco), cache=cache) as ingestion:
        track = await ingestion.track(f"https://open.spotify.com/track/{track_id}?si=1")
        assert track.name == "Wicked Games" and track.feature_source == "reccobeats"
        assert track.popularity == dev.tracks[track_id].popularity
        before = len(dev.requests.requests), len(recco.requests.requests)
        again = await ingestion.track(f"spotify:track:{track_id}")
        assert (len(dev.requests.requests), len(recco.requests.requests)) == before
    assert again == track and (await cache.get_tracks([track_id]))[track_id] == track


async def test_fetch_one_track_errors(full: FakeSpotify, recco: FakeReccoBeats) -> None:
    async with Ingestion(settings_for(full, recco)) as ingestion:
        with pytest.raises(TrackNotFound):
            await ingestion.track("0" * 22)
        with pytest.raises(BadReference, match="not a Spotify track"):
            await ingestion.track("https://open.spotify.com/playlist/" + "1" * 22)
