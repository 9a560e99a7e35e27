"""Engine benchmark: query latency, build time and memory against three references.

Run from the repository root::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python benchmarks/bench_engine.py --sizes 28k,100k,1M --threads 1 --queries 300 \\
        --markdown OUT.md

At each size the same run measures, with the same BLAS/OpenMP thread count:

* **ours**: ``FeatureIndex.search`` (hybrid top-10, alpha 0.5, seed excluded), the
  index scan, and ``Recommender.recommend(Seeds([seed]), k=10, alpha=0.5)``, the one
  engine call the bot and the CLI make (seed's song excluded, one song once, a score
  breakdown per suggestion), so the cost of the call on top of the scan shows;
* **tutorial**: the seed tutorial's method (``MinMaxScaler`` on the 11 raw features in
  float64, ``cosine_similarity([x], X)``, a full ``argsort``, ``[1:11]``);
* **sklearn-nn**: ``NearestNeighbors(algorithm="brute", metric="cosine")``, k = 11;
* **faiss**: ``IndexFlatIP`` plain top-10 over the same unit float32 vectors as ours;

plus a batch measurement (``search_batch`` of B queries against B single searches)
and two correctness checks: our alpha = 1 top-10 equals faiss's (up to exact ties)
and our alpha = 0.5 top-10 equals a float64 brute force.

``28k`` is the real catalogue (``../shared/data/spotify_songs.csv.gz``); any other
size is synthetic: rows of the real catalogue resampled with a small Gaussian jitter
on the continuous features (key and mode kept) and on popularity, so the feature
distribution is the real one; each synthetic row is a song of its own (its title is
its id), and the prior is the engine's weighted popularity, so ``search`` and
``recommend`` rank the same index. Without ``../shared`` the benchmark prints a message
and exits 0.

``--markdown FILE`` writes the tables that go into docs/benchmarks.md (with the
command, the commit and the thread settings). Two ways to ask "is it slower than
before": ``--against COMMIT`` times ``search`` as of that commit against today's in
this process, interleaved (robust to a busy machine); ``--previous 28k=0.177/0.138,...``
compares with an earlier run's medians of ``search`` and faiss.

Queries are interleaved (one query of each method in turn, same seeds) so that noise
from other processes on the machine hits every method alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "spotify_songs.csv.gz"
K = 10
ALPHA = 0.5
JITTER = 0.02  # synthetic rows: noise std as a fraction of each feature's std
POPULARITY_JITTER = 1.0  # synthetic rows: noise std in Spotify popularity points (0-100)
SLOWER = 1.10  # --previous flags search as slower past this ratio (faiss-adjusted)
TIE_TOLERANCE = 1e-6  # float32 dot products of unit vectors agree to about this

sys.path.insert(0, str(REPO))


# -- data --------------------------------------------------------------------------------


@dataclass
class Dataset:
    """Raw features (n, 11) float64, prior (n,) float32 and catalogue of one size."""

    label: str
    raw: Any
    prior: Any
    synthetic: bool
    catalogue: Any = None


def parse_size(text: str) -> int | None:
    """``28k`` means the real catalogue (None); ``100k``, ``1M``, ``250000`` a size."""
    text = text.strip().lower()
    if text in {"28k", "real"}:
        return None
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * factor)


def real_dataset(path: Path) -> Dataset:
    """The shared catalogue with the engine's own weighted popularity as prior."""
    from recommender.loaders import load_catalogue
    from recommender.popularity import PopularityWeighting

    catalogue = load_catalogue(path)
    prior = PopularityWeighting().weighted(
        catalogue.popularity, catalogue.release_dates, catalogue.release_date_precisions
    )
    return Dataset(f"{len(catalogue):,} (real)", catalogue.features, prior, False, catalogue)


def synthetic_dataset(real: Dataset, n: int, seed: int) -> Dataset:
    """``n`` rows resampled from the real complete rows, features and popularity jittered."""
    import numpy as np

    from recommender.features import FEATURE_NAMES, KEY, MODE
    from recommender.popularity import PopularityWeighting

    complete = np.flatnonzero(~np.isnan(real.raw).any(axis=1))
    rng = np.random.default_rng(seed)
    pick = rng.choice(complete, n)
    raw = real.raw[pick].copy()
    source = real.raw[complete]
    for column, name in enumerate(FEATURE_NAMES):
        if name in (KEY, MODE):
            continue
        low, high = source[:, column].min(), source[:, column].max()
        noise = rng.normal(0.0, JITTER * source[:, column].std(), n)
        raw[:, column] = np.clip(raw[:, column] + noise, low, high)
    popularity = real.catalogue.popularity[pick] + rng.normal(0.0, POPULARITY_JITTER, n)
    catalogue = synthetic_catalogue(real.catalogue, pick, raw, np.clip(popularity, 0, 100))
    prior = PopularityWeighting().weighted(
        catalogue.popularity, catalogue.release_dates, catalogue.release_date_precisions
    )
    return Dataset(f"{n:,} (synthetic)", raw, prior, True, catalogue)


def synthetic_catalogue(real: Any, pick: Any, raw: Any, popularity: Any) -> Any:
    """A catalogue of the picked rows: new ids, each its own song, the rest shared.

    The title is the id, so no two synthetic rows are releases of one song (resampled
    copies of a real song would otherwise collapse into one suggestion); artists,
    albums and dates are the picked rows' own objects, so 1M rows stay small.
    """
    from recommender.catalogue import Catalogue

    rows = pick.tolist()
    ids = [f"synthetic{i:07d}" for i in range(len(rows))]

    def take(column: Sequence[Any]) -> list[Any]:
        return [column[r] for r in rows]

    return Catalogue(
        ids=ids,
        names=ids,
        artists=take(real.artists),
        albums=take(real.albums),
        release_dates=take(real.release_dates),
        release_date_precisions=take(real.release_date_precisions),
        popularity=popularity,
        duration_ms=take(real.duration_ms),
        features=raw,
        feature_sources=take(real.feature_sources),
        popularity_sources=take(real.popularity_sources),
    )


# -- methods under test ------------------------------------------------------------------


@dataclass
class Built:
    """Every method's structure for one dataset, with build times and memory."""

    index: Any
    unit: Any  # (n, 12) unit float32 vectors, C-contiguous (faiss, sklearn, queries)
    tutorial: Any  # (n, 11) min-max scaled float64
    faiss_index: Any
    nn: Any
    recommender: Any
    build_s: dict[str, float] = field(default_factory=dict)
    memory: dict[str, int] = field(default_factory=dict)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``fn()`` and its wall time in seconds."""
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def build_all(data: Dataset) -> Built:
    """Build every method on ``data``; time each build and size each structure."""
    import faiss
    import numpy as np
    from sklearn.neighbors import NearestNeighbors
    from sklearn.preprocessing import MinMaxScaler

    from recommender.engine import Recommender
    from recommender.index import FeatureIndex
    from recommender.scaling import FeatureScaler

    scaler = FeatureScaler.reference()

    def ours() -> Any:
        return FeatureIndex(scaler.transform(data.raw), data.prior)

    index, t_ours = timed(ours)
    unit = np.ascontiguousarray(index.unit_vectors, dtype=np.float32)
    # The tutorial has no notion of a featureless track: it would crash on NaN.
    tutorial_input = np.nan_to_num(data.raw)
    tutorial, t_tut = timed(lambda: MinMaxScaler().fit_transform(tutorial_input))

    def faiss_build() -> Any:
        vectors = scaler.transform(data.raw)
        faiss.normalize_L2(vectors)
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        return flat

    faiss_index, t_faiss = timed(faiss_build)
    nn, t_nn = timed(
        lambda: NearestNeighbors(algorithm="brute", metric="cosine").fit(scaler.transform(data.raw))
    )
    recommender, t_rec = timed(lambda: Recommender(data.catalogue))
    # Both build the same index (same scaler, same prior), each its own copy: see
    # query_functions for why the copies are kept apart.
    if not (
        np.array_equal(recommender.index.unit_vectors, index.unit_vectors)
        and np.array_equal(recommender.index.prior, index.prior)
    ):
        raise AssertionError("the recommender's index differs from the benchmark's")
    n = unit.shape[0]
    return Built(
        index=index,
        unit=unit,
        tutorial=tutorial,
        faiss_index=faiss_index,
        nn=nn,
        recommender=recommender,
        build_s={
            "ours (scale + index)": t_ours,
            "ours Recommender (scale + prior + index)": t_rec,
            "tutorial (MinMaxScaler)": t_tut,
            "sklearn-nn (scale + fit)": t_nn,
            "faiss (scale + normalise + add)": t_faiss,
        },
        memory={
            "raw features float32 (n x 11 x 4)": n * 11 * 4,
            "scaled vectors float32 (n x 12 x 4)": n * 12 * 4,
            "ours (FeatureIndex.nbytes)": int(index.nbytes),
            "tutorial (float64 n x 11)": int(tutorial.nbytes),
            "sklearn-nn (_fit_X)": int(nn._fit_X.nbytes),
            "faiss (codes)": int(faiss_index.ntotal * faiss_index.d * 4),
        },
    )


def query_functions(built: Built) -> dict[str, Callable[[int], Any]]:
    """One callable per method: answer the query whose seed is row ``s``."""
    from sklearn.metrics.pairwise import cosine_similarity

    unit = built.unit

    def tutorial(s: int) -> Any:
        scores = cosine_similarity([built.tutorial[s]], built.tutorial)
        return scores.argsort()[0][::-1][1 : K + 1]

    # The order is the order of the interleaved loop, and what runs just before a
    # method decides what is left of its data in the caches and the allocator: at
    # 100k, ``search`` right after the tutorial takes 0.63 ms, right after a
    # ``recommend`` 0.43 ms. So this loop keeps the order of the earlier runs that
    # docs/benchmarks.md compares with, and ``recommend`` is timed in a pass of its
    # own (engine_functions).
    return {
        "ours": search_function(built),
        "faiss": lambda s: built.faiss_index.search(unit[s : s + 1], K),
        "sklearn-nn": lambda s: built.nn.kneighbors(unit[s : s + 1], n_neighbors=K + 1),
        "tutorial": tutorial,
    }


def search_function(built: Built) -> Callable[[int], Any]:
    """``FeatureIndex.search`` for the seed in row ``s`` (hybrid, seed excluded)."""
    import numpy as np

    index, unit = built.index, built.unit
    return lambda s: index.search(unit[s], K, ALPHA, exclude=np.array([s]))


def engine_functions(built: Built) -> dict[str, Callable[[int], Any]]:
    """The scan and the one engine call, to interleave with each other only.

    Each has its own copy of the index, and each runs right after the other: the
    same conditions for both, so the difference is what the call adds to the scan.
    """
    from recommender.engine import Seeds

    return {
        "ours": search_function(built),
        RECOMMEND: lambda s: built.recommender.recommend(Seeds([s]), K, alpha=ALPHA),
    }


RECOMMEND = "ours Recommender.recommend"


def previous_index_class(commit: str) -> Any:
    """``FeatureIndex`` as of ``commit``: its index.py and topk.py, today's other modules.

    Loaded under private module names next to today's, so both scan in one process,
    query by query: machine noise then hits both alike, which two separate runs on a
    shared machine cannot promise.
    """
    import types

    def load(name: str, path: str, source: str) -> types.ModuleType:
        module = types.ModuleType(name)
        sys.modules[name] = module  # dataclasses look their module up while building
        exec(compile(source, f"{commit}:{path}", "exec"), module.__dict__)
        return module

    def show(path: str) -> str:
        done = subprocess.run(
            ["git", "show", f"{commit}:{path}"], cwd=REPO, capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(f"--against {commit}: {done.stderr.strip()}")
        return done.stdout

    load("_previous_topk", "recommender/topk.py", show("recommender/topk.py"))
    source = show("recommender/index.py")
    rewired = source.replace("from recommender.topk import", "from _previous_topk import")
    if rewired == source:
        raise SystemExit(f"--against {commit}: its index.py does not import recommender.topk")
    return load("_previous_index", "recommender/index.py", rewired).FeatureIndex


def against_previous(
    built: Built, data: Dataset, previous_class: Any, seeds: Sequence[int]
) -> dict[str, Any]:
    """``search`` now and at the previous commit, interleaved; their top-10s compared."""
    import numpy as np

    from recommender.scaling import FeatureScaler

    previous = previous_class(FeatureScaler.reference().transform(data.raw), data.prior)
    unit = built.unit
    functions = {
        "previous": lambda s: previous.search(unit[s], K, ALPHA, exclude=np.array([s])),
        "current": search_function(built),
    }
    same = sum(
        np.array_equal(functions["previous"](s).rows, functions["current"](s).rows) for s in seeds
    )
    return summarise(latencies(functions, seeds, {})) | {"same_top10": int(same)}


# -- measurements ------------------------------------------------------------------------


def latencies(
    functions: dict[str, Callable[[int], Any]],
    seeds: Sequence[int],
    limits: dict[str, int],
    warmup: int = 3,
) -> dict[str, list[float]]:
    """Per-query seconds of each method, interleaved over the same seeds."""
    for fn in functions.values():
        for s in seeds[:warmup]:
            fn(s)
    times: dict[str, list[float]] = {name: [] for name in functions}
    for i, s in enumerate(seeds):
        for name, fn in functions.items():
            if i >= limits.get(name, len(seeds)):
                continue
            start = time.perf_counter()
            fn(s)
            times[name].append(time.perf_counter() - start)
    return times


def batch_timing(built: Built, seeds: Sequence[int], batch: int, repeats: int) -> dict[str, float]:
    """Seconds per query: ``search_batch`` of ``batch`` queries vs as many single calls.

    Also ``recommend`` called for each of those seeds in a row: with the data warm in
    the caches, the difference to the single searches is the call's own work.
    """
    import numpy as np

    from recommender.engine import Seeds

    index, unit = built.index, built.unit
    rows = np.asarray(seeds[:batch])
    excludes = [np.array([s]) for s in rows]
    queries = unit[rows]

    def batched() -> None:
        index.search_batch(queries, K, ALPHA, excludes=excludes)

    def singles() -> None:
        for s, excl in zip(rows, excludes, strict=True):
            index.search(unit[s], K, ALPHA, exclude=excl)

    def faiss_batched() -> None:
        built.faiss_index.search(queries, K)

    def recommend_singles() -> None:
        for s in rows.tolist():
            built.recommender.recommend(Seeds([s]), K, alpha=ALPHA)

    functions = (
        ("batch", batched),
        ("singles", singles),
        ("faiss batch", faiss_batched),
        ("recommend singles", recommend_singles),
    )
    result: dict[str, list[float]] = {name: [] for name, _ in functions}
    batched()
    recommend_singles()
    for _ in range(repeats):
        for name, fn in functions:
            _, seconds = timed(fn)
            result[name].append(seconds / len(rows))
    return {name: float(np.median(values)) for name, values in result.items()} | {
        "queries": len(rows)
    }


def check_against_faiss(built: Built, seeds: Sequence[int]) -> dict[str, int]:
    """Our alpha = 1 top-10 vs faiss's, position by position, ties allowed."""
    import numpy as np

    exact = tied = wrong = 0
    unit64 = built.unit.astype(np.float64)
    for s in seeds:
        ours = built.index.search(built.unit[s], K, 1.0).rows
        _, ids = built.faiss_index.search(built.unit[s : s + 1], K)
        theirs = ids[0]
        if np.array_equal(ours, theirs):
            exact += 1
            continue
        cos_ours = unit64[ours] @ unit64[s]
        cos_theirs = unit64[theirs] @ unit64[s]
        same = len(ours) == len(theirs) and np.all(np.abs(cos_ours - cos_theirs) <= TIE_TOLERANCE)
        tied += int(same)
        wrong += int(not same)
    return {"exact": exact, "ties": tied, "mismatch": wrong}


def check_against_brute_force(built: Built, seeds: Sequence[int]) -> dict[str, int]:
    """Our hybrid top-10 (alpha 0.5, seed excluded) vs a float64 full sort."""
    import numpy as np

    index = built.index
    unit64 = built.unit.astype(np.float64)
    prior64 = np.asarray(index.prior, dtype=np.float64)
    calibration = index.calibration
    ok = wrong = 0
    for s in seeds:
        ours = index.search(built.unit[s], K, ALPHA, exclude=np.array([s]))
        score = ALPHA * calibration.similarity(unit64 @ unit64[s]) + (1 - ALPHA) * prior64
        score[s] = -np.inf
        best = np.sort(score)[::-1][:K]
        good = np.allclose(score[ours.rows], best, rtol=0, atol=TIE_TOLERANCE)
        ok += int(good)
        wrong += int(not good)
    return {"equal": ok, "mismatch": wrong}


# -- reporting ---------------------------------------------------------------------------


def machine_info(threads: int) -> dict[str, Any]:
    """Cores, CPU, library versions, BLAS kernels and the OpenBLAS variables."""
    import faiss
    import numpy as np
    import sklearn
    from threadpoolctl import threadpool_info

    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    blas = [
        {k: pool.get(k) for k in ("internal_api", "version", "architecture", "filepath")}
        for pool in threadpool_info()
        if pool.get("user_api") == "blas"
    ]
    for pool in blas:
        pool["filepath"] = Path(str(pool["filepath"])).name
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads": threads,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "faiss": faiss.__version__,
        "blas": blas,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "loadavg_start": os.getloadavg(),
    } | git_state()


def git_state() -> dict[str, Any]:
    """The commit measured and the engine files that differ from it (a shared tree)."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
            )
        except (OSError, subprocess.CalledProcessError):
            return ""
        return done.stdout

    # Porcelain lines are "XY path": the path starts at column 3.
    changed = git("status", "--porcelain", "--", "recommender", "benchmarks/bench_engine.py")
    return {
        "commit": git("rev-parse", "--short", "HEAD").strip() or "unknown",
        "uncommitted": [line[3:] for line in changed.splitlines() if line.strip()],
    }


def summarise(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Median and p95 in milliseconds, and the number of queries, per method."""
    import numpy as np

    return {
        name: {
            "median_ms": float(np.median(values)) * 1e3,
            "p95_ms": float(np.percentile(values, 95)) * 1e3,
            "queries": len(values),
        }
        for name, values in times.items()
        if values
    }


def print_size(result: dict[str, Any]) -> None:
    """Markdown tables for one size."""
    lat = result["latency"]
    ours = lat["ours"]["median_ms"]
    print(f"\n### {result['label']} tracks\n")
    print("| method | median ms | p95 ms | queries | ours faster by (median) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, row in lat.items():
        ratio = row["median_ms"] / ours
        print(
            f"| {name} | {row['median_ms']:.3f} | {row['p95_ms']:.3f} | {row['queries']} "
            f"| {ratio:.1f}x |"
        )
    engine = result["engine"]
    search, call = engine["ours"], engine[RECOMMEND]
    print(
        f"\nScan and one call interleaved: search {search['median_ms']:.3f} ms, "
        f"recommend {call['median_ms']:.3f} ms (p95 {search['p95_ms']:.3f} / "
        f"{call['p95_ms']:.3f}); in a row: search {result['batch']['singles'] * 1e3:.3f}, "
        f"recommend {result['batch']['recommend singles'] * 1e3:.3f} ms/query"
    )
    b = result["batch"]
    print(
        f"\nBatch of {b['queries']}: search_batch {b['batch'] * 1e3:.3f} ms/query, "
        f"single searches {b['singles'] * 1e3:.3f} ms/query "
        f"(batch/single = {b['batch'] / b['singles']:.2f}); "
        f"faiss batch {b['faiss batch'] * 1e3:.3f} ms/query."
    )
    print("\n| build | seconds |\n| --- | ---: |")
    for name, seconds in result["build_s"].items():
        if seconds == seconds:  # not NaN
            print(f"| {name} | {seconds:.3f} |")
    print("\n| memory | MB | vs raw 11 x float32 |\n| --- | ---: | ---: |")
    raw = result["memory"]["raw features float32 (n x 11 x 4)"]
    for name, nbytes in result["memory"].items():
        print(f"| {name} | {nbytes / 1e6:.1f} | {nbytes / raw:.2f}x |")
    print(
        f"\nCorrectness: vs faiss (alpha 1) {result['check_faiss']}; "
        f"vs float64 brute force (alpha 0.5) {result['check_brute']}"
    )


def parse_previous(text: str) -> dict[str, tuple[float, float | None]]:
    """``"28k=0.177/0.138,1M=2.851"`` -> ``{"28k": (0.177, 0.138), "1M": (2.851, None)}``.

    Per size an earlier run's median ms of ``search`` and, optionally, of faiss.
    """
    previous: dict[str, tuple[float, float | None]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        size, sep, value = item.partition("=")
        ours, slash, faiss_ms = value.partition("/")
        try:
            if not sep:
                raise ValueError(item)
            previous[size.strip()] = (float(ours), float(faiss_ms) if slash else None)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected SIZE=MS[/MS], got {item!r}") from None
    return previous


NAMES = {
    "ours": "**ours** `FeatureIndex.search` (the scan)",
    RECOMMEND: "ours `Recommender.recommend` (one call, breakdown)",
    "faiss": "faiss IndexFlatIP top-10",
    "sklearn-nn": "sklearn NearestNeighbors (brute, cosine)",
    "tutorial": "tutorial (MinMaxScaler, cosine_similarity, argsort)",
}


def verdict(ok: bool) -> str:
    """Bold "met" or plain "not met"."""
    return "**met**" if ok else "not met"


def checks_pass(result: dict[str, Any]) -> bool:
    """Both exactness checks found no mismatch."""
    return not (result["check_faiss"]["mismatch"] or result["check_brute"]["mismatch"])


def markdown(
    info: dict[str, Any],
    results: list[dict[str, Any]],
    command: str,
    previous: dict[str, tuple[float, float | None]],
) -> str:
    """The engine section's tables for docs/benchmarks.md, computed from one run."""
    blas = ", ".join(
        f"{b['internal_api']} {b['version']} `{b['architecture']}`" for b in info["blas"]
    )
    dirty = (
        f" plus uncommitted changes to {', '.join(f'`{f}`' for f in info['uncommitted'])}"
        if info["uncommitted"]
        else ""
    )
    unset = [v for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if info[v] is None]
    env = (
        "both unset"
        if len(unset) == 2
        else f"OPENBLAS_CORETYPE={info['OPENBLAS_CORETYPE']}, "
        f"OPENBLAS_L2_SIZE={info['OPENBLAS_L2_SIZE']}"
    )
    out = [
        f"Generated by `{command}` at commit `{info['commit']}`{dirty} "
        f"({info['cores']} cores, {info['cpu']}; Python {info['python']}, numpy "
        f"{info['numpy']}, scikit-learn {info['scikit-learn']}, faiss {info['faiss']}; BLAS "
        f"{blas}). Threads: {info['threads']} for every method "
        f"(`threadpool_limits({info['threads']})`, `faiss.omp_set_num_threads"
        f"({info['threads']})`); OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE {env}. Load average "
        f"{info['loadavg_start'][0]:.1f} at the start, {info['loadavg_end'][0]:.1f} at the "
        f"end (2 = both cores busy).",
        "",
        "| tracks | method | median ms | p95 ms | queries | median / ours `search` |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lat = r["latency"]
        ours = lat["ours"]["median_ms"]
        shown = sorted(lat.items(), key=lambda item: list(NAMES).index(item[0]))
        for i, (name, row) in enumerate(shown):
            out.append(
                f"| {r['label'] if i == 0 else ''} | {NAMES.get(name, name)} "
                f"| {row['median_ms']:.3f} | {row['p95_ms']:.3f} | {row['queries']} "
                f"| {row['median_ms'] / ours:.2f}x |"
            )
    out += [
        "",
        "The one engine call `Recommender.recommend(Seeds([seed]), k=10, alpha=0.5)` "
        "next to the scan `FeatureIndex.search`, in ms: the two interleaved with each other "
        "only (same seeds; median and p95), and per query of "
        f"{results[0]['batch']['queries']} calls in a row (data warm in the caches):",
        "",
        "| tracks | `search` median | `recommend` median | difference | `search` p95 "
        "| `recommend` p95 | in a row: `search` | `recommend` | difference |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        search, call = r["engine"]["ours"], r["engine"][RECOMMEND]
        warm, warm_call = r["batch"]["singles"] * 1e3, r["batch"]["recommend singles"] * 1e3
        out.append(
            f"| {r['label']} | {search['median_ms']:.3f} | {call['median_ms']:.3f} "
            f"| {call['median_ms'] - search['median_ms']:+.3f} | {search['p95_ms']:.3f} "
            f"| {call['p95_ms']:.3f} | {warm:.3f} | {warm_call:.3f} | {warm_call - warm:+.3f} |"
        )
    if results[0]["against"] is not None:
        commit = info["against"]
        out += [
            "",
            f"`search` now against `search` as of `{commit}` (that commit's index.py and "
            "topk.py, in this process, interleaved query by query on the same seeds and the "
            f"same data; flagged when now / before exceeds {SLOWER:.2f}):",
            "",
            f"| tracks | at `{commit}` median | now median | now / before "
            f"| at `{commit}` p95 | now p95 | same top-10 | |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for r in results:
            a = r["against"]
            before, now = a["previous"], a["current"]
            ratio = now["median_ms"] / before["median_ms"]
            word = "**slower**" if ratio > SLOWER else "no slowdown"
            out.append(
                f"| {r['label']} | {before['median_ms']:.3f} | {now['median_ms']:.3f} "
                f"| {ratio:.2f} | {before['p95_ms']:.3f} | {now['p95_ms']:.3f} "
                f"| {a['same_top10']}/{now['queries']} | {word} |"
            )
    if previous:
        out += [
            "",
            "`search` against the earlier run given by `--previous`; faiss, unchanged code, "
            "shows how much the machine itself differs between the runs. Flagged when ours "
            f"moved more than {SLOWER - 1:.0%} beyond faiss:",
            "",
            "| tracks | ours before | ours now | now / before | faiss before | faiss now "
            "| now / before | ours relative to faiss | |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for r in results:
            if r["size"] not in previous:
                continue
            before, faiss_before = previous[r["size"]]
            now, faiss_now = r["latency"]["ours"]["median_ms"], r["latency"]["faiss"]["median_ms"]
            drift = faiss_now / faiss_before if faiss_before else 1.0
            relative = now / before / drift
            word = "**slower**" if relative > SLOWER else "no slowdown"
            faiss_cells = (
                f"{faiss_before:.3f} | {faiss_now:.3f} | {drift:.2f}"
                if faiss_before
                else f"- | {faiss_now:.3f} | -"
            )
            out.append(
                f"| {r['label']} | {before:.3f} | {now:.3f} | {now / before:.2f} | {faiss_cells} "
                f"| {relative:.2f} | {word} |"
            )
    batch = results[0]["batch"]["queries"]
    out += [
        "",
        f"Batch of {batch} (ms per query; `search_batch` against {batch} `search` calls):",
        "",
        "| tracks | `search_batch` | single `search` | batch / single | faiss batch |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        b = r["batch"]
        out.append(
            f"| {r['label']} | {b['batch'] * 1e3:.3f} | {b['singles'] * 1e3:.3f} "
            f"| {b['batch'] / b['singles']:.2f} | {b['faiss batch'] * 1e3:.3f} |"
        )
    labels = " | ".join(r["label"] for r in results)
    align = " | ".join("---:" for _ in results)
    out += ["", f"| build (s) | {labels} |", f"| --- | {align} |"]
    for name in results[0]["build_s"]:
        cells = " | ".join(f"{r['build_s'][name]:.3f}" for r in results)
        out.append(f"| {name} | {cells} |")
    out += ["", f"| memory MB (x raw) | {labels} |", f"| --- | {align} |"]
    raw_key = "raw features float32 (n x 11 x 4)"
    for name in results[0]["memory"]:
        cells = " | ".join(
            f"{r['memory'][name] / 1e6:.1f} ({r['memory'][name] / r['memory'][raw_key]:.2f}x)"
            for r in results
        )
        out.append(f"| {name} | {cells} |")
    out += [
        "",
        "| tracks | ours alpha 1 = faiss top-10 (exact / ties / mismatch) "
        "| ours alpha 0.5 = float64 brute force (equal / mismatch) | |",
        "| --- | --- | --- | --- |",
    ]
    for r in results:
        f, b = r["check_faiss"], r["check_brute"]
        out.append(
            f"| {r['label']} | {f['exact']} / {f['ties']} / {f['mismatch']} "
            f"| {b['equal']} / {b['mismatch']} | {'pass' if checks_pass(r) else '**FAIL**'} |"
        )
    out += ["", *targets(results[-1], all(checks_pass(r) for r in results))]
    return "\n".join(out)


def targets(r: dict[str, Any], exact: bool) -> list[str]:
    """The targets table, judged on the largest size measured."""
    lat, memory, b = r["latency"], r["memory"], r["batch"]
    ours, faiss_ms = lat["ours"]["median_ms"], lat["faiss"]["median_ms"]
    tutorial = lat["tutorial"]["median_ms"] / ours
    ratio = memory["ours (FeatureIndex.nbytes)"] / memory["raw features float32 (n x 11 x 4)"]
    amortised = b["batch"] / b["singles"]
    return [
        f"Targets at {r['label']} tracks, {r['threads']} thread(s):",
        "",
        "| target | result |",
        "| --- | --- |",
        f"| hybrid top-10 no slower than faiss top-10 | {verdict(ours <= faiss_ms)}: "
        f"{ours:.3f} vs {faiss_ms:.3f} ms ({faiss_ms / ours:.2f}x faiss's speed) |",
        f"| >= 30x faster than the tutorial | {verdict(tutorial >= 30)}: {tutorial:.1f}x |",
        f"| index memory <= 1.3x raw float32 (n x 11 x 4) | {verdict(ratio <= 1.3)}: "
        f"{ratio:.2f}x |",
        f"| batch mode amortises the scan | {verdict(amortised < 1)}: batch / single "
        f"{amortised:.2f} |",
        f"| exact: top-10 equals faiss (alpha 1) and a float64 brute force (alpha 0.5), "
        f"every size | {verdict(exact)} |",
    ]


def run_size(
    real: Dataset, size: tuple[str, int | None], args: argparse.Namespace
) -> dict[str, Any]:
    """Everything measured at one size."""
    import numpy as np

    size_name, n_rows = size
    data = real if n_rows is None else synthetic_dataset(real, n_rows, args.seed)
    built = build_all(data)
    n = built.unit.shape[0]
    has_vector = np.flatnonzero(np.abs(built.unit).sum(axis=1) > 0)
    seeds = np.random.default_rng(args.seed + 1).choice(has_vector, args.queries).tolist()
    batch_seeds = np.random.default_rng(args.seed + 2).choice(has_vector, args.batch).tolist()
    slow = args.slow_queries or max(20, min(args.queries, args.queries * 100_000 // n))
    times = latencies(query_functions(built), seeds, {"tutorial": slow, "sklearn-nn": slow})
    paired = latencies(engine_functions(built), seeds, {})
    against = None
    if args.against:
        against = against_previous(built, data, args.previous_class, seeds)
    return {
        "label": data.label,
        "size": size_name,
        "threads": args.threads,
        "n": n,
        "latency": summarise(times),
        "engine": summarise(paired),
        "against": against,
        "batch": batch_timing(built, batch_seeds, args.batch, repeats=7),
        "build_s": built.build_s,
        "memory": built.memory,
        "check_faiss": check_against_faiss(built, seeds[: args.checks]),
        "check_brute": check_against_brute_force(built, seeds[: max(5, args.checks // 5)]),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="28k,100k,1M", help="comma list: 28k (real), 100k, 1M")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--queries", type=int, default=200, help="timed queries per method")
    parser.add_argument(
        "--slow-queries",
        type=int,
        default=0,
        help="queries for the tutorial and sklearn (default: scaled down above 100k, >= 20)",
    )
    parser.add_argument("--batch", type=int, default=64, help="queries in the batch measurement")
    parser.add_argument("--checks", type=int, default=100, help="queries checked against faiss")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, help="write every number to this file")
    parser.add_argument(
        "--markdown", type=Path, help="write the tables for docs/benchmarks.md to this file"
    )
    parser.add_argument(
        "--against",
        metavar="COMMIT",
        help="also time FeatureIndex.search as of COMMIT (its index.py and topk.py) against "
        "today's, interleaved in this process",
    )
    parser.add_argument(
        "--previous",
        type=parse_previous,
        default={},
        help="an earlier run's medians in ms, search[/faiss] per size, e.g. "
        "28k=0.177/0.138,100k=0.572/0.367,1M=2.851/3.413",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 on success or when the shared data is absent."""
    args = parse_args(argv)
    if not args.data.exists():
        print(f"benchmark skipped: {args.data} not found (needs ../shared/data)")
        return 0
    sizes = [(s.strip(), parse_size(s)) for s in args.sizes.split(",") if s.strip()]
    if args.against:
        args.previous_class = previous_index_class(args.against)
    import faiss
    from threadpoolctl import threadpool_limits

    faiss.omp_set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        info = machine_info(args.threads) | {"against": args.against}
        if info["OPENBLAS_CORETYPE"]:
            print(
                "warning: OPENBLAS_CORETYPE is set and slows numpy; for numbers comparable to "
                "docs/benchmarks.md run under `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`",
                file=sys.stderr,
            )
        print("machine:", json.dumps(info))
        real = real_dataset(args.data)
        results = []
        for size in sizes:
            start = time.perf_counter()
            result = run_size(real, size, args)
            result["wall_s"] = time.perf_counter() - start
            print_size(result)
            results.append(result)
    info["loadavg_end"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": results}, indent=2))
    if args.markdown:
        command = "python benchmarks/bench_engine.py " + " ".join(
            argv if argv is not None else sys.argv[1:]
        )
        args.markdown.write_text(markdown(info, results, command, args.previous) + "\n")
    failed = any(r["check_faiss"]["mismatch"] or r["check_brute"]["mismatch"] for r in results)
    if failed:
        print("CORRECTNESS CHECK FAILED", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
