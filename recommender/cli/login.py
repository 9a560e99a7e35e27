"""``python -m recommender spotify-login``: obtain a refresh token for SPOTIFY_REFRESH_TOKEN."""

from __future__ import annotations

import argparse
import asyncio
import sys
import webbrowser

from recommender.cli import EXIT_OK, CliError
from recommender.spotify.errors import SpotifyError
from recommender.spotify.login import CALLBACK_PATH, login
from recommender.spotify.settings import SettingsError, SpotifySettings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``spotify-login`` sub-command."""
    parser = subparsers.add_parser(
        "spotify-login",
        help="log in to Spotify once and print the refresh token for .env",
        description=(
            "Opens Spotify's approval page and waits for the redirect on "
            "http://127.0.0.1:PORT/callback (register that exact URI for your app in the "
            "developer dashboard). Needs SPOTIFY_CLIENT_ID. Prints the refresh token: "
            "put it in .env as SPOTIFY_REFRESH_TOKEN and keep it secret."
        ),
    )
    parser.add_argument("--port", type=int, default=8888, help="loopback port (default 8888)")
    parser.add_argument(
        "--no-browser", action="store_true", help="print the approval URL instead of opening it"
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for the approval"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the login and print the refresh token on stdout (nothing else goes there)."""
    try:
        settings = SpotifySettings.from_env()
    except SettingsError as error:
        raise CliError(str(error)) from None
    if not settings.client_id:
        raise CliError("set SPOTIFY_CLIENT_ID (from the Spotify developer dashboard) first")

    def show(url: str) -> None:
        print(f"Open this page and approve the app:\n  {url}", file=sys.stderr)
        if not args.no_browser:
            webbrowser.open(url)

    print(
        f"Waiting for Spotify on http://127.0.0.1:{args.port}{CALLBACK_PATH} ...", file=sys.stderr
    )
    try:
        result = asyncio.run(
            login(settings, open_browser=show, port=args.port, wait_seconds=args.timeout)
        )
    except OSError as error:
        raise CliError(f"cannot listen on 127.0.0.1:{args.port}: {error.strerror}") from None
    except SpotifyError as error:
        raise CliError(error.message) from None
    print("Logged in. Add this line to .env (it is a secret):", file=sys.stderr)
    print(f"SPOTIFY_REFRESH_TOKEN={result.refresh_token}")
    return EXIT_OK
