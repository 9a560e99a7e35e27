"""Access tokens: client credentials, and a user token from a stored refresh token.

Both are cached and renewed shortly before they expire; a 401 invalidates the
token that was refused so exactly one renewal happens however many concurrent
requests saw it. Token values never reach a log line, a message or a repr.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from recommender.spotify.errors import SpotifyAuthError, clamp_upstream
from recommender.spotify.transport import Response, Transport

log = logging.getLogger(__name__)

# Renew this long before expiry (or at half the lifetime for very short tokens).
RENEW_MARGIN = 60.0


class TokenSource(Protocol):
    """Something that hands out a valid bearer token."""

    kind: str

    async def token(self) -> str:
        """A token valid for at least a few more seconds."""
        ...

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (the server refused it) so the next call renews."""
        ...


def _basic(client_id: str, client_secret: str) -> str:
    raw = f"{client_id}:{client_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def auth_error_from(response: Response, what: str) -> SpotifyAuthError:
    """An admin-facing error for a refused token request (OAuth error shape)."""
    body = response.body if isinstance(response.body, dict) else {}
    code = body.get("error") if isinstance(body.get("error"), str) else None
    if code == "invalid_client":
        return SpotifyAuthError(
            f"Spotify rejected the app credentials ({what}): check SPOTIFY_CLIENT_ID "
            "and SPOTIFY_CLIENT_SECRET in the developer dashboard."
        )
    if code == "invalid_grant":
        return SpotifyAuthError(
            f"Spotify no longer accepts the stored login ({what}): run "
            "`python -m recommender spotify-login` again and update SPOTIFY_REFRESH_TOKEN."
        )
    detail = f" ({clamp_upstream(code, 60)})" if code else ""
    return SpotifyAuthError(f"Spotify refused {what} with HTTP {response.status}{detail}.")


class _CachedToken:
    """A token fetched on demand, shared by concurrent callers, renewed before expiry."""

    kind = "client"

    def __init__(
        self, transport: Transport, token_url: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._transport = transport
        self._token_url = token_url
        self._clock = clock
        self._value: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()
        self.renewals = 0

    def __repr__(self) -> str:
        state = "valid" if self._value else "empty"
        return f"<{type(self).__name__} {state}>"

    async def token(self) -> str:
        if self._value is not None and self._clock() < self._renew_at:
            return self._value
        async with self._lock:
            if self._value is None or self._clock() >= self._renew_at:
                await self._renew()
            assert self._value is not None
            return self._value

    def invalidate(self, token: str) -> None:
        if self._value == token:
            self._value = None

    async def _renew(self) -> None:
        headers, data = self._request()
        response = await self._transport.request(
            "POST", self._token_url, headers=headers, data=data
        )
        body = response.body if isinstance(response.body, dict) else {}
        token = body.get("access_token")
        token_type = str(body.get("token_type", "bearer"))
        if not response.ok or not isinstance(token, str) or token_type.lower() != "bearer":
            raise auth_error_from(response, self._what)
        expires_in = float(body.get("expires_in") or 3600)
        margin = min(RENEW_MARGIN, expires_in / 2)
        self._value = token
        self._renew_at = self._clock() + expires_in - margin
        self.renewals += 1
        await self._accept(body)
        log.info("obtained a new %s token (valid %.0f s)", self.kind, expires_in)

    # Subclasses say what they post and what they keep from the answer.
    _what = "a token request"

    def _request(self) -> tuple[dict[str, str], dict[str, str]]:
        raise NotImplementedError

    async def _accept(self, body: dict) -> None:
        return None


class ClientCredentials(_CachedToken):
    """The app's own token (client-credentials flow): no user, public data only."""

    kind = "client"
    _what = "the client-credentials token request"

    def __init__(
        self,
        transport: Transport,
        accounts_url: str,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(transport, f"{accounts_url}/api/token", clock=clock)
        self._client_id = client_id
        self._client_secret = client_secret

    def _request(self) -> tuple[dict[str, str], dict[str, str]]:
        return (
            {"Authorization": _basic(self._client_id, self._client_secret)},
            {"grant_type": "client_credentials"},
        )


class UserToken(_CachedToken):
    """A user's token, renewed from the refresh token ``spotify-login`` printed.

    Spotify may rotate the refresh token on renewal; ``on_new_refresh_token`` is
    called with the new value so a store can persist it.
    """

    kind = "user"
    _what = "renewing the user login"

    def __init__(
        self,
        transport: Transport,
        accounts_url: str,
        client_id: str,
        refresh_token: str,
        *,
        on_new_refresh_token: Callable[[str], Awaitable[None] | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(transport, f"{accounts_url}/api/token", clock=clock)
        self._client_id = client_id
        self._refresh_token = refresh_token
        self._on_new_refresh_token = on_new_refresh_token

    def _request(self) -> tuple[dict[str, str], dict[str, str]]:
        # The login used PKCE, so the app renews as a public client: the client id
        # goes in the body and no secret is sent.
        data = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token,
            "client_id": self._client_id,
        }
        return {}, data

    async def _accept(self, body: dict) -> None:
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != self._refresh_token:
            self._refresh_token = rotated
            log.info("Spotify rotated the refresh token")
            if self._on_new_refresh_token is not None:
                result = self._on_new_refresh_token(rotated)
                if asyncio.iscoroutine(result):
                    await result
