"""Feature and popularity providers, and the chain that orders them."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import aiohttp

from recommender.features import FEATURE_NAMES
from recommender.progress import IngestProgress, Stage
from recommender.providers import (
    DatasetProvider,
    ProviderChain,
    ReccoBeats,
    SpotifyAudioFeatures,
)
from recommender.spotify import SpotifyClient, SpotifySettings
from recommender.track import Track
from tests.fakes import (
    FakeReccoBeats,
    FakeSpotify,
    Faults,
)


def settings_for(fake: FakeSpotify, recco: FakeReccoBeats | None = None) -> SpotifySettings:
    settings = SpotifySettings.from_env(fake.env())
    return dataclasses.replace(
        settings,
        reccobeats_url=recco.url if recco else None,
        backoff_base=0.01,
        max_retry_after=1.0,
    )


def write_dataset(path: Path, rows: dict[str, dict[str, float]], popularity: int = 55) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["track_id", "track_name", "track_artist", "track_popularity", *FEATURE_NAMES]
        )
        for track_id, features in rows.items():
            values = [features[name] for name in FEATURE_NAMES]
            writer.writerow([track_id, "A song", "An artist", popularity, *values])
    return path


async def test_spotify_audio_features_in_batches_of_100(full: FakeSpotify) -> None:
    ids = [full.add_track() for _ in range(150)] + [full.add_track(features=False)]
    async with SpotifyClient(settings_for(full)) as client:
        found = await SpotifyAudioFeatures(client).features(ids)
        assert client.capabilities.audio_features is True
    assert set(found) == set(ids[:150])  # null for the featureless track
    assert found[ids[0]] == full.tracks[ids[0]].features
    calls = [r for r in full.requests.requests if r.path == "/v1/audio-features"]
    assert sorted(len(r.query["ids"].split(",")) for r in calls) == [51, 100]


async def test_a_403_on_audio_features_is_remembered_not_retried(dev: FakeSpotify) -> None:
    ids = [dev.add_track() for _ in range(250)]
    async with SpotifyClient(settings_for(dev)) as client:
        provider = SpotifyAudioFeatures(client)
        assert await provider.features(ids) == {}
        assert await provider.features(ids) == {}
        assert client.capabilities.audio_features is False
        assert "development mode" in client.capabilities.mode
    assert dev.requests.count("/v1/audio-features") == 1


async def test_reccobeats_maps_answers_back_by_spotify_id(
    full: FakeSpotify, recco: FakeReccoBeats
) -> None:
    ids = [full.add_track() for _ in range(100)]
    recco.mirror([full.tracks[i] for i in ids], skip_every=4)  # every 4th unknown
    known = [i for n, i in enumerate(ids, start=1) if n % 4]
    async with aiohttp.ClientSession() as session:
        provider = ReccoBeats(session, settings_for(full, recco))
        features = await provider.features(ids)
        popularity = await provider.popularity(ids)
    assert set(features) == set(popularity) == set(known)
    assert features[known[0]] == full.tracks[known[0]].features
    assert popularity[known[0]] == full.tracks[known[0]].popularity
    sizes = sorted(len(r.query["ids"].split(",")) for r in recco.requests.requests)
    assert sizes == [20, 20, 40, 40, 40, 40]  # never more than 40 ids a call


async def test_reccobeats_429_is_waited_out(full: FakeSpotify, recco: FakeReccoBeats) -> None:
    ids = [full.add_track() for _ in range(120)]
    recco.mirror(full.tracks.values())
    recco.set_faults(Faults(rate_limit_every=2, retry_after=0.01, whole_seconds=False))
    async with aiohttp.ClientSession() as session:
        found = await ReccoBeats(session, settings_for(full, recco)).features(ids)
    assert len(found) == 120
    assert recco.requests.count("", status=429) >= 1


async def test_dataset_provider_reads_any_known_schema(tmp_path: Path, full: FakeSpotify) -> None:
    ids = [full.add_track() for _ in range(3)]
    path = write_dataset(tmp_path / "songs.csv", {i: full.tracks[i].features for i in ids[:2]})
    provider = DatasetProvider(path)
    assert provider.name == "dataset:songs.csv"
    assert set(await provider.features(ids)) == set(ids[:2])
    assert await provider.popularity(ids) == {ids[0]: 55, ids[1]: 55}


async def test_the_chain_asks_each_provider_only_for_what_is_missing(
    tmp_path: Path, dev: FakeSpotify, recco: FakeReccoBeats
) -> None:
    ids = [dev.add_track() for _ in range(9)]
    recco.mirror([dev.tracks[i] for i in ids[:6]])
    dataset = write_dataset(tmp_path / "extra.csv", {i: dev.tracks[i].features for i in ids[4:8]})
    tracks = [Track(id=i, name="x") for i in ids]
    stages: list[IngestProgress] = []
    async with SpotifyClient(settings_for(dev, recco)) as client:
        recco_provider = ReccoBeats(client.session, settings_for(dev, recco))
        chain = ProviderChain(
            [SpotifyAudioFeatures(client), recco_provider, DatasetProvider(dataset)],
            [recco_provider, DatasetProvider(dataset)],
        )
        completed, report = await chain.complete(tracks, progress=stages.append)
    sources = [t.feature_source for t in completed]
    assert sources == ["reccobeats"] * 6 + ["dataset:extra.csv"] * 2 + [None]
    assert completed[8].features is None and completed[8].popularity is None
    assert report.features_by_source == {"reccobeats": 6, "dataset:extra.csv": 2}
    assert report.popularity_by_source == {"reccobeats": 6, "dataset:extra.csv": 2}
    # The dataset was asked only for the three ids ReccoBeats did not know.
    assert IngestProgress(Stage.FEATURES, 3, 3, "dataset:extra.csv") in stages
    assert IngestProgress(Stage.POPULARITY, 3, 3, "dataset:extra.csv") in stages


async def test_a_failing_provider_becomes_a_warning(
    full: FakeSpotify, recco: FakeReccoBeats
) -> None:
    ids = [full.add_track() for _ in range(5)]
    recco.set_faults(Faults(fail_first=100))
    async with aiohttp.ClientSession() as session:
        provider = ReccoBeats(session, settings_for(full, recco))
        chain = ProviderChain([provider], [provider])
        completed, report = await chain.complete([Track(id=i, name="x") for i in ids])
    assert all(t.features is None for t in completed)
    assert len(report.warnings) == 2
    assert "ReccoBeats is not answering properly" in report.warnings[0]
