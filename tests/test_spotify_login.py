"""The PKCE login against the fake accounts service, then using its refresh token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from recommender.spotify import SpotifyAuthError, SpotifyClient, SpotifySettings, read_playlist
from recommender.spotify.login import authorize_url, login, new_pkce
from tests.fakes import FakeSpotify, FakeSpotifyConfig, running_fake_spotify


@pytest.fixture
async def dev() -> AsyncIterator[FakeSpotify]:
    async with running_fake_spotify(FakeSpotifyConfig(mode="development")) as fake:
        yield fake


async def approve(url: str) -> None:
    """The user's browser: open the page, follow the redirect to the loopback server."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200


async def test_login_yields_a_refresh_token_that_reads_own_playlists(dev: FakeSpotify) -> None:
    settings = SpotifySettings.from_env(
        {"SPOTIFY_CLIENT_ID": dev.config.client_id, "SPOTIFY_ACCOUNTS_URL": dev.accounts_url}
    )
    result = await login(settings, open_browser=approve, port=0, wait_seconds=5)
    assert result.refresh_token not in repr(result)
    playlist = dev.add_playlist(12, owner=dev.config.login_user)
    env = {**dev.env(), "SPOTIFY_REFRESH_TOKEN": result.refresh_token}
    async with SpotifyClient(SpotifySettings.from_env(env)) as client:
        contents = await read_playlist(client, playlist)
    assert len(contents.tracks) == 12
    assert dev.token_requests == ["authorization_code", "refresh_token"]


async def test_a_refused_login_is_an_auth_error(dev: FakeSpotify) -> None:
    settings = SpotifySettings.from_env(
        {"SPOTIFY_CLIENT_ID": "someone-else", "SPOTIFY_ACCOUNTS_URL": dev.accounts_url}
    )

    async def refuse(url: str) -> None:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 400  # the fake rejects an unknown client id

    with pytest.raises(SpotifyAuthError, match="No answer"):
        await login(settings, open_browser=refuse, port=0, wait_seconds=0.2)


def test_pkce_challenge_is_the_s256_of_the_verifier() -> None:
    import base64
    import hashlib

    pkce = new_pkce()
    assert 43 <= len(pkce.verifier) <= 128 and pkce.verifier not in repr(pkce)
    digest = hashlib.sha256(pkce.verifier.encode()).digest()
    assert pkce.challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    url = authorize_url(
        "https://accounts.example", "cid", "http://127.0.0.1:8888/callback", "c", "s"
    )
    assert "code_challenge_method=S256" in url and "playlist-read-private" in url
