"""The async Spotify Web API client: one session, tokens, typed errors.

Endpoint-specific reading (playlists, tracks, audio features) lives in sibling
modules and uses :meth:`SpotifyClient.get`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from urllib.parse import urlsplit

import aiohttp

from recommender.closing import AsyncClosing
from recommender.spotify.auth import ClientCredentials, TokenSource, UserToken
from recommender.spotify.capabilities import Capabilities
from recommender.spotify.errors import (
    AppRestricted,
    SpotifyAuthError,
    SpotifyConfigError,
    UnexpectedResponse,
    UnsafeLink,
)
from recommender.spotify.settings import SpotifySettings
from recommender.spotify.stats import RequestStats
from recommender.spotify.transport import Response, Transport

log = logging.getLogger(__name__)

USER_AGENT = "playlist-recommender-bot/0.1 (+aiohttp)"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """``scheme://host:port`` of ``url`` (default ports made explicit, host lower-cased)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number: matches no configured origin
        return f"invalid:{url[:50]}"
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def new_session(settings: SpotifySettings) -> aiohttp.ClientSession:
    """An aiohttp session sized for the client's concurrency."""
    connector = aiohttp.TCPConnector(limit=max(settings.max_concurrency * 2, 10))
    return aiohttp.ClientSession(connector=connector, headers={"User-Agent": USER_AGENT})


class SpotifyClient(AsyncClosing):
    """Async Spotify Web API client; use as ``async with SpotifyClient(settings) as sp``.

    Uses the user token when ``SPOTIFY_REFRESH_TOKEN`` is set (it can read that
    user's own and collaborative playlists), else client credentials. Pass
    ``session`` to share one aiohttp session with other clients; it is then not
    closed here.
    """

    def __init__(
        self,
        settings: SpotifySettings,
        *,
        session: aiohttp.ClientSession | None = None,
        capabilities: Capabilities | None = None,
        on_new_refresh_token: Callable[[str], Awaitable[None] | None] | None = None,
    ) -> None:
        self.settings = settings
        self._own_session = session is None
        self.session = session if session is not None else new_session(settings)
        self.stats = RequestStats()
        # What the app may call, as learned so far: the caller's record, else a new one.
        self.capabilities = capabilities if capabilities is not None else Capabilities()
        self.transport = self._transport("Spotify")
        self._accounts = self._transport("Spotify accounts")
        self.auth: TokenSource | None = self._token_source(on_new_refresh_token)

    def _transport(self, service: str) -> Transport:
        s = self.settings
        return Transport(
            self.session,
            service=service,
            max_concurrency=s.max_concurrency,
            timeout=s.request_timeout,
            max_retry_after=s.max_retry_after,
            max_attempts=s.max_attempts,
            backoff_base=s.backoff_base,
            rate_window=s.rate_window,
            stats=self.stats,
        )

    def _token_source(
        self, on_new_refresh_token: Callable[[str], Awaitable[None] | None] | None
    ) -> TokenSource | None:
        s = self.settings
        if s.client_id and s.refresh_token:
            return UserToken(
                self._accounts,
                s.accounts_url,
                s.client_id,
                s.refresh_token,
                on_new_refresh_token=on_new_refresh_token,
            )
        if s.client_id and s.client_secret:
            return ClientCredentials(self._accounts, s.accounts_url, s.client_id, s.client_secret)
        return None

    def __repr__(self) -> str:
        kind = self.auth.kind if self.auth else "none"
        return f"<SpotifyClient {self.settings.api_url} auth={kind}>"

    @property
    def has_user_token(self) -> bool:
        """True when calls carry a user's token (``spotify-login``)."""
        return self.auth is not None and self.auth.kind == "user"

    async def close(self) -> None:
        """Close the session if this client opened it."""
        if self._own_session and not self.session.closed:
            await self.session.close()

    @property
    def api_origin(self) -> str:
        """Scheme, host and port of ``SPOTIFY_API_URL``: the only place the token goes."""
        return origin_of(self.settings.api_url)

    def url(self, path: str) -> str:
        """An absolute URL: paths are relative to ``SPOTIFY_API_URL``."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.settings.api_url}/{path.lstrip('/')}"

    async def get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        what: str,
        allow: Collection[int] = (),
        patience: float | None = None,
    ) -> Response:
        """GET a Web API resource with the current token.

        Renews the token once on a 401. Statuses in ``allow`` are returned for the
        caller to interpret (e.g. 403 and 404 on a playlist); other errors raise.
        ``what`` names the call in error messages ("playlist X", ...). ``patience``:
        the longest ``Retry-After`` to wait through (``None``: ``SPOTIFY_MAX_RETRY_AFTER``).
        """
        if self.auth is None:
            raise SpotifyConfigError(
                "No Spotify credentials: set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET "
                "(and SPOTIFY_REFRESH_TOKEN to read your own playlists)."
            )
        url = self.url(path)
        if origin_of(url) != self.api_origin:
            # Never attach the bearer token for another origin (e.g. an absolute
            # `next` link a hostile or broken server sent).
            log.warning("refused a link to another origin for %s", what)
            raise UnsafeLink(what)
        response: Response | None = None
        for attempt in range(2):
            token = await self.auth.token()
            headers = {"Authorization": f"Bearer {token}"}
            response = await self.transport.request(
                "GET", url, params=params, headers=headers, patience=patience
            )
            if response.status != 401:
                break
            self.auth.invalidate(token)
            if attempt == 0:
                log.info("Spotify refused the token for %s; renewing once", what)
        assert response is not None
        message = response.error_field("message") or ""
        if response.status == 403 and "premium" in message.lower():
            raise AppRestricted(
                "Spotify refuses this app's requests because the app owner's Premium "
                "subscription is not active; renew it (it can take a few hours to apply)."
            )
        if response.ok or response.status in allow:
            return response
        if response.status == 401:
            raise SpotifyAuthError(
                f"Spotify refused a freshly renewed token for {what}; check the app's "
                "credentials and that its owner still has Spotify Premium."
            )
        raise UnexpectedResponse(response.status, what, message)
