"""The README's library example runs as written (on the shared dataset)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_SONGS = ROOT.parent / "shared" / "data" / "spotify_songs.csv.gz"


def _python_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) == 1, "the README should have exactly one python example"
    return blocks[0]


@pytest.mark.skipif(not SHARED_SONGS.exists(), reason="../shared/data is not beside the repo")
def test_the_library_example_runs_and_prints_five_suggestions() -> None:
    code = _python_block().replace('"spotify_songs.csv.gz"', repr(str(SHARED_SONGS)))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})  # our own README
    lines = printed.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["1", "2", "3", "4", "5"]
    assert not any(line.split(" ", 1)[1].startswith("Africa ") for line in lines)  # no seed
