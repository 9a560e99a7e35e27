"""Ingest a large playlist from the fake Spotify: this client vs spotipy vs the tutorial.

Run from the repository root (spotipy is in the ``bench`` extra)::

    python benchmarks/bench_ingest.py

All three clients talk to the same fake Spotify (full API behaviour, fixed latency
per request, no rate limit) in the same run. A second part answers 1 request in 50
with a 429 (``Retry-After: 1``) and compares this client's import with a clean one
measured right before it (target: within 2x). A third part switches on a rolling
limit (180 requests per 30 s, time scaled down by ``--scale``) and checks that
this client completes with few 429s (target: under 5%). Results go to stdout as
Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import multiprocessing
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import spotipy  # noqa: E402
from spotipy.oauth2 import SpotifyClientCredentials  # noqa: E402

from recommender.ingest import Ingestion  # noqa: E402
from recommender.spotify import SpotifySettings  # noqa: E402
from tests.fakes import FakeSpotify, FakeSpotifyConfig, Faults, running_fake_spotify  # noqa: E402


def _serve(conn: Connection, config: FakeSpotifyConfig) -> None:
    """Child process: run the fake and answer commands from the benchmark."""

    def add_playlist(fake: FakeSpotify, n: int) -> str:
        return fake.add_playlist(n, name="Big")

    def sample(fake: FakeSpotify, playlist: str, n: int) -> str:
        return fake.add_playlist([e.track_id for e in fake.playlists[playlist].entries[:n]])

    def stats(fake: FakeSpotify) -> tuple[int, int, int]:
        log = fake.log
        api = sum(1 for r in log.requests if r.path.startswith("/v1/"))
        return api + log.count("/api/token"), log.count("/v1/", status=429), log.peak_in_flight

    commands: dict[str, Callable[..., Any]] = {
        "add_playlist": add_playlist,
        "sample": sample,
        "stats": stats,
        "clear": lambda fake: fake.log.clear(),
        "set_faults": lambda fake, faults: fake.set_faults(faults),
    }

    async def main() -> None:
        async with running_fake_spotify(config) as fake:
            conn.send(fake.env())
            loop = asyncio.get_running_loop()
            while True:
                name, args = await loop.run_in_executor(None, conn.recv)
                if name == "stop":
                    return
                conn.send(commands[name](fake, *args))

    asyncio.run(main())


class FakeProcess:
    """The fake Spotify in its own process, so it does not share a GIL with the clients."""

    def __init__(self, config: FakeSpotifyConfig) -> None:
        self.conn, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("fork").Process(
            target=_serve, args=(child, config), daemon=True
        )
        self.process.start()
        self.env: dict[str, str] = self.conn.recv()

    def call(self, name: str, *args: Any) -> Any:
        self.conn.send((name, args))
        return self.conn.recv()

    def close(self) -> None:
        self.conn.send(("stop", ()))
        self.process.join(timeout=10)


@dataclasses.dataclass
class Result:
    name: str
    tracks: int
    seconds: float
    requests: int
    peak: int
    rate_limited: int = 0
    note: str = ""


def measure(server: FakeProcess, name: str, run: Callable[[], int], note: str = "") -> Result:
    server.call("clear")
    started = time.perf_counter()
    tracks = run()
    seconds = time.perf_counter() - started
    requests_made, limited, peak = server.call("stats")
    return Result(name, tracks, seconds, requests_made, peak, limited, note)


def ours(env: dict[str, str], playlist: str, max_wait: float | None = None, **kw: Any) -> int:
    settings = dataclasses.replace(SpotifySettings.from_env(env), **kw)

    async def run() -> int:
        async with Ingestion(settings) as ingestion:
            tracks, summary = await ingestion.playlist(playlist, max_wait=max_wait)
            assert summary.features_by_source.get("spotify") == len(tracks), summary
            return len(tracks)

    return asyncio.run(run())


def spotipy_client(env: dict[str, str]) -> spotipy.Spotify:
    """spotipy pointed at the fake: ``prefix`` and ``OAUTH_TOKEN_URL`` (spotipy 2.26,
    ``spotipy/client.py`` and ``spotipy/oauth2.py``)."""
    session = requests.Session()
    session.trust_env = False  # never a proxy for 127.0.0.1
    auth = SpotifyClientCredentials(
        client_id=env["SPOTIFY_CLIENT_ID"],
        client_secret=env["SPOTIFY_CLIENT_SECRET"],
        requests_session=session,
        cache_handler=spotipy.MemoryCacheHandler(),
    )
    auth.OAUTH_TOKEN_URL = f"{env['SPOTIFY_ACCOUNTS_URL']}/api/token"
    client = spotipy.Spotify(auth_manager=auth, requests_session=session, retries=0)
    client.prefix = f"{env['SPOTIFY_API_URL']}/"
    return client


def spotipy_done_well(env: dict[str, str], playlist: str) -> int:
    """Paginated items, then tracks in batches of 50 and audio features in batches of 100."""
    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)  # audio_features() warns
    sp = spotipy_client(env)
    ids: list[str] = []
    page = sp.playlist_items(playlist, limit=50, additional_types=("track",))
    while page:
        ids += [e["track"]["id"] for e in page["items"] if e.get("track") and e["track"]["id"]]
        page = sp.next(page) if page.get("next") else None
    tracks = {}
    for i in range(0, len(ids), 50):
        for track in sp.tracks(ids[i : i + 50])["tracks"]:
            if track:
                tracks[track["id"]] = track
    features = {}
    for i in range(0, len(ids), 100):
        for item in sp.audio_features(ids[i : i + 100]):
            if item:
                features[item["id"]] = item
    assert len(features) == len(ids)
    return len(ids)


def tutorial(env: dict[str, str], playlist: str) -> int:
    """The seed tutorial: one page of items, then three calls per track, one after another."""
    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)
    sp = spotipy_client(env)
    page = sp.playlist_tracks(playlist, fields="items(track(id,name,artists,album(id,name))),next")
    rows = 0
    while page:  # the seed reads only the first page; paginate so the sample is complete
        for entry in page["items"]:
            track = entry["track"]
            sp.audio_features(track["id"])
            sp.album(track["album"]["id"])
            sp.track(track["id"])
            rows += 1
        page = sp.next(page) if page.get("next") else None
    return rows


def table(results: list[Result], baseline: Result) -> str:
    lines = [
        "| client | tracks | wall time | requests | peak concurrency | vs spotipy done well |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = baseline.seconds / r.seconds if r.seconds else float("inf")
        lines.append(
            f"| {r.name} | {r.tracks:,} | {r.seconds:.2f} s{r.note} | {r.requests:,} | {r.peak} "
            f"| {ratio:.1f}x |"
        )
    return "\n".join(lines)


def sparse_part(
    server: FakeProcess, env: dict[str, str], playlist: str, args: argparse.Namespace
) -> None:
    """Sparse 429s (1 in ``--sparse-every``, Retry-After 1 s) against a clean import."""
    server.call("set_faults", Faults(latency=args.latency))
    clean = measure(server, "clean", lambda: ours(env, playlist))
    server.call(
        "set_faults",
        Faults(latency=args.latency, rate_limit_every=args.sparse_every, retry_after=1.0),
    )
    sparse = measure(server, f"1 in {args.sparse_every} answered 429", lambda: ours(env, playlist))
    server.call("set_faults", Faults(latency=args.latency))
    ratio = sparse.seconds / clean.seconds
    print(
        f"\n### Sparse 429s: 1 request in {args.sparse_every} refused with Retry-After 1 s, "
        f"{args.tracks:,} tracks\n"
    )
    print("| import | wall time | requests | 429 answers | vs clean |")
    print("|---|---:|---:|---:|---:|")
    for r in (clean, sparse):
        print(
            f"| {r.name} | {r.seconds:.2f} s | {r.requests} | {r.rate_limited} "
            f"| {r.seconds / clean.seconds:.2f}x |"
        )
    verdict = "met" if ratio <= 2 else "NOT met"
    print(f"\nTarget (within 2x of the clean import): {verdict}, {ratio:.2f}x.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.020, help="seconds per request")
    parser.add_argument("--tutorial-sample", type=int, default=300)
    parser.add_argument(
        "--scale", type=float, default=10.0, help="time compression of the rolling-limit part"
    )
    parser.add_argument("--limit", type=int, default=180, help="requests per 30 s window")
    parser.add_argument(
        "--sparse-every", type=int, default=50, help="1 request in N answers 429 (part two)"
    )
    parser.add_argument(
        "--parts",
        default="clients,sparse,rolling",
        help="comma-separated: clients (vs spotipy and the tutorial), sparse, rolling",
    )
    args = parser.parse_args()

    server = FakeProcess(FakeSpotifyConfig(faults=Faults(latency=args.latency)))
    env = server.env
    try:
        playlist = server.call("add_playlist", args.tracks)
        if "clients" in args.parts:
            clients_part(server, env, playlist, args)
        if "sparse" in args.parts:
            sparse_part(server, env, playlist, args)
        if "rolling" in args.parts:
            rolling_part(server, env, playlist, args)
    finally:
        server.close()


def clients_part(
    server: FakeProcess, env: dict[str, str], playlist: str, args: argparse.Namespace
) -> None:
    """This client vs spotipy done well vs the tutorial, no faults."""
    sample = server.call("sample", playlist, args.tutorial_sample)
    ours_result = measure(server, "this client (aiohttp)", lambda: ours(env, playlist))
    well = measure(server, "spotipy done well", lambda: spotipy_done_well(env, playlist))
    sampled = measure(server, "tutorial's way", lambda: tutorial(env, sample))
    factor = args.tracks / sampled.tracks
    extrapolated = Result(
        sampled.name,
        args.tracks,
        sampled.seconds * factor,
        round(sampled.requests * factor),
        sampled.peak,
        note=f" (extrapolated from {sampled.tracks} tracks in {sampled.seconds:.1f} s)",
    )
    print(f"### {args.tracks:,} tracks, {args.latency * 1000:.0f} ms per request, no rate limit\n")
    print(table([ours_result, well, extrapolated], well))


def rolling_part(
    server: FakeProcess, env: dict[str, str], playlist: str, args: argparse.Namespace
) -> None:
    """A rolling limit, time scaled down by ``--scale``."""
    window = 30.0 / args.scale
    faults = Faults(
        latency=args.latency,
        rolling_limit=args.limit,
        rolling_window=window,
        whole_seconds=args.scale == 1,
    )
    server.call("set_faults", faults)
    limited = measure(
        server,
        "this client, rolling limit",
        lambda: ours(env, playlist, max_wait=window + 5, rate_window=window),
    )
    share = limited.rate_limited / limited.requests
    verdict = "met" if share < 0.05 else "NOT met"
    print(
        f"\n### Rolling limit: {args.limit} requests per 30 s, time scaled by {args.scale:g} "
        f"({args.limit} per {window:g} s)\n"
    )
    print("| tracks | wall time | requests | 429 answers | share of requests |")
    print("|---:|---:|---:|---:|---:|")
    print(
        f"| {limited.tracks:,} | {limited.seconds:.2f} s "
        f"(= {limited.seconds * args.scale:.0f} s unscaled) | {limited.requests} "
        f"| {limited.rate_limited} | {share:.1%} |"
    )
    print(f"\nTarget (fewer than 5% of requests answered 429): {verdict}.")


if __name__ == "__main__":
    main()
