"""``python -m recommender``: one sub-command per module in this package.

Each sub-command module exposes ``register(subparsers)``, which adds its parser and
sets ``handler`` to a function taking the parsed arguments and returning an exit code.

Settings are read like the bot's: a ``.env`` file in the working directory (or
``--env-file``, before or after the sub-command), with real environment variables
winning over it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from recommender.spotify.settings import DEFAULT_ENV_FILE, SettingsError, load_env_file

# Order is the order in --help.
SUBCOMMAND_MODULES: tuple[str, ...] = ("recommend", "fetch", "login", "evaluate")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class CliError(Exception):
    """A failure to report as one line on stderr, with an exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="python -m recommender",
        description="Music recommendations from Spotify audio features and popularity.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    _add_env_file(parser, default=None)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"recommender.cli.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"recommender.cli.{name}":
                raise
            continue  # a sub-command not built yet
        module.register(subparsers)
    for subparser in subparsers.choices.values():
        # SUPPRESS: given only before the sub-command, the top-level value stays.
        _add_env_file(subparser, default=argparse.SUPPRESS)
    return parser


def _add_env_file(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--env-file",
        default=default,
        metavar="FILE",
        help=f"settings file read like the bot's (default {DEFAULT_ENV_FILE} in the working "
        "directory, if there is one; environment variables win over it)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        # An explicitly named file must exist; the default one is optional.
        load_env_file(args.env_file or DEFAULT_ENV_FILE, required=args.env_file is not None)
    except SettingsError as error:
        print(f"error: --env-file: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return int(args.handler(args))
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
