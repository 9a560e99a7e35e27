"""Point discord.py at a REST proxy and a gateway proxy (or at a local fake Discord).

Large bots put a REST proxy (e.g. nirn-proxy) and a gateway proxy (e.g.
gateway-proxy) between themselves and Discord; the end-to-end tests use the same
mechanism to reach the fake Discord on 127.0.0.1. discord.py 2.7 has no setting
for either, so this module patches the three places the URLs live:

- ``discord.http.Route.BASE`` (a ``ClassVar``): every REST call, including the
  interaction callbacks and webhook followups (``webhook/async_.py`` builds the
  same ``Route``), is ``Route.BASE + path``. ``Route.__init__`` copies the URL at
  construction, so the patch must happen before the client starts.
- ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` (a ``yarl.URL``): a plain
  ``Client``/``Bot`` never asks ``GET /gateway/bot`` and connects straight to
  it; discord.py appends ``?v=10&encoding=json&compress=...`` itself with
  ``with_query`` (so a query on the configured URL is dropped, the path is kept).
  After READY the client resumes on the ``resume_gateway_url`` the gateway sent,
  and an INVALID_SESSION falls back to this default again.
- ``discord.http.HTTPClient.get_bot_gateway``: ``AutoShardedBot`` without a
  ``shard_count`` asks ``GET /gateway/bot`` for the URL; a REST proxy forwards
  Discord's real ``wss://`` answer, which would bypass the gateway proxy, so the
  URL in that answer is replaced by the configured one (BallsDex does the same).

Plain ``http://`` and ``ws://`` on localhost need nothing more: discord.py has no
TLS or scheme check (discord.py 2.7.1 uses ``Route.BASE``, ``http.py:310``, and
``DiscordWebSocket.DEFAULT_GATEWAY``, ``gateway.py:314``, as given) and aiohttp speaks
both; ``tests/e2e`` runs the bot this way.

The patches are process-global (discord.py has no per-client setting), and
``discord.http._set_api_version()`` would overwrite ``Route.BASE``; call this
after it if you ever use it. ``apply_discord_urls(None, None)`` restores
discord.py's defaults, which tests use to leave the process as they found it.
"""

from __future__ import annotations

import functools
from typing import Any

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import HTTPClient, Route

__all__ = ["DEFAULT_API_URL", "DEFAULT_GATEWAY_URL", "apply_discord_urls", "current_discord_urls"]

# Captured at import so that "unset" always means discord.py's own defaults, even
# after an earlier call patched them.
DEFAULT_API_URL: str = Route.BASE
DEFAULT_GATEWAY_URL: str = str(DiscordWebSocket.DEFAULT_GATEWAY)
_ORIGINAL_GET_BOT_GATEWAY = HTTPClient.get_bot_gateway


def _normalise_api_url(api_url: str) -> str:
    url = yarl.URL(api_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"DISCORD_API_URL must be an http(s) URL with a host, got {api_url!r}")
    # Route paths start with "/", so a trailing slash would produce "//users/@me".
    return api_url.rstrip("/")


def _normalise_gateway_url(gateway_url: str) -> yarl.URL:
    url = yarl.URL(gateway_url)
    if url.scheme not in ("ws", "wss") or not url.host:
        raise ValueError(
            f"DISCORD_GATEWAY_URL must be a ws(s) URL with a host, got {gateway_url!r}"
        )
    return url


def apply_discord_urls(api_url: str | None, gateway_url: str | None) -> None:
    """Point discord.py's REST calls at ``api_url`` and its gateway at ``gateway_url``.

    ``api_url`` includes the API version path, e.g. ``http://127.0.0.1:8080/api/v10``;
    ``gateway_url`` is e.g. ``ws://127.0.0.1:8080/gateway``. ``None`` (or an empty
    string, as an unset environment variable often is) restores discord.py's default
    for that URL. Call it before the client starts. Raises ``ValueError`` for a URL
    with the wrong scheme or no host, so a typo in the settings fails at start-up.
    """
    Route.BASE = _normalise_api_url(api_url) if api_url else DEFAULT_API_URL

    if not gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(DEFAULT_GATEWAY_URL)
        HTTPClient.get_bot_gateway = _ORIGINAL_GET_BOT_GATEWAY  # type: ignore[method-assign]
        return

    gateway = _normalise_gateway_url(gateway_url)
    DiscordWebSocket.DEFAULT_GATEWAY = gateway

    @functools.wraps(_ORIGINAL_GET_BOT_GATEWAY)
    async def get_bot_gateway(self: HTTPClient) -> tuple[int, str, Any]:
        # Keep the shard count and session limits from /gateway/bot; only the URL
        # is the proxy's.
        shards, _url, session_start_limit = await _ORIGINAL_GET_BOT_GATEWAY(self)
        return shards, str(gateway), session_start_limit

    HTTPClient.get_bot_gateway = get_bot_gateway  # type: ignore[method-assign]


def current_discord_urls() -> tuple[str, str]:
    """The REST base URL and gateway URL discord.py will use now (for logs and tests)."""
    return Route.BASE, str(DiscordWebSocket.DEFAULT_GATEWAY)
