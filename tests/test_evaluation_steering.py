"""``python -m recommender evaluate --steering`` on a generated catalogue, as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender.evaluation.report import GENERATED_END
from recommender.query import TARGET_FEATURES
from tests.fixtures import AS_OF, synthetic_tracks, write_catalogue

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def catalogue_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 tracks in 8 genre playlists of ~75 and 20 random playlists of 20-40."""
    rng = np.random.default_rng(4)
    tracks = synthetic_tracks(600, seed=9, genres=8)
    extra: dict[int, list[str]] = {i: [] for i in range(len(tracks))}
    for p in range(20):
        for t in rng.choice(len(tracks), size=int(rng.integers(20, 41)), replace=False):
            extra[int(t)].append(f"PLrandom{p:014d}")
    tracks = [replace(t, playlists=(*t.playlists, *extra[i])) for i, t in enumerate(tracks)]
    path = tmp_path_factory.mktemp("steer-eval") / "playlists.csv"
    write_catalogue(path, tracks, "tidytuesday")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["playlist_genre"] = frame["playlist_id"].map(lambda p: "mix" if "random" in p else "pop")
    frame.to_csv(path, index=False)
    return path


def test_steering_report_measures_every_control_and_keeps_the_text_below_its_marker(
    catalogue_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "steering.md"
    out.write_text(f"old\n{GENERATED_END}\nKEPT\n")
    done = subprocess.run(
        [
            sys.executable, "-m", "recommender", "evaluate", "--steering",
            "--catalog", str(catalogue_path), "--as-of", AS_OF.isoformat(),
            "--out", str(out), "--json",
        ],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)

    # (a) exploration on the protocols: popularity falls from familiar to adventurous,
    # and the share of answers by artists the member rated with it.
    assert set(report["exploration"]) == {"A", "B", "C"}
    for protocol, variants in report["exploration"].items():
        for variant, levels in variants.items():
            prior = [levels[level]["recent_popular"] for level in ("familiar", "balanced")]
            prior.append(levels["adventurous"]["recent_popular"])
            assert prior[0] > prior[1] > prior[2], (protocol, variant, prior)
    for levels in report["exploration"]["C"].values():
        rated = [levels[lv]["rated_artists"] for lv in ("familiar", "balanced", "adventurous")]
        assert rated[0] > rated[1] >= rated[2], rated

    # (b) each target moves the answers' mean feature its way.
    for variant, features in report["targets"].items():
        assert set(features) == set(TARGET_FEATURES)
        for name, by in features.items():
            low, none, high = (by[s]["mean"] for s in ("0.1", "none", "0.9"))
            assert high > none > low, (variant, name, low, none, high)
    # Filters: every answer inside (or the filter dropped, and said so).
    assert len(report["filters"]) == 9
    for name, shares in report["filters"].items():
        assert shares["inside_with"] + shares["relaxed"] >= 0.999, name
        assert shares["inside_with"] >= shares["inside_without"], name

    text = out.read_text()
    assert text.startswith("# Steering") and text.endswith("KEPT\n")
    assert "python -m recommender evaluate --catalog" in text and "--steering" in text
    assert "**no**" not in text  # the "moved?" column says yes for every target
