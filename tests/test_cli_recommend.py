"""``python -m recommender recommend`` run as a subprocess, as a user would."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.engine import DEFAULT_ALPHA, Recommender
from recommender.loaders import load_catalogue
from recommender.popularity import PopularityWeighting
from tests import fixtures as fx

ROOT = Path(__file__).resolve().parents[1]
HELLOS = [
    fx.SynthTrack(fx.track_id(1, "H"), "Hello", ("Adele",), "", "2015-10-23", 80, 1, None),
    fx.SynthTrack(fx.track_id(2, "H"), "Hello", ("Lionel Richie",), "", "1984", 60, 1, None),
]


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tracks = fx.synthetic_tracks(150, seed=6) + fx.edge_case_tracks() + HELLOS
    path = tmp_path_factory.mktemp("cli") / "export.csv.gz"
    return fx.write_catalogue(path, tracks, "exportify")


def recommend(*args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run the command; every run, good or bad, must be free of tracebacks."""
    return recommend_all([args], stdin=stdin)[0]


def recommend_all(
    commands: list[tuple[str | Path, ...]], stdin: str | None = None
) -> list[subprocess.CompletedProcess]:
    """Run several commands at once (start-up dominates their cost); check each stderr."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "recommender", "recommend", *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for args in commands
    ]
    done = []
    for args, process in zip(commands, processes, strict=True):
        stdout, stderr = process.communicate(stdin, timeout=120)
        assert "Traceback" not in stderr, stderr
        done.append(subprocess.CompletedProcess(args, process.returncode, stdout, stderr))
    return done


def one_error_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_help_describes_the_options() -> None:
    done = recommend("--help")
    assert done.returncode == 0
    for option in ("--catalog", "--song", "--seeds-file", "-k", "--alpha", "--format"):
        assert option in done.stdout


def test_default_table_lists_k_tracks_with_their_scores(catalogue: Path) -> None:
    done = recommend("--catalog", catalogue, "--song", "Song 3", "-k", "4", "--as-of", "2020-01-01")
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.strip().splitlines()
    assert header.split() == ["#", "track", "artists", "year", "similarity", "popularity", "score"]
    assert [row.split()[0] for row in rows] == ["1", "2", "3", "4"]
    assert "Song 3 " not in done.stdout  # the seed itself never appears


def test_json_and_csv_carry_ids_and_components_and_alpha_changes_the_ranking(
    catalogue: Path,
) -> None:
    seed = fx.track_id(3)
    common = ("--catalog", catalogue, "-k", "6", "--as-of", "2020-01-01", "--format")
    as_json, as_csv, popular = recommend_all(
        [
            (*common, "json", "--song", f"spotify:track:{seed}"),
            (*common, "csv", "--song", f"https://open.spotify.com/track/{seed}?si=x"),
            (*common, "json", "--song", seed, "--alpha", "0"),
        ]
    )
    assert as_json.returncode == as_csv.returncode == popular.returncode == 0, as_json.stderr

    results = json.loads(as_json.stdout)
    assert [r["rank"] for r in results] == [1, 2, 3, 4, 5, 6]
    assert seed not in {r["track_id"] for r in results}
    for r in results:
        expected = DEFAULT_ALPHA * r["similarity"] + (1 - DEFAULT_ALPHA) * r["popularity"]
        assert r["score"] == pytest.approx(expected, abs=2e-4)
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["track_id"] for r in rows] == [r["track_id"] for r in results]
    assert float(rows[0]["score"]) == pytest.approx(results[0]["score"])
    by_popularity = json.loads(popular.stdout)
    assert [r["track_id"] for r in by_popularity] != [r["track_id"] for r in results]
    assert [r["score"] for r in by_popularity] == [r["popularity"] for r in by_popularity]


def test_unknown_song_exits_2_with_the_closest_names(catalogue: Path) -> None:
    done = recommend("--catalog", catalogue, "--song", "Sogn 12x")
    assert done.returncode == 2
    line = one_error_line(done)
    assert "Sogn 12x" in line and "Song" in line
    assert done.stdout == ""


def test_ambiguous_name_lists_the_candidates(catalogue: Path) -> None:
    done = recommend("--catalog", catalogue, "--song", "hello")
    assert done.returncode == 2
    line = one_error_line(done)
    assert "Adele" in line and "Lionel Richie" in line
    assert fx.track_id(1, "H") in line


def test_bad_alpha_and_k_are_one_clear_line_each(catalogue: Path) -> None:
    common = ("--catalog", catalogue, "--song", "Song 1")
    runs = recommend_all(
        [(*common, "--alpha", "1.5"), (*common, "--alpha", "nan"), (*common, "-k", "0")]
    )
    assert [run.returncode for run in runs] == [2, 2, 2]
    assert [one_error_line(run).split()[1] for run in runs] == ["--alpha", "--alpha", "-k"]


def test_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    done = recommend("--catalog", tmp_path / "nope.csv", "--song", "x")
    assert done.returncode == 2
    assert "no such file" in one_error_line(done)


def test_file_without_required_columns_names_what_is_missing_and_found(tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("title,energy,tempo\nA,0.5,120\n")
    done = recommend("--catalog", path, "--song", "A")
    assert done.returncode == 2
    line = one_error_line(done)
    assert "missing" in line and "id" in line and "artists" in line
    assert "found: title, energy, tempo" in line


def test_featureless_seed_explains_alpha_zero(catalogue: Path) -> None:
    done = recommend("--catalog", catalogue, "--song", fx.TEMPO_ZERO)
    assert done.returncode == 2
    assert "--alpha 0" in one_error_line(done)


def test_batch_answers_in_input_order_and_reports_bad_lines(
    catalogue: Path, tmp_path: Path
) -> None:
    queries = [
        {"query_id": "q1", "seeds": [fx.track_id(1)], "k": 3},
        {"query_id": "q2", "seeds": [fx.track_id(2), fx.track_id(3)], "extra": "ignored"},
        "this is not json",
        {"query_id": "q4", "seeds": ["0" * 22]},
        {"query_id": "q5", "seeds": []},
        {"query_id": "q6", "seeds": [fx.track_id(6)], "k": 1},
        {"query_id": 7, "seeds": [fx.TEMPO_ZERO]},
        {"query_id": "q8", "seeds": [fx.ORIGINAL], "k": 200},
    ]
    path = tmp_path / "queries.jsonl"
    path.write_text("\n".join(q if isinstance(q, str) else json.dumps(q) for q in queries) + "\n\n")
    done = recommend("--catalog", catalogue, "--seeds-file", path, "-k", "5")

    assert done.returncode == 1
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["query_id"] for a in answers] == ["q1", "q2", "q6", "q8"]
    tracks = 150 + len(fx.edge_case_tracks()) - 1 + len(HELLOS)  # the bad id is skipped
    assert [len(a["recommendations"]) for a in answers] == [3, 5, 1, tracks - 3]
    assert fx.track_id(1) not in answers[0]["recommendations"]
    twins = {fx.ORIGINAL, fx.REMASTER, fx.FEAT_VERSION}
    assert not twins & set(answers[3]["recommendations"])
    errors = done.stderr.strip().splitlines()
    assert [e.split(":")[0] for e in errors] == ["line 3", "line 4", "line 5", "line 7"]
    assert "0" * 22 in errors[1]


def test_batch_from_stdin_matches_the_library(catalogue: Path) -> None:
    seed = fx.track_id(10)
    line = json.dumps({"query_id": "only", "seeds": [seed], "k": 4})
    done = recommend(
        "--catalog", catalogue, "--seeds-file", "-", "--as-of", "2020-01-01", stdin=line
    )
    assert done.returncode == 0, done.stderr
    weighting = PopularityWeighting(as_of=fx.AS_OF)
    expected = Recommender(load_catalogue(catalogue), weighting=weighting).recommend([seed], k=4)
    assert json.loads(done.stdout) == {
        "query_id": "only",
        "recommendations": [r.track.id for r in expected],
    }


def test_missing_seeds_file_is_one_clear_line(catalogue: Path, tmp_path: Path) -> None:
    done = recommend("--catalog", catalogue, "--seeds-file", tmp_path / "absent.jsonl")
    assert done.returncode == 2
    assert "absent.jsonl" in one_error_line(done)
