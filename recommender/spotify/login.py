"""One-time user login (authorization code with PKCE and a loopback redirect).

The operator runs ``python -m recommender spotify-login`` once; the refresh token it
prints goes into ``SPOTIFY_REFRESH_TOKEN``, and the client renews user tokens from
it. PKCE means the client secret is not needed for the login itself.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from recommender.spotify.auth import auth_error_from
from recommender.spotify.errors import SpotifyAuthError
from recommender.spotify.settings import SpotifySettings
from recommender.spotify.transport import Transport

SCOPES = ("playlist-read-private", "playlist-read-collaborative")
CALLBACK_PATH = "/callback"


@dataclass(frozen=True)
class Pkce:
    """A PKCE verifier and its S256 challenge."""

    verifier: str = field(repr=False)
    challenge: str


def new_pkce() -> Pkce:
    """A fresh random verifier (64 url-safe characters) and its challenge."""
    verifier = secrets.token_urlsafe(48)  # 64 characters, within RFC 7636's 43-128
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return Pkce(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


def authorize_url(
    accounts_url: str,
    client_id: str,
    redirect_uri: str,
    challenge: str,
    state: str,
    scopes: tuple[str, ...] = SCOPES,
) -> str:
    """The page the user opens to approve the app."""
    query = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "code_challenge_method": "S256",
        "code_challenge": challenge,
        "state": state,
        "scope": " ".join(scopes),
    }
    return f"{accounts_url}/authorize?{urlencode(query)}"


@dataclass(frozen=True)
class LoginResult:
    """What the login obtained; only ``refresh_token`` needs to be kept."""

    refresh_token: str = field(repr=False)
    scope: str = ""


_PAGE = "<html><body><h3>{}</h3><p>You can close this tab.</p></body></html>"


async def login(
    settings: SpotifySettings,
    *,
    open_browser: Callable[[str], Awaitable[object] | object],
    host: str = "127.0.0.1",
    port: int = 8888,
    wait_seconds: float = 300.0,
    scopes: tuple[str, ...] = SCOPES,
) -> LoginResult:
    """Run the PKCE login: serve the loopback redirect, open the approval page, exchange.

    The redirect URI ``http://127.0.0.1:<port>/callback`` must be registered for the
    app in Spotify's developer dashboard. ``port=0`` picks a free port (tests).
    Raises :class:`SpotifyAuthError` if the user refuses or the exchange fails.
    """
    if not settings.client_id:
        raise SpotifyAuthError("Set SPOTIFY_CLIENT_ID (from the developer dashboard) first.")
    pkce = new_pkce()
    state = secrets.token_urlsafe(16)
    code: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def callback(request: web.Request) -> web.Response:
        if request.query.get("state") != state:
            return web.Response(status=400, text="state mismatch", content_type="text/plain")
        if "error" in request.query and not code.done():
            code.set_exception(
                SpotifyAuthError(f"The Spotify login was refused: {request.query['error']}.")
            )
        elif "code" in request.query and not code.done():
            code.set_result(request.query["code"])
        return web.Response(text=_PAGE.format("Spotify login received"), content_type="text/html")

    app = web.Application()
    app.router.add_get(CALLBACK_PATH, callback)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        redirect_uri = f"http://{host}:{bound_port}{CALLBACK_PATH}"
        url = authorize_url(
            settings.accounts_url, settings.client_id, redirect_uri, pkce.challenge, state, scopes
        )
        opened = open_browser(url)
        if inspect.isawaitable(opened):
            await opened
        try:
            received = await asyncio.wait_for(code, wait_seconds)
        except TimeoutError:
            raise SpotifyAuthError(
                f"No answer from the Spotify login page within {wait_seconds:.0f} s."
            ) from None
    finally:
        await runner.cleanup()
    return await exchange_code(settings, received, redirect_uri, pkce.verifier)


async def exchange_code(
    settings: SpotifySettings, code: str, redirect_uri: str, verifier: str
) -> LoginResult:
    """Trade the authorization code for tokens (PKCE: client id, no secret)."""
    assert settings.client_id
    async with aiohttp.ClientSession() as session:
        transport = Transport(session, service="Spotify accounts", max_attempts=2)
        response = await transport.request(
            "POST",
            f"{settings.accounts_url}/api/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": settings.client_id,
                "code_verifier": verifier,
            },
        )
    body = response.body if isinstance(response.body, dict) else {}
    refresh = body.get("refresh_token")
    if not response.ok or not isinstance(refresh, str):
        raise auth_error_from(response, "the login")
    return LoginResult(refresh, str(body.get("scope") or ""))
