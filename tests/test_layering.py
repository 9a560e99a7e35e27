"""The direction of dependencies (DESIGN.md): cogs reach storage only through bot services."""

from __future__ import annotations

import ast
import re
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


CITED_DOC = re.compile(r"(?<![\w/.])docs/[A-Za-z0-9_./-]+\.(?:md|png|svg)")
CITING = ["bot", "cogs", "recommender", "tests", "benchmarks", "scripts", "docs"]


def cited_docs(text: str) -> set[str]:
    """The repository docs a text cites by path (``docs/....md``)."""
    return set(CITED_DOC.findall(text))


def test_the_citation_finder() -> None:
    text = "see docs/quality.md, ../shared/docs/discord.md and x/docs/y.md; docs/images/a.png"
    assert cited_docs(text) == {"docs/quality.md", "docs/images/a.png"}


def test_code_and_docs_cite_only_docs_in_the_repository() -> None:
    missing = sorted(
        f"{path.relative_to(ROOT).as_posix()}: {cited}"
        for folder in CITING
        for path in (ROOT / folder).rglob("*")
        if path.suffix in {".py", ".md"} and path.is_file() and path != Path(__file__)
        for cited in cited_docs(path.read_text(encoding="utf-8", errors="replace"))
        if not (ROOT / cited).exists()
    )
    assert missing == [], "cites a doc that is not in the repository: " + "; ".join(missing)
