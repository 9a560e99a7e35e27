"""``python -m recommender recommend`` run as a subprocess, as a user would."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.answer import BREAKDOWN_PARTS
from recommender.engine import DEFAULT_ALPHA, Recommender, Seeds
from recommender.features import FEATURE_NAMES
from recommender.loaders import load_catalogue
from recommender.popularity import PopularityWeighting
from recommender.query import Steering
from recommender.resolve import SongResolver
from tests import fixtures as fx

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "spotify_songs.csv.gz"
PARTS = list(BREAKDOWN_PARTS)
# The table shows the steer part only when something steered (it is 0 otherwise).
TABLE_PARTS = [part for part in PARTS if part != "steer"]


class _AnyText(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str)

    __hash__ = str.__hash__


ANY_TEXT = _AnyText()
# Two different songs with one title, equally well known: nobody can tell which is meant.
HELLOS = [
    fx.SynthTrack(fx.track_id(1, "H"), "Hello", ("Adele",), "", "2015-10-23", 70, 1, None),
    fx.SynthTrack(fx.track_id(2, "H"), "Hello", ("Lionel Richie",), "", "1984", 70, 1, None),
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
    options = (
        "--catalog",
        "--song",
        "--seeds-file",
        "-k",
        "--alpha",
        "--format",
        "--playlist-weight",
    )
    for option in options:
        assert option in done.stdout


def test_default_table_names_the_seed_and_lists_k_tracks_with_their_score_parts(
    catalogue: Path,
) -> None:
    seed = fx.track_id(3)
    done = recommend("--catalog", catalogue, "--song", seed, "-k", "4", "--as-of", "2020-01-01")
    assert done.returncode == 0, done.stderr
    seed_line, header, *rows = done.stdout.strip().splitlines()
    assert seed_line.startswith("seed: Song 3 - ") and seed_line.endswith(f"({fx.track_id(3)})")
    assert header.split() == [
        "#",
        "track",
        "artists",
        "year",
        "similarity",
        *TABLE_PARTS,
        "score",
    ]
    assert [row.split()[0] for row in rows] == ["1", "2", "3", "4"]
    assert "Song 3 " not in "\n".join(rows)  # the seed itself never appears
    for row in rows:
        *parts, score = (float(cell) for cell in row.split()[-len(TABLE_PARTS) - 1 :])
        assert sum(parts) == pytest.approx(score, abs=3e-3)  # each rounded to 3 places


def test_json_and_csv_carry_the_seeds_and_the_same_breakdown_and_alpha_changes_the_ranking(
    catalogue: Path,
) -> None:
    seed = fx.track_id(3)
    common = ("--catalog", catalogue, "-k", "6", "--as-of", "2020-01-01", "--format")
    as_json, as_csv, popular, table = recommend_all(
        [
            (*common, "json", "--song", f"spotify:track:{seed}"),
            (*common, "csv", "--song", f"https://open.spotify.com/track/{seed}?si=x"),
            (*common, "json", "--song", seed, "--alpha", "0"),
            (*common, "table", "--song", seed),
        ]
    )
    assert {as_json.returncode, as_csv.returncode, popular.returncode} == {0}, as_json.stderr

    document = json.loads(as_json.stdout)
    assert document["seeds"] == [{"track_id": seed, "track": "Song 3", "artists": ANY_TEXT}]
    assert document["fallback"] is None
    results = document["recommendations"]
    assert [r["rank"] for r in results] == [1, 2, 3, 4, 5, 6]
    assert seed not in {r["track_id"] for r in results}
    for r in results:
        assert r["sound"] == pytest.approx(DEFAULT_ALPHA * r["similarity"], abs=2e-4)
        expected = (1 - DEFAULT_ALPHA) * r["recency_popularity"]
        assert r["recent_popular"] == pytest.approx(expected, abs=2e-4)
        assert r["score"] == pytest.approx(sum(r[part] for part in PARTS), abs=5e-4)
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)

    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["track_id"] for r in rows] == [r["track_id"] for r in results]
    assert {r["seed_track_ids"] for r in rows} == {seed}
    assert {r["seed_tracks"] for r in rows} == {"Song 3"}
    for row, result in zip(rows, results, strict=True):
        for part in (*PARTS, "score", "similarity"):
            assert float(row[part]) == pytest.approx(result[part])
    # The three formats carry the same score parts.
    header = table.stdout.splitlines()[1].split()
    assert set(TABLE_PARTS) | {"score"} <= set(header) & set(rows[0]) & set(results[0])
    assert {"steer", "steering", "relaxed"} <= set(rows[0]) & (set(results[0]) | set(document))

    by_popularity = json.loads(popular.stdout)["recommendations"]
    assert [r["track_id"] for r in by_popularity] != [r["track_id"] for r in results]
    assert [r["score"] for r in by_popularity] == [r["recency_popularity"] for r in by_popularity]


def test_several_seeds_are_named_and_more_than_five_are_refused(catalogue: Path) -> None:
    common = ("--catalog", catalogue, "-k", "3", "--format", "json")
    songs = [arg for i in range(1, 7) for arg in ("--song", fx.track_id(i))]
    three, six = recommend_all([(*common, *songs[:6]), (*common, *songs)])
    assert three.returncode == 0, three.stderr
    document = json.loads(three.stdout)
    assert [s["track_id"] for s in document["seeds"]] == [fx.track_id(i) for i in (1, 2, 3)]
    assert not {fx.track_id(i) for i in (1, 2, 3)} & {
        r["track_id"] for r in document["recommendations"]
    }
    assert six.returncode == 2 and "at most 5" in one_error_line(six)


@pytest.mark.parametrize("text", ["Snog", "qqq zzz"])
def test_unknown_song_exits_2_with_the_closest_names(catalogue: Path, text: str) -> None:
    done = recommend("--catalog", catalogue, "--song", text)
    assert done.returncode == 2
    line = one_error_line(done)
    assert f"no song matches {text!r}" in line
    assert done.stdout == ""
    # Whatever the library finds closest is named (the lookup's own rules decide what).
    resolver = SongResolver(load_catalogue(catalogue))
    resolution = resolver.resolve(text)
    assert resolution.row is None
    for row in (resolution.candidates or resolver.closest(text, limit=3))[:5]:
        assert resolver.catalogue.ids[row] in line


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
    assert [a["query_id"] for a in answers] == ["q1", "q2", "q4", "q6", "q8"]
    # q4's id is not in the catalogue: its line keeps its place and says so.
    assert answers[2]["unresolved"][0]["text"] == "0" * 22
    assert answers[2]["unresolved"][0]["problem"] == "not in catalogue"
    del answers[2]
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
    library = Recommender(load_catalogue(catalogue), weighting=weighting)
    expected = library.recommend(Seeds([seed]), k=4)
    assert json.loads(done.stdout) == {
        "query_id": "only",
        "seeds": [seed],
        "recommendations": [r.track.id for r in expected],
        "fallback": None,
    }


def test_batch_seeds_may_be_typed_names_and_the_line_names_what_they_resolved_to(
    catalogue: Path,
) -> None:
    library = load_catalogue(catalogue)
    row = library.row_of(fx.track_id(20))
    typed = f"{library.names[row]} - {library.artists[row][0]}".upper()
    lines = [
        {"query_id": "typed", "seeds": [typed, fx.track_id(21)], "k": 3},
        {"query_id": "lost", "seeds": ["qqq zzz"], "k": 3},
    ]
    done = recommend(
        "--catalog", catalogue, "--seeds-file", "-", stdin="\n".join(map(json.dumps, lines))
    )
    assert done.returncode == 1  # one line could not be answered
    answer, lost = [json.loads(line) for line in done.stdout.splitlines()]
    resolved = SongResolver(library).resolve(typed).row
    assert resolved is not None
    assert answer["seeds"] == [library.ids[resolved], fx.track_id(21)]
    assert len(answer["recommendations"]) == 3
    # The unresolved line keeps its place, answers nothing, and says what to pick from.
    assert lost["query_id"] == "lost" and lost["recommendations"] == []
    (problem,) = lost["unresolved"]
    assert problem["text"] == "qqq zzz" and problem["problem"] == "not found"
    assert all(library.row_of(c) is not None for c in problem["candidates"])
    assert done.stderr.startswith("line 2: could not resolve 'qqq zzz'")


def test_batch_line_with_an_ambiguous_seed_lists_the_candidates(catalogue: Path) -> None:
    library = load_catalogue(catalogue)
    line = json.dumps({"query_id": "which", "seeds": ["Hello", fx.track_id(3)], "k": 2})
    done = recommend("--catalog", catalogue, "--seeds-file", "-", stdin=line)
    assert done.returncode == 1
    (answer,) = [json.loads(out) for out in done.stdout.splitlines()]
    assert answer["seeds"] == [fx.track_id(3)]  # what did resolve is named
    (problem,) = answer["unresolved"]
    assert problem["problem"] == "ambiguous"
    hellos = {library.ids[r] for r in range(len(library)) if library.names[r] == "Hello"}
    assert len(hellos) >= 2 and set(problem["candidates"]) >= hellos


def test_missing_seeds_file_is_one_clear_line(catalogue: Path, tmp_path: Path) -> None:
    done = recommend("--catalog", catalogue, "--seeds-file", tmp_path / "absent.jsonl")
    assert done.returncode == 2
    assert "absent.jsonl" in one_error_line(done)


def _readme_example() -> tuple[list[str], str]:
    """The README's `recommend` command (as arguments) and the output block after it."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(\w*)\n(.*?)```", text, flags=re.DOTALL)
    for i, (language, body) in enumerate(blocks):
        if language == "sh" and "python -m recommender recommend" in body:
            command = body[body.index("python -m recommender recommend") :]
            args = shlex.split(command.replace("\\\n", " "))[4:]  # after "recommend"
            return args, blocks[i + 1][1]
    raise AssertionError("README has no `python -m recommender recommend` example")


@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/data (the shared dataset)")
def test_readme_example_output_is_what_the_command_prints() -> None:
    args, shown = _readme_example()
    assert "--as-of" in args  # without a fixed date the numbers would drift day by day
    done = recommend(*args)
    assert done.returncode == 0, done.stderr
    assert done.stdout == shown


# -- steering -----------------------------------------------------------------------------


def test_steering_options_shape_every_format_and_the_parts_still_add_up(catalogue: Path) -> None:
    seed = fx.track_id(3)
    common = ("--catalog", catalogue, "--song", seed, "-k", "6", "--as-of", "2020-01-01")
    steer = ("--energy", "0.9", "--valence", "0.2", "--tempo", "80-160", "--explore", "familiar")
    as_json, as_csv, table, low = recommend_all(
        [
            (*common, *steer, "--format", "json"),
            (*common, *steer, "--format", "csv"),
            (*common, *steer),
            (*common, "--energy", "0.1", "--format", "json"),
        ]
    )
    for done in (as_json, as_csv, table, low):
        assert done.returncode == 0, done.stderr
    document = json.loads(as_json.stdout)
    assert document["steering"] == {
        "targets": {"energy": 0.9, "valence": 0.2},
        "tempo": [80.0, 160.0],
        "decade": None,
        "exploration": "familiar",
    }
    assert document["relaxed"] == []
    results = document["recommendations"]
    assert any(r["steer"] != 0 for r in results)
    for r in results:
        assert r["score"] == pytest.approx(sum(r[part] for part in PARTS), abs=5e-4)
    library = load_catalogue(catalogue)
    tempo = library.features[:, FEATURE_NAMES.index("tempo")]
    energy = library.features[:, FEATURE_NAMES.index("energy")]
    rows = [library.row_of(r["track_id"]) for r in results]
    assert all(80 <= tempo[row] <= 160 for row in rows)
    low_rows = [library.row_of(r["track_id"]) for r in json.loads(low.stdout)["recommendations"]]
    assert energy[rows].mean() > energy[low_rows].mean()

    csv_rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert {row["steering"] for row in csv_rows} == {
        "energy 0.9, valence 0.2, tempo 80-160 BPM, familiar"
    }
    assert [row["track_id"] for row in csv_rows] == [r["track_id"] for r in results]
    lines = table.stdout.splitlines()
    assert lines[1] == "steering: energy 0.9, valence 0.2, tempo 80-160 BPM, familiar"
    assert lines[2].split()[-2:] == ["steer", "score"]


def test_a_filter_nothing_matches_is_dropped_with_a_note(catalogue: Path) -> None:
    common = ("--catalog", catalogue, "--song", fx.track_id(3), "-k", "3")
    table, as_json = recommend_all(
        [
            (*common, "--decade", "1920s", "--tempo", "60-200"),
            (*common, "--decade", "1920s", "--format", "json"),
        ]
    )
    assert table.returncode == 0 and as_json.returncode == 0, table.stderr
    assert (
        "note: nothing in this catalogue matches the decade (tempo 60-200 BPM, 1920s): these "
        "suggestions are not limited by it"
    ) in table.stdout.splitlines()
    document = json.loads(as_json.stdout)
    assert document["relaxed"] == ["decade"] and len(document["recommendations"]) == 3


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--energy", "1.5"), "--energy must be from 0 to 1"),
        (("--valence", "nan"), "--valence must be from 0 to 1"),
        (("--tempo", "fast"), "tempo must be a range of BPM like 90-120"),
        (("--tempo", "400-500"), "tempo must be a range within 1-300 BPM"),
        (("--decade", "1995"), "decade must be a decade from 1900s to 2090s"),
    ],
)
def test_bad_steering_is_one_clear_line(catalogue: Path, args: tuple[str, ...], words: str) -> None:
    done = recommend("--catalog", catalogue, "--song", fx.track_id(3), *args)
    assert done.returncode == 2
    assert words in one_error_line(done)


def test_batch_lines_take_the_same_steering_keys(catalogue: Path) -> None:
    seed = fx.track_id(10)
    lines = [
        {"query_id": "plain", "seeds": [seed], "k": 4},
        {"query_id": "moody", "seeds": [seed], "k": 4, "energy": 0.9, "tempo": "90-140"},
        {"query_id": "listed", "seeds": [seed], "k": 4, "tempo": [90, 140], "decade": 1990},
        {"query_id": "far", "seeds": [seed], "k": 4, "explore": "adventurous"},
        {"query_id": "bad", "seeds": [seed], "tempo": "quick"},
        {"query_id": "worse", "seeds": [seed], "explore": "sideways"},
        {"query_id": "empty", "seeds": [seed], "k": 2, "decade": "1920s"},
    ]
    done = recommend(
        "--catalog", catalogue, "--seeds-file", "-", "--as-of", "2020-01-01",
        stdin="\n".join(map(json.dumps, lines)),
    )  # fmt: skip
    assert done.returncode == 1
    assert [e.split(":")[0] for e in done.stderr.strip().splitlines()] == ["line 5", "line 6"]
    answers = {a["query_id"]: a for a in map(json.loads, done.stdout.splitlines())}
    assert list(answers) == ["plain", "moody", "listed", "far", "empty"]  # input order
    assert "steering" not in answers["plain"]  # unsteered lines look as before
    library = Recommender(load_catalogue(catalogue), weighting=PopularityWeighting(as_of=fx.AS_OF))
    expected = {
        "moody": Steering({"energy": 0.9}, tempo=(90, 140)),
        "listed": Steering(tempo=(90, 140), decade=1990),
        "far": Steering(exploration="adventurous"),
    }
    for query_id, steering in expected.items():
        answer = library.recommend(Seeds([seed]), k=4, steer=steering)
        assert answers[query_id]["recommendations"] == [r.track.id for r in answer]
        assert answers[query_id]["steering"] == steering.as_dict()
    assert answers["empty"]["relaxed"] == ["decade"]
