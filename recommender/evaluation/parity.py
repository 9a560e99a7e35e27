"""Check that ``recommend --seeds-file`` reaches the numbers ``evaluate`` reports.

``export_queries`` writes the (A) queries of one random seed as the JSON lines the
batch interface reads (with ``holdout_playlists``); ``score_run`` scores the lines
it answers with, exactly as :func:`~recommender.evaluation.runner.evaluate` scores
the engine's lists for that seed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from recommender.catalogue import Catalogue
from recommender.evaluation.protocols import seed_song_queries
from recommender.evaluation.runner import genres_by_row, score_seed_song


def export_queries(catalogue: Catalogue, path: str | Path, random_seed: int = 0) -> int:
    """Write protocol (A) queries of ``random_seed``; return how many."""
    queries = seed_song_queries(catalogue, random_seed)
    with open(path, "w", encoding="utf-8") as out:
        for query in queries:
            out.write(json.dumps(query.to_json(catalogue)) + "\n")
    return len(queries)


def score_run(catalogue: Catalogue, path: str | Path, random_seed: int = 0) -> dict[str, float]:
    """Protocol (A) metrics of a batch run's output against the queries of ``random_seed``.

    A query the run did not answer scores as an empty list.
    """
    answers: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as source:
        for line in source:
            if line.strip():
                data = json.loads(line)
                answers[str(data["query_id"])] = list(data["recommendations"])
    queries = seed_song_queries(catalogue, random_seed)
    lists = [
        np.array(
            [r for t in answers.get(q.query_id, []) if (r := catalogue.row_of(t)) is not None],
            dtype=np.int64,
        )
        for q in queries
    ]
    scores = score_seed_song(catalogue, queries, lists, genres_by_row(catalogue))
    scores["answered"] = float(sum(q.query_id in answers for q in queries))
    return scores
