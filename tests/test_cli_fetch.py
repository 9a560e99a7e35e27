"""``python -m recommender fetch`` against the fakes.

Each exit code (0, 2, 3, 4) is checked on a real subprocess; the subprocesses of one
test run concurrently because each spends ~2 s importing the engine. Other cases
call the same ``main`` in-process (in a thread, as it runs its own event loop).
"""

from __future__ import annotations

import asyncio
import csv
import os
import sys
from pathlib import Path

import pytest

from recommender.cli import main
from recommender.features import FEATURE_NAMES
from recommender.loaders import load_catalogue
from tests.fakes import (
    Entry,
    FakeReccoBeats,
    FakeSpotify,
    FakeSpotifyConfig,
    Faults,
    running_fake_spotify,
)

ROOT = Path(__file__).resolve().parents[1]


async def run_cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run the CLI with only ``env``'s Spotify settings; return (code, stdout, stderr)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "RECCOBEATS_"))}
    base.pop("FEATURE_DATASETS", None)
    full_env = {**base, "PYTHONPATH": str(ROOT), "SPOTIFY_BACKOFF_BASE": "0.01", **env}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "recommender",
        "fetch",
        *args,
        cwd=ROOT,
        env=full_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def check_written_csv(out: Path, fake: FakeSpotify, ids: list[str]) -> None:
    with out.open(newline="") as handle:
        header = next(csv.reader(handle))
    assert header == [
        "track_id",
        "name",
        "artists",
        "album",
        "release_date",
        "release_date_precision",
        "popularity",
        "duration_ms",
        *FEATURE_NAMES,
        "feature_source",
        "popularity_source",
    ]
    catalogue = load_catalogue(out)
    assert catalogue.ids == ids
    assert bool(catalogue.has_features.all())
    first = catalogue.track(0)
    assert first.features == pytest.approx(fake.tracks[ids[0]].features)
    assert first.popularity == fake.tracks[ids[0]].popularity
    assert (first.feature_source, first.popularity_source) == ("spotify", "spotify")


async def test_exit_codes_of_the_real_command(
    full: FakeSpotify, dev: FakeSpotify, tmp_path: Path
) -> None:
    ids = [full.add_track() for _ in range(120)]
    good = full.add_playlist([*ids, Entry("local"), Entry("episode"), Entry("null")])
    unreadable = dev.add_playlist(5, owner="alice")
    quota = FakeSpotify(FakeSpotifyConfig(faults=Faults(quota_after=2, quota_retry_after=7200)))
    async with running_fake_spotify(quota.config) as limited:
        exhausted = limited.add_playlist(300)
        for name in ("ok", "bad", "unreadable", "quota"):
            (tmp_path / name).mkdir()
        (tmp_path / "quota" / "out.csv").write_text("previous\n")
        runs = await asyncio.gather(
            run_cli(
                full.env(),
                f"https://open.spotify.com/playlist/{good}?si=x",
                "-o",
                str(tmp_path / "ok" / "out.csv"),
            ),
            run_cli(full.env(), "not-a-playlist", "-o", str(tmp_path / "bad" / "out.csv")),
            run_cli(dev.env(), unreadable, "-o", str(tmp_path / "unreadable" / "out.csv")),
            run_cli(limited.env(), exhausted, "-o", str(tmp_path / "quota" / "out.csv")),
        )
    (ok, ok_out, ok_err), (bad, _, bad_err), (unread, _, unread_err), (limit, _, limit_err) = runs

    assert (ok, ok_err) == (0, "")
    assert "120 tracks" in ok_out and "1 local, 1 episodes, 1 unavailable" in ok_out
    assert "features: spotify 120, none 0" in ok_out
    check_written_csv(tmp_path / "ok" / "out.csv", full, ids)
    assert [p.name for p in (tmp_path / "ok").iterdir()] == ["out.csv"]  # no temporary file

    assert bad == 2 and "is not a Spotify playlist" in bad_err
    assert len(bad_err.strip().splitlines()) == 1
    assert unread == 3 and "spotify-login" in unread_err
    assert limit == 4 and "quota is used up" in limit_err
    for name in ("bad", "unreadable"):
        assert list((tmp_path / name).iterdir()) == []  # no partial output
    assert (tmp_path / "quota" / "out.csv").read_text() == "previous\n"
    assert len(list((tmp_path / "quota").iterdir())) == 1


async def run_in_process(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    *args: str,
) -> tuple[int, str, str]:
    for name in list(os.environ):
        if name.startswith(("SPOTIFY_", "RECCOBEATS_")) or name == "FEATURE_DATASETS":
            monkeypatch.delenv(name)
    for name, value in {"SPOTIFY_BACKOFF_BASE": "0.01", **env}.items():
        monkeypatch.setenv(name, value)
    code = await asyncio.to_thread(main, ["fetch", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_development_mode_fills_from_reccobeats_and_datasets(
    dev: FakeSpotify,
    recco: FakeReccoBeats,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = [dev.add_track() for _ in range(30)]
    playlist = dev.add_playlist(ids, owner="owner")
    recco.mirror([dev.tracks[i] for i in ids[:20]])
    dataset = tmp_path / "dataset.csv"
    with dataset.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["track_id", "track_name", "track_artist", *FEATURE_NAMES])
        for track_id in ids[20:25]:
            values = dev.tracks[track_id].features or {}
            writer.writerow([track_id, "x", "y", *(values[n] for n in FEATURE_NAMES)])
    out = tmp_path / "out.csv"
    env = {
        **dev.env(user="owner"),
        "RECCOBEATS_API_URL": recco.url,
        "FEATURE_DATASETS": str(dataset),
    }
    code, stdout, stderr = await run_in_process(monkeypatch, capsys, env, playlist, "-o", str(out))
    assert code == 0, stderr
    catalogue = load_catalogue(out)
    sources = [catalogue.feature_sources[catalogue.row_of(i)] for i in ids]
    assert sources == ["reccobeats"] * 20 + ["dataset:dataset.csv"] * 5 + [None] * 5
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[25]["popularity"] == "" and rows[25]["danceability"] == ""
    assert "development mode" in stdout


async def test_missing_credentials_exit_2(
    full: FakeSpotify,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {"SPOTIFY_API_URL": full.url, "RECCOBEATS_API_URL": "off"}
    code, _, stderr = await run_in_process(
        monkeypatch, capsys, env, "1" * 22, "-o", str(tmp_path / "x.csv")
    )
    assert code == 2 and "SPOTIFY_CLIENT_ID" in stderr


async def test_unknown_playlist_exits_3(
    full: FakeSpotify,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, stderr = await run_in_process(
        monkeypatch, capsys, full.env(), "0" * 22, "-o", str(tmp_path / "x.csv")
    )
    assert code == 3 and "no playlist" in stderr


async def test_rate_limit_beyond_max_wait_exits_4(
    full: FakeSpotify,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    playlist = full.add_playlist(10)
    full.set_faults(Faults(rate_limit_every=1, retry_after=30))
    out = str(tmp_path / "x.csv")
    code, _, stderr = await run_in_process(
        monkeypatch, capsys, full.env(), playlist, "-o", out, "--max-wait", "1"
    )
    assert code == 4 and "try again in 30 s" in stderr


async def test_a_missing_output_folder_is_bad_input(
    full: FakeSpotify,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = str(tmp_path / "nowhere" / "x.csv")
    code, _, stderr = await run_in_process(monkeypatch, capsys, full.env(), "1" * 22, "-o", out)
    assert code == 2 and "folder does not exist" in stderr
    assert full.requests.requests == []
