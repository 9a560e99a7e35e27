"""Offline evaluation: metrics on hand-computed examples, protocols, holdout, and the CLIs."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender.catalogue import Catalogue
from recommender.engine import Boosts, Recommender, Seeds
from recommender.evaluation import metrics as m
from recommender.evaluation.baselines import EngineMethod
from recommender.evaluation.parity import score_run
from recommender.evaluation.protocols import (
    EvaluationProtocol,
    continuation_queries,
    personalisation_members,
    playlist_order_from_file,
    seed_song_queries,
)
from recommender.loaders import load_catalogue
from recommender.popularity import PopularityWeighting
from tests.fixtures import AS_OF, synthetic_tracks, write_catalogue

REPO = Path(__file__).resolve().parents[1]
GENRES = ("pop", "rock", "rap")

# -- metrics ------------------------------------------------------------------------------


def test_ndcg_by_hand() -> None:
    # hits at ranks 2 and 3; ideal has 3 hits at ranks 1..3
    dcg = 1 / math.log2(3) + 1 / math.log2(4)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert m.ndcg_at([5, 1, 7], {1, 7, 9}, 3) == pytest.approx(dcg / idcg)
    assert m.ndcg_at([1, 7], np.array([1, 7]), 10) == pytest.approx(1.0)
    assert m.ndcg_at([4, 5], {1}, 10) == 0.0
    assert m.ndcg_at([4, 5], set(), 10) == 0.0


def test_precision_hit_r_precision_by_hand() -> None:
    assert m.precision_at([1, 2, 3, 4], {2, 4, 9}, 4) == 0.5
    assert m.precision_at([1, 2], {2}, 10) == 0.1  # divides by k, not by the list length
    assert m.hit_rate_at([1, 2, 3], {3}, 3) == 1.0
    assert m.hit_rate_at([1, 2, 3], {3}, 2) == 0.0
    # |R| = 3: only the first three recommendations count
    assert m.r_precision([5, 1, 7, 9], {1, 7, 9}) == pytest.approx(2 / 3)
    assert m.r_precision([9, 7, 1], {1, 7, 9}) == 1.0


def test_clicks_by_hand() -> None:
    relevant = {99}
    assert m.clicks([99, 1, 2], relevant) == 0  # rank 1
    assert m.clicks([*range(9), 99], relevant) == 0  # rank 10: still the first page
    assert m.clicks([*range(10), 99], relevant) == 1  # rank 11
    assert m.clicks([*range(25), 99], relevant) == 2  # rank 26
    assert m.clicks(list(range(50)), relevant) == m.CLICKS_NOT_FOUND == 51


def test_genre_diversity_coverage_by_hand() -> None:
    genres = {1: frozenset({"pop"}), 2: frozenset({"rock", "pop"}), 3: frozenset({"rap"})}
    assert m.genre_hit_at([1, 2, 3, 4], "pop", genres, 4) == 0.5
    artists = [("a",), ("a",), ("b",), ("c", "d")]
    assert m.artist_diversity([0, 1, 2, 3], artists, 4) == 0.75
    assert m.coverage([[0, 1], [1, 2]], 8) == 3 / 8
    assert m.coverage([[0, 1], [1, 2]], 8, k=1) == 2 / 8


# -- a small catalogue with playlists -----------------------------------------------------


def _playlist_catalogue(path: Path) -> Path:
    """240 tracks in 24 playlists (3 genres) of 12-30 tracks; many tracks in two."""
    rng = np.random.default_rng(7)
    tracks = synthetic_tracks(240, seed=3)
    playlists: dict[int, list[str]] = {i: [] for i in range(len(tracks))}
    genre_of: dict[str, str] = {}
    for p in range(24):
        pid = f"PL{p:03d}"
        genre_of[pid] = GENRES[p % 3]
        size = int(rng.integers(12, 31))
        for t in rng.choice(len(tracks), size=size, replace=False):
            playlists[int(t)].append(pid)
    tracks = [replace(t, playlists=tuple(playlists[i])) for i, t in enumerate(tracks)]
    # Two releases of one song (a duplicate group) inside one playlist.
    twin = replace(tracks[0], id=tracks[0].id[:-1] + "X", playlists=tracks[0].playlists)
    write_catalogue(path, [*tracks, twin], "tidytuesday")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["playlist_genre"] = frame["playlist_id"].map(lambda p: genre_of.get(p, ""))
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def catalogue_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _playlist_catalogue(tmp_path_factory.mktemp("eval") / "playlists.csv")


@pytest.fixture(scope="module")
def catalogue(catalogue_path: Path) -> Catalogue:
    return load_catalogue(catalogue_path)


def _recommender(catalogue: Catalogue) -> Recommender:
    return Recommender(catalogue, weighting=PopularityWeighting(as_of=AS_OF))


# -- protocols ----------------------------------------------------------------------------


def test_protocols_are_named_by_their_letter_or_their_name() -> None:
    assert [p.value for p in EvaluationProtocol] == ["A", "B", "C"]
    assert EvaluationProtocol.parse("a") is EvaluationProtocol.SEED_SONG
    assert EvaluationProtocol.parse(" continuation ") is EvaluationProtocol.CONTINUATION
    assert EvaluationProtocol.PERSONALISATION.label == "(C) personalisation"
    # A member is its letter wherever results are keyed or printed (JSON, tables).
    assert json.dumps({EvaluationProtocol.SEED_SONG: 1}) == '{"A": 1}'
    for bad in ("D", "", "seed song", "AB"):
        with pytest.raises(ValueError, match="not an evaluation protocol"):
            EvaluationProtocol.parse(bad)


def test_seed_song_queries_are_reproducible_and_well_formed(catalogue: Catalogue) -> None:
    first, again, other = (seed_song_queries(catalogue, s) for s in (0, 0, 1))
    assert [q.query_id for q in first] == [q.query_id for q in again]
    assert [q.query_id for q in first] != [q.query_id for q in other]
    assert all(len(catalogue.memberships[q.playlist_id]) >= 10 for q in first)
    by_playlist: dict[str, int] = {}
    for q in first:
        by_playlist[q.playlist_id] = by_playlist.get(q.playlist_id, 0) + 1
        (seed,) = q.seeds
        assert q.k == 10 and q.holdout == (q.playlist_id,)
        assert seed in catalogue.memberships[q.playlist_id]
        # relevant = the rest of the playlist, never the seed or another release of it
        assert not np.isin(catalogue.duplicates_of(seed), q.relevant).any()
        assert np.isin(q.relevant, catalogue.memberships[q.playlist_id]).all()
        assert q.genre == catalogue.playlists[q.playlist_id].genre
    assert max(by_playlist.values()) == 5


def test_duplicate_of_the_seed_is_not_relevant(catalogue: Catalogue) -> None:
    original = catalogue.row_of(catalogue.ids[0])
    assert original is not None
    twins = catalogue.duplicates_of(original)
    assert twins.shape[0] == 2
    for q in seed_song_queries(catalogue, 0) + seed_song_queries(catalogue, 1):
        if q.seeds[0] in twins:
            assert not np.isin(twins, q.relevant).any()


def test_continuation_uses_file_order(catalogue: Catalogue, catalogue_path: Path) -> None:
    order = playlist_order_from_file(catalogue_path, catalogue)
    queries = continuation_queries(catalogue, playlist_order=order)
    assert queries and all(len(catalogue.memberships[q.playlist_id]) >= 20 for q in queries)
    for q in queries:
        assert q.k == 100 and q.seeds == tuple(int(r) for r in order[q.playlist_id][:5])
        assert not np.isin(q.seeds, q.relevant).any()


def test_personalisation_members(catalogue: Catalogue) -> None:
    members = personalisation_members(catalogue, 0)
    assert members
    assert [x.query.query_id for x in members] == [
        x.query.query_id for x in personalisation_members(catalogue, 0)
    ]
    for member in members:
        liked_pl = member.query.playlist_id
        assert catalogue.playlists[member.disliked_playlist].genre != member.query.genre
        assert len(member.liked) == 10 and len(member.disliked) <= 5
        assert np.isin(member.liked, catalogue.memberships[liked_pl]).all()
        assert not np.isin(member.liked, member.query.relevant).any()
        assert member.query.seeds[0] not in member.liked


# -- holdout ------------------------------------------------------------------------------


def test_membership_signal_never_sees_the_query_playlist(catalogue: Catalogue) -> None:
    """Holding out a query's playlist must equal a catalogue that never had it."""
    recommender = _recommender(catalogue)
    queries = seed_song_queries(catalogue, 0)[:40]
    with_holdout = EngineMethod("m", recommender, 0.7, 5.0).rank(queries)
    for q, ranked in zip(queries, with_holdout, strict=True):
        answer = recommender.recommend(
            Seeds(q.seeds, ignore_playlists=q.holdout),
            len(catalogue),
            alpha=0.7,
            boosts=Boosts(playlist_weight=5.0),
        )
        for rec in answer:
            if rec.breakdown.playlists > 0:
                shared = set(catalogue.playlists_of(rec.row)) & set(
                    catalogue.playlists_of(q.seeds[0])
                )
                assert shared - {q.playlist_id}, "a bonus came only from the held-out playlist"
        blind = replace(
            catalogue,
            memberships={p: r for p, r in catalogue.memberships.items() if p != q.playlist_id},
        )
        expected = EngineMethod("m", _recommender(blind), 0.7, 5.0).rank([q])[0]
        assert ranked.tolist() == expected.tolist()


def test_without_holdout_the_signal_would_leak(catalogue: Catalogue) -> None:
    """The check above can fail: without the holdout, the query playlist lifts NDCG."""
    recommender = _recommender(catalogue)
    queries = seed_song_queries(catalogue, 0)
    leaky = [replace(q, holdout=()) for q in queries]

    def ndcg(qs: list) -> float:
        lists = EngineMethod("m", recommender, 0.7, 5.0).rank(qs)
        return float(
            np.mean([m.ndcg_at(r, q.relevant, 10) for r, q in zip(lists, qs, strict=True)])
        )

    assert ndcg(leaky) > ndcg(queries) + 0.2


# -- command lines ------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recommender", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )


def test_evaluate_cli_on_a_small_catalogue(catalogue_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "quality.md"
    out.write_text(
        "old\n<!-- end of generated results: text below this line is kept by --out -->\nKEPT\n"
    )
    done = _cli(
        "evaluate", "--catalog", str(catalogue_path), "--seeds", "2",
        "--as-of", AS_OF.isoformat(), "--out", str(out), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report["results"]) == {"A", "B", "C"}
    assert report["tuning"]["chosen"] in (0.25, 0.5, 1.0, 2.0, 4.0)
    engine = report["results"]["A"]["engine alpha 1"]["ndcg@10"]
    assert len(engine["per_seed"]) == 2
    assert report["results"]["A"]["random"]["ndcg@10"]["mean"] < engine["mean"]
    text = out.read_text()
    assert "## Results" in text and "tutorial content" in text and text.endswith("KEPT\n")
    assert "old" not in text.splitlines()[0]


def test_evaluate_cli_errors_are_one_line(tmp_path: Path) -> None:
    done = _cli("evaluate", "--catalog", str(tmp_path / "missing.csv"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    done = _cli("evaluate", "--catalog", "x.csv", "--protocols", "A,Z")
    assert done.returncode == 2 and "--protocols" in done.stderr


def test_batch_cli_with_holdouts_matches_evaluate(catalogue_path: Path, tmp_path: Path) -> None:
    catalogue = load_catalogue(catalogue_path)
    queries_file, run_file = tmp_path / "a.jsonl", tmp_path / "run.jsonl"
    done = _cli(
        "evaluate", "--catalog", str(catalogue_path), "--protocols", "A", "--seeds", "1",
        "--membership-weight", "2", "--as-of", AS_OF.isoformat(),
        "--export-queries", str(queries_file), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]["A"]
    (name,) = [
        n
        for n in results
        if n.startswith("engine alpha 0.7") and n.endswith("ship 2") and "diversity" not in n
    ]
    evaluated = results[name]
    answered = _cli(
        "recommend", "--catalog", str(catalogue_path), "--seeds-file", str(queries_file),
        "--alpha", "0.7", "--membership-weight", "2", "--as-of", AS_OF.isoformat(),
    )  # fmt: skip
    assert answered.returncode == 0, answered.stderr
    run_file.write_text(answered.stdout)
    # The same rankings as the evaluation's engine method ...
    queries = seed_song_queries(catalogue, 0)
    lists = EngineMethod("m", _recommender(catalogue), 0.7, 2.0).rank(queries)
    by_id = {
        json.loads(line)["query_id"]: json.loads(line) for line in answered.stdout.splitlines()
    }
    for q, ranked in zip(queries, lists, strict=True):
        assert by_id[q.query_id]["recommendations"] == [catalogue.ids[r] for r in ranked]
    # ... hence the same numbers.
    scores = score_run(catalogue, run_file)
    for metric, value in scores.items():
        if metric != "answered":
            assert value == pytest.approx(evaluated[metric]["per_seed"][0])


@pytest.mark.shared_data
def test_real_dataset_queries(spotify_songs_path: Path) -> None:
    catalogue = load_catalogue(spotify_songs_path)
    queries = seed_song_queries(catalogue, 0)
    assert len(queries) == 2300
    assert len(continuation_queries(catalogue)) == 438
