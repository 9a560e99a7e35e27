"""Regenerate recommender/reference_scaler.json from the TidyTuesday dataset.

Usage: python scripts/fit_reference_scaler.py ../shared/data/spotify_songs.csv.gz
Only the fitted quantiles (a few hundred numbers per feature) are stored, not data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from recommender.loaders import load_catalogue
from recommender.scaling import FeatureScaler

OUTPUT = Path(__file__).resolve().parents[1] / "recommender" / "reference_scaler.json"


def main(dataset: str) -> None:
    catalogue = load_catalogue(dataset)
    scaler = FeatureScaler().fit(catalogue.features)
    OUTPUT.write_text(json.dumps(scaler.to_dict(), separators=(",", ":")), encoding="utf-8")
    print(f"wrote {OUTPUT} from {len(catalogue)} tracks")


if __name__ == "__main__":
    main(sys.argv[1])
