"""The repository stays lint-clean, formatted and (for the engine) type-checked.

These run the same tools a developer runs, so a change that breaks them fails CI.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CODE = ["recommender", "bot", "cogs", "tests", "benchmarks", "scripts"]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def ruff() -> str:
    found = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(found).exists():
        pytest.fail("ruff is not installed: install the dev extra (make test does)")
    return found


def test_ruff_lint_is_clean() -> None:
    result = run(ruff(), "check", *CODE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = run(ruff(), "format", "--check", *CODE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_package_type_checks() -> None:
    result = run(sys.executable, "-m", "mypy", "recommender", "bot", "cogs")
    assert result.returncode == 0, result.stdout + result.stderr
