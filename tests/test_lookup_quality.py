"""The lookup test set: real-world misspellings of songs in the shared catalogue.

``tests/data/misspellings.jsonl`` comes from ``scripts/make_misspellings.py`` (models
of human typing errors plus a hand-written list). The resolver must pick the meant
song on its own (top-1) for at least 90% of it, and docs/lookup.md must report the
score it has now. The tests that need ``../shared/data`` skip cleanly without it.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from recommender.ids import parse_spotify_id
from recommender.loaders import load_catalogue
from recommender.resolve import SongResolver
from recommender.song_match import fold

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ROOT / "tests" / "data" / "misspellings.jsonl"
DOC = ROOT / "docs" / "lookup.md"
TARGET = 0.90
GENERATED_MODELS = {
    "adjacent_key",
    "dropped_letter",
    "doubled_letter",
    "transposition",
    "phonetic",
    "no_punctuation",
    "missing_word",
    "partial_title",
    "title_artist",
}


def load_queries() -> list[dict]:
    return [json.loads(line) for line in QUERIES.read_text(encoding="utf-8").splitlines()]


def script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def resolver(spotify_songs_path: Path) -> SongResolver:
    return SongResolver(load_catalogue(spotify_songs_path))


def top1(resolver: SongResolver, queries: list[dict]) -> float:
    """Share of queries resolved, on their own, to one of the expected ids."""
    right = 0
    for query in queries:
        row = resolver.resolve(query["query"]).row
        right += row is not None and resolver.catalogue.ids[row] in set(query["expected"])
    return right / len(queries)


def test_the_set_is_large_varied_and_well_formed() -> None:
    queries = load_queries()
    assert len(queries) >= 150
    models = Counter(q["model"] for q in queries)
    assert models["hand"] >= 30
    assert GENERATED_MODELS <= set(models) <= GENERATED_MODELS | {"hand"}
    assert min(models[m] for m in GENERATED_MODELS) >= 10
    for query in queries:
        assert set(query) == {"query", "expected", "song", "model"}
        assert fold(query["query"]) and query["song"]
        assert query["expected"] and all(
            parse_spotify_id(i, "track") == i for i in query["expected"]
        )
    generated = [fold(q["query"]) for q in queries if q["model"] != "hand"]
    assert len(set(generated)) == len(generated)


def test_the_committed_set_is_what_the_seeded_generator_makes(
    spotify_songs_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "misspellings.jsonl"
    assert (
        script("make_misspellings").main(["--data", str(spotify_songs_path), "--out", str(out)])
        == 0
    )
    assert out.read_bytes() == QUERIES.read_bytes()


def test_every_expected_id_is_a_release_of_the_song_named(resolver: SongResolver) -> None:
    catalogue = resolver.catalogue
    generator = script("make_misspellings")
    for query in load_queries():
        title, artist = query["song"].split(" — ")
        for track_id in query["expected"]:
            row = catalogue.row_of(track_id)
            assert row is not None, query
            assert generator.fold(generator.known_title(catalogue.names[row])) == fold(title)
            assert fold(catalogue.artists[row][0]) == fold(artist), query


def test_at_least_90_percent_of_misspellings_resolve_to_the_meant_song(
    resolver: SongResolver,
) -> None:
    assert top1(resolver, load_queries()) >= TARGET


def test_docs_report_the_score_the_resolver_has_now(resolver: SongResolver) -> None:
    shown = re.search(r"\*\*Top-1: ([\d.]+)%\*\*", DOC.read_text(encoding="utf-8"))
    assert shown is not None, "docs/lookup.md lacks the generated score"
    measured = round(100 * top1(resolver, load_queries()), 1)
    assert float(shown.group(1)) == measured, "run: python scripts/lookup_report.py --write"
