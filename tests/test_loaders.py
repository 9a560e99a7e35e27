"""Loading catalogues from CSV: every schema, the awkward rows, and the real datasets."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from recommender.features import FEATURE_NAMES
from recommender.loaders import (
    CatalogueFormatError,
    load_catalogue,
    load_catalogue_with_report,
    map_columns,
)
from tests import fixtures as fx

EDGES = fx.edge_case_tracks()
TRACKS = fx.synthetic_tracks(60, seed=1) + EDGES
GOOD = [t for t in TRACKS if t.id != fx.BAD_ID]


@pytest.fixture(params=fx.SCHEMAS)
def schema(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=[".csv", ".csv.gz"])
def written(request: pytest.FixtureRequest, tmp_path: Path, schema: str) -> Path:
    return fx.write_catalogue(tmp_path / f"{schema}{request.param}", TRACKS, schema)


def test_every_schema_loads_every_valid_track_once(written: Path) -> None:
    catalogue, report = load_catalogue_with_report(written)

    assert catalogue.ids == [t.id for t in GOOD]
    assert report.tracks == len(GOOD)
    assert report.skipped_bad_id == 1
    assert fx.BAD_ID not in catalogue


def test_gzip_is_really_compressed(tmp_path: Path) -> None:
    path = fx.write_catalogue(tmp_path / "c.csv.gz", TRACKS, "exportify")
    with gzip.open(path, "rt") as f:
        assert f.readline().startswith("Track URI,")
    assert len(load_catalogue(path)) == len(GOOD)


def test_names_artists_and_features_survive_the_round_trip(written: Path) -> None:
    catalogue = load_catalogue(written)

    for expected in fx.synthetic_tracks(60, seed=1)[:10]:
        track = catalogue.track(catalogue.row_of(expected.id))
        assert track.name == expected.name
        assert track.artists == expected.artists
        assert track.features == pytest.approx(expected.features)
    twin = catalogue.track(catalogue.row_of(fx.ORIGINAL))
    assert twin.artists == ("Twin", "Guest")


@pytest.mark.parametrize(
    "track_id",
    [fx.MISSING_FEATURE, fx.OUT_OF_RANGE, fx.TEMPO_ZERO, fx.FRACTIONAL_KEY],
)
def test_incomplete_or_impossible_features_keep_the_track_featureless(
    written: Path, track_id: str
) -> None:
    catalogue, report = load_catalogue_with_report(written)

    row = catalogue.row_of(track_id)
    assert row is not None
    assert not catalogue.has_features[row]
    assert np.isnan(catalogue.features[row]).all()
    assert catalogue.track(row).features is None
    assert report.featureless == 4


def test_popularity_and_dates_where_the_schema_has_them(written: Path, schema: str) -> None:
    catalogue = load_catalogue(written)
    row = catalogue.row_of

    if schema == "hit_predictor":
        assert np.isnan(catalogue.popularity).all()
        assert set(catalogue.release_dates) == {None}
        return
    assert np.isnan(catalogue.popularity[row(fx.NO_POPULARITY)])
    assert catalogue.popularity[row(fx.DATE_0000)] == 60
    assert catalogue.release_dates[row(fx.DATE_0000)] is None
    assert catalogue.release_dates[row(fx.NO_DATE)] is None
    assert catalogue.release_date_precisions[row(fx.YEAR_ONLY)] == "year"
    assert catalogue.release_date_precisions[row(fx.MONTH_ONLY)] == "month"
    assert catalogue.release_date_precisions[row(fx.ORIGINAL)] == "day"
    assert catalogue.track(row(fx.YEAR_ONLY)).year == 1987


def test_tidytuesday_rows_per_playlist_become_one_track_with_memberships(tmp_path: Path) -> None:
    tracks = fx.synthetic_tracks(40, seed=2)
    catalogue = load_catalogue(fx.write_catalogue(tmp_path / "t.csv", tracks, "tidytuesday"))

    assert len(catalogue) == 40
    expected: dict[str, set[str]] = {}
    for t in tracks:
        for playlist in t.playlists:
            expected.setdefault(playlist, set()).add(t.id)
    assert set(catalogue.playlists) == set(expected)
    for playlist, ids in expected.items():
        assert {catalogue.ids[r] for r in catalogue.memberships[playlist]} == ids
    shared = next(t for t in tracks if len(t.playlists) == 2)
    assert sorted(catalogue.playlists_of(catalogue.row_of(shared.id))) == sorted(shared.playlists)


def test_columns_match_whatever_the_case(tmp_path: Path) -> None:
    path = fx.write_catalogue(tmp_path / "e.csv", GOOD, "exportify")
    text = path.read_text()
    header, body = text.split("\n", 1)
    path.write_text(header.upper() + "\n" + body)

    catalogue = load_catalogue(path)

    assert catalogue.ids == [t.id for t in GOOD]
    assert catalogue.has_features.sum() == len(GOOD) - 4


def test_map_columns_prefers_track_id_over_uri_and_names_each_field() -> None:
    mapping = map_columns(["uri", "track", "artist", "Danceability", "track_id"])
    assert mapping["id"] == "track_id"
    assert mapping["name"] == "track"
    assert mapping["danceability"] == "Danceability"


def test_missing_required_columns_are_named_with_what_was_found(tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("title,danceability,energy\nSong,0.5,0.5\n")

    with pytest.raises(CatalogueFormatError) as raised:
        load_catalogue(path)

    message = str(raised.value)
    assert "id" in message and "artists" in message
    assert "found: title, danceability, energy" in message
    assert "\n" not in message


def test_missing_file_and_binary_garbage_are_format_errors(tmp_path: Path) -> None:
    with pytest.raises(CatalogueFormatError, match="no such file"):
        load_catalogue(tmp_path / "absent.csv")
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"\xff\xfe\x00\x81" * 100)
    with pytest.raises(CatalogueFormatError):
        load_catalogue(garbage)


def test_sources_say_where_values_came_from(tmp_path: Path) -> None:
    fetched = load_catalogue(fx.write_catalogue(tmp_path / "f.csv", GOOD, "fetch"))
    exported = load_catalogue(fx.write_catalogue(tmp_path / "x.csv", GOOD, "exportify"))
    first = GOOD[0].id

    assert fetched.feature_sources[fetched.row_of(first)] == "reccobeats"
    assert fetched.popularity_sources[fetched.row_of(first)] == "spotify"
    assert exported.feature_sources[exported.row_of(first)] == "x.csv"
    assert exported.feature_sources[exported.row_of(fx.TEMPO_ZERO)] is None
    assert exported.popularity_sources[exported.row_of(fx.NO_POPULARITY)] is None


# -- hostile files: absurd numbers and headers ------------------------------------------

HEADER = (
    "Track URI,Track Name,Artist Name(s),Popularity,Duration (ms),Danceability,Energy,Key,"
    "Loudness,Mode,Speechiness,Acousticness,Instrumentalness,Liveness,Valence,Tempo\n"
)
FINE_FEATURES = "0.5,0.6,5,-7.0,1,0.05,0.2,0.0,0.1,0.4,120.0"


def _row(n: int, popularity: str = "50", duration: str = "200000", features: str = "") -> str:
    return (
        f"spotify:track:{n:022d},Song {n},Band,{popularity},{duration},"
        f"{features or FINE_FEATURES}\n"
    )


def test_absurd_numbers_are_dropped_counted_and_the_tracks_kept(tmp_path: Path) -> None:
    rows = [
        _row(1),  # clean
        _row(2, duration="inf"),
        _row(3, duration="1e30"),
        _row(4, duration="-200000"),
        _row(5, duration="NaN", popularity="1e30"),
        _row(6, popularity="-1"),
        _row(7, popularity="abc"),
        _row(8, features="0.5,0.6,12,-7.0,1,0.05,0.2,0.0,0.1,0.4,120.0"),  # key 12
        _row(9, features="0.5,0.6,5,-7.0,2,0.05,0.2,0.0,0.1,0.4,inf"),  # mode 2, tempo inf
        _row(10, duration="", popularity=""),  # empty cells are unknown, not wrong
        _row(11, duration="1" + "0" * 400),  # beyond float range
    ]
    path = tmp_path / "hostile.csv"
    path.write_text(HEADER + "".join(rows))

    catalogue, report = load_catalogue_with_report(path)

    assert report.tracks == 11 and len(catalogue) == 11  # every track is kept
    assert report.dropped == {
        "duration_ms": 5,
        "popularity": 3,
        "key": 1,
        "mode": 1,
        "tempo": 1,
    }
    assert report.dropped_values == 11
    line = report.dropped_line()
    assert line is not None and line.startswith("11 impossible values dropped")
    assert "duration 5" in line
    by_id = {t.id: t for t in catalogue.tracks()}
    assert by_id[f"{1:022d}"].duration_ms == 200000 and by_id[f"{1:022d}"].popularity == 50
    for n in (2, 3, 4, 5, 10, 11):
        assert by_id[f"{n:022d}"].duration_ms is None
    for n in (5, 6, 7, 10):
        assert by_id[f"{n:022d}"].popularity is None
    assert by_id[f"{8:022d}"].features is None and by_id[f"{9:022d}"].features is None
    assert by_id[f"{2:022d}"].features is not None  # a bad duration leaves the features
    assert report.featureless == 2


def test_a_clean_file_reports_nothing_dropped(tmp_path: Path) -> None:
    path = tmp_path / "clean.csv"
    path.write_text(HEADER + _row(1) + _row(2))

    _, report = load_catalogue_with_report(path)

    assert report.dropped == {} and report.dropped_line() is None


def test_very_many_and_very_long_headers_still_load(tmp_path: Path) -> None:
    junk = [f"junk column {i} " + "x" * 5_000 for i in range(3_000)]
    header = ",".join(["Track URI", "Track Name", "Artist Name(s)", *junk]) + "\n"
    row = ",".join([f"spotify:track:{1:022d}", "Song", "Band", *["1"] * len(junk)]) + "\n"
    path = tmp_path / "wide.csv"
    path.write_text(header + row)

    catalogue, report = load_catalogue_with_report(path)

    assert catalogue.ids == [f"{1:022d}"] and report.dropped == {}


def test_a_missing_column_error_stays_short_whatever_the_header(tmp_path: Path) -> None:
    names = ["line\nbreak" + "y" * 10_000] + [f"col{i}" for i in range(5_000)]
    path = tmp_path / "no-id.csv"
    path.write_text(",".join(f'"{n}"' for n in names) + "\n" + ",".join("1" for _ in names))

    with pytest.raises(CatalogueFormatError) as raised:
        load_catalogue(path)

    message = str(raised.value)
    assert len(message) < 1_000
    assert "\n" not in message
    assert message.endswith(f"... and {len(names) - 12} more")


# -- the real datasets (skipped when ../shared is absent) -------------------------------


@pytest.mark.shared_data
def test_spotify_songs_dedupes_tracks_and_keeps_playlists(spotify_songs_path: Path) -> None:
    catalogue, report = load_catalogue_with_report(spotify_songs_path)

    assert report.rows_read == 32_833
    assert len(catalogue) == report.tracks == 28_356
    assert len(catalogue.playlists) == len(catalogue.memberships) == 471
    assert report.skipped_bad_id == 0
    # Every row of the file is a (track, playlist) pair the catalogue can answer.
    total_memberships = sum(len(rows) for rows in catalogue.memberships.values())
    assert 28_356 < total_memberships <= 32_833
    assert not np.isnan(catalogue.popularity).any()
    # One row has tempo 0 (impossible): it stays, featureless.
    assert report.featureless == 1
    (row,) = np.flatnonzero(~catalogue.has_features)
    assert catalogue.ids[row] in catalogue
    assert catalogue.track(row).features is None
    assert catalogue.playlists_of(int(row))


@pytest.mark.shared_data
def test_hit_predictor_has_tracks_and_features_but_no_popularity(hit_predictor_path: Path) -> None:
    catalogue, report = load_catalogue_with_report(hit_predictor_path)

    assert len(catalogue) == 40_560
    assert np.isnan(catalogue.popularity).all()
    assert set(catalogue.release_dates) == {None}
    assert catalogue.playlists == {}
    assert report.featureless <= 5
    assert catalogue.features[catalogue.has_features].shape[1] == len(FEATURE_NAMES)
