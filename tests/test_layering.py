"""The direction of dependencies (DESIGN.md): cogs reach storage only through bot services."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def store_uses(path: Path, root: Path = ROOT) -> list[str]:
    """``file:line`` of every ``<something>.store`` attribute the module reads."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{path.relative_to(root).as_posix()}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "store"
    ]


def test_the_finder_sees_a_direct_store_call(tmp_path: Path) -> None:
    cog = tmp_path / "probe.py"
    cog.write_text(
        "from bot.store.errors import StorageError\n"
        "async def f(self):\n"
        "    return await self.bot.store.list_sources(1)\n"
    )
    assert store_uses(cog, tmp_path) == ["probe.py:3"]


def test_no_cog_calls_the_store_directly() -> None:
    # Importing error types from bot.store.errors is fine (an ImportFrom, not an
    # attribute); calling bot.store.<method> is the services' job.
    found = [use for path in sorted((ROOT / "cogs").glob("*.py")) for use in store_uses(path)]
    assert found == [], "cogs must go through a bot service: " + ", ".join(found)
