"""The real Spotify client against the fake: tokens, retries, rate limits, secrets."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from recommender.spotify import (
    AppRestricted,
    QuotaExceeded,
    RateLimited,
    SpotifyAuthError,
    SpotifyClient,
    SpotifyConfigError,
    SpotifySettings,
    SpotifyUnavailable,
    get_tracks,
)
from recommender.spotify.auth import ClientCredentials
from recommender.spotify.capabilities import Capabilities
from recommender.spotify.limiter import STRIKES
from tests.fakes import FakeSpotify, Faults


def settings_for(
    fake: FakeSpotify, *, user: str | None = None, **overrides: object
) -> SpotifySettings:
    """Settings pointing at ``fake``, with retries fast enough for tests."""
    settings = SpotifySettings.from_env(fake.env(user=user))
    fast = {"backoff_base": 0.01, "max_retry_after": 2.0, "request_timeout": 5.0}
    return dataclasses.replace(settings, **{**fast, **overrides})


async def test_client_credentials_token_is_fetched_once_and_reused(
    full: FakeSpotify,
) -> None:
    ids = [full.add_track() for _ in range(3)]
    async with SpotifyClient(settings_for(full)) as client:
        for track_id in ids:
            await get_tracks(client, [track_id])
    assert full.token_requests == ["client_credentials"]
    assert {r.token_kind for r in full.requests.requests if r.path.startswith("/v1")} == {"client"}


async def test_token_is_renewed_before_it_expires(full: FakeSpotify) -> None:
    now = [0.0]
    track_id = full.add_track()
    async with SpotifyClient(settings_for(full)) as client:
        auth = ClientCredentials(
            client._accounts,
            full.accounts_url,
            full.config.client_id,
            full.config.client_secret,
            clock=lambda: now[0],
        )
        client.auth = auth
        await get_tracks(client, [track_id])
        now[0] = 3600 - 61  # still valid, outside the renewal margin
        await get_tracks(client, [track_id])
        assert auth.renewals == 1
        now[0] = 3600 - 30  # inside the margin: renewed before Spotify would refuse it
        await get_tracks(client, [track_id])
        assert auth.renewals == 2
    assert full.requests.count("/v1/", status=401) == 0


async def test_an_expired_token_is_renewed_once_on_401(full: FakeSpotify) -> None:
    ids = [full.add_track() for _ in range(2)]
    async with SpotifyClient(settings_for(full)) as client:
        await get_tracks(client, ids[:1])
        full.expire_tokens()
        found = await get_tracks(client, ids[1:])
    assert list(found) == ids[1:]
    assert full.token_requests == ["client_credentials", "client_credentials"]
    assert full.requests.count("/v1/", status=401) == 1


async def test_tokens_refused_twice_raise_an_auth_error(full: FakeSpotify) -> None:
    full.config.token_lifetime = 0.0  # every token is dead on arrival
    track_id = full.add_track()
    async with SpotifyClient(settings_for(full)) as client:
        with pytest.raises(SpotifyAuthError, match="freshly renewed token"):
            await get_tracks(client, [track_id])
    assert full.token_requests == ["client_credentials", "client_credentials"]


async def test_wrong_client_secret_names_the_settings_and_hides_the_secret(
    full: FakeSpotify, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-secret-value-123"
    settings = settings_for(full, client_secret=wrong)
    assert wrong not in repr(settings)
    async with SpotifyClient(settings) as client:
        assert wrong not in repr(client) and wrong not in repr(client.auth)
        with pytest.raises(SpotifyAuthError) as caught:
            await get_tracks(client, [full.add_track()])
    assert "SPOTIFY_CLIENT_SECRET" in str(caught.value)
    assert wrong not in str(caught.value)
    assert wrong not in caplog.text


async def test_no_secret_or_token_reaches_the_log_or_errors(
    dev: FakeSpotify, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = dev
    fake.set_faults(Faults(rate_limit_every=2, retry_after=0.01, whole_seconds=False))
    settings = settings_for(fake, user="owner")
    playlist = fake.add_playlist(5, owner="someone-else")
    from recommender.spotify import PlaylistNotReadable, read_playlist

    async with SpotifyClient(settings) as client:
        with pytest.raises(PlaylistNotReadable) as caught:
            await read_playlist(client, playlist)
        access_tokens = list(fake._tokens)
    secrets = [settings.client_secret, settings.refresh_token, *access_tokens]
    assert access_tokens
    for secret in secrets:
        assert secret and secret not in caplog.text
        assert secret not in str(caught.value)
        assert secret not in repr(settings)


async def test_refresh_token_gives_a_user_token(full: FakeSpotify) -> None:
    track_id = full.add_track()
    async with SpotifyClient(settings_for(full, user="owner")) as client:
        assert client.has_user_token
        await get_tracks(client, [track_id])
    assert full.token_requests == ["refresh_token"]
    assert full.requests.requests[-1].token_kind == "user"


async def test_a_revoked_refresh_token_asks_for_a_new_login(full: FakeSpotify) -> None:
    settings = dataclasses.replace(settings_for(full), refresh_token="AQrevoked")
    async with SpotifyClient(settings) as client:
        with pytest.raises(SpotifyAuthError, match="spotify-login"):
            await get_tracks(client, [full.add_track()])


async def test_without_credentials_the_error_names_the_settings(full: FakeSpotify) -> None:
    settings = SpotifySettings(api_url=full.url, accounts_url=full.accounts_url)
    async with SpotifyClient(settings) as client:
        with pytest.raises(SpotifyConfigError, match="SPOTIFY_CLIENT_ID"):
            await get_tracks(client, ["6f807x0ima9a1j3VPbc7VN"])


async def test_429_with_a_short_retry_after_is_waited_out(full: FakeSpotify) -> None:
    ids = [full.add_track() for _ in range(6)]
    full.set_faults(Faults(rate_limit_every=3, retry_after=0.05, whole_seconds=False))
    async with SpotifyClient(settings_for(full, max_concurrency=1)) as client:
        found = {}
        for track_id in ids:
            found.update(await get_tracks(client, [track_id]))
        assert client.stats.rate_limited >= 2
        assert client.stats.retries == client.stats.rate_limited
    assert set(found) == set(ids)


async def test_a_retry_after_beyond_the_cap_fails_fast_saying_when(
    full: FakeSpotify,
) -> None:
    full.set_faults(Faults(rate_limit_every=1, retry_after=40))
    async with SpotifyClient(settings_for(full, max_retry_after=2.0)) as client:
        with pytest.raises(RateLimited) as caught:
            await get_tracks(client, [full.add_track()])
    assert caught.value.retry_after == 40
    assert "try again in 40 s" in str(caught.value)
    assert full.requests.count("/v1/") == 1  # not retried


async def test_a_job_may_wait_longer_than_the_interactive_cap(full: FakeSpotify) -> None:
    full.set_faults(Faults(rate_limit_every=2, retry_after=0.3, whole_seconds=False))
    ids = [full.add_track() for _ in range(2)]
    async with SpotifyClient(settings_for(full, max_retry_after=0.1)) as client:
        await get_tracks(client, ids[:1])
        await get_tracks(client, ids[1:], patience=1.0)
        with pytest.raises(RateLimited):
            await get_tracks(client, ids[:1])


async def test_quota_exhaustion_opens_a_circuit(full: FakeSpotify) -> None:
    full.set_faults(Faults(quota_after=1, quota_retry_after=48925))
    ids = [full.add_track() for _ in range(3)]
    async with SpotifyClient(settings_for(full)) as client:
        await get_tracks(client, ids[:1])
        with pytest.raises(QuotaExceeded) as caught:
            await get_tracks(client, ids[1:2])
        assert caught.value.retry_after == 48925
        assert "quota" in str(caught.value) and "13.6 h" in str(caught.value)
        with pytest.raises(QuotaExceeded):  # the circuit answers without asking Spotify
            await get_tracks(client, ids[2:])
    assert full.requests.count("/v1/") == 2


async def test_server_errors_are_retried_with_backoff(full: FakeSpotify) -> None:
    full.set_faults(Faults(fail_first=2, error_status=502))
    track_id = full.add_track()
    async with SpotifyClient(settings_for(full)) as client:
        found = await get_tracks(client, [track_id])
        assert client.stats.retries == 2
    assert list(found) == [track_id]
    assert [r.status for r in full.requests.requests if "/v1/" in r.path] == [502, 502, 200]


async def test_persistent_server_errors_raise_unavailable(full: FakeSpotify) -> None:
    full.set_faults(Faults(fail_first=100))
    async with SpotifyClient(settings_for(full, max_attempts=3)) as client:
        with pytest.raises(SpotifyUnavailable, match="HTTP 503 after 3 attempts"):
            await get_tracks(client, [full.add_track()])
    assert full.requests.count("/v1/") == 3


async def test_timeouts_are_retried_then_reported(full: FakeSpotify) -> None:
    full.set_faults(Faults(latency=0.5))
    settings = settings_for(full, request_timeout=0.05, max_attempts=2)
    async with SpotifyClient(settings) as client:
        with pytest.raises(SpotifyUnavailable, match="timeout after 2 attempts"):
            await get_tracks(client, [full.add_track()])


async def test_a_lapsed_premium_subscription_is_explained(full: FakeSpotify) -> None:
    full.config.premium_lapsed = True
    async with SpotifyClient(settings_for(full)) as client:
        with pytest.raises(AppRestricted, match="Premium"):
            await get_tracks(client, [full.add_track()])


async def test_the_limiter_learns_the_rolling_window(full: FakeSpotify) -> None:
    """After the first burst of 429s the client paces itself below the limit."""
    ids = [full.add_track() for _ in range(60)]
    full.set_faults(Faults(rolling_limit=20, rolling_window=0.5, whole_seconds=False))
    settings = settings_for(full, rate_window=0.5, max_concurrency=4)
    async with SpotifyClient(settings) as client:
        client.capabilities.batch_tracks = False  # one request per track
        found = await get_tracks(client, ids)
        limiter = client.transport.limiter
    assert len(found) == 60
    assert limiter.confirmed >= 1  # pressure recognised, the cap cut
    rejected = full.requests.count("/v1/", status=429)
    # A burst per episode (the requests in flight, then one probe), not one per request:
    # unpaced, 60 requests through a limit of 20 draw dozens of 429s.
    assert STRIKES <= rejected <= (4 + 1) * limiter.confirmed + 2 * limiter.dismissed
    assert limiter.confirmed <= 2


async def test_sparse_429s_are_waited_out_without_slowing_everyone(full: FakeSpotify) -> None:
    """One request in ten refused: each waits its Retry-After, no limit is learned."""
    ids = [full.add_track() for _ in range(80)]
    full.set_faults(Faults(rate_limit_every=10, retry_after=0.05, whole_seconds=False))
    async with SpotifyClient(settings_for(full, max_concurrency=4)) as client:
        client.capabilities.batch_tracks = False  # one request per track
        found = await get_tracks(client, ids)
        limiter = client.transport.limiter
        assert client.stats.rate_limited >= 8
    assert set(found) == set(ids)
    assert limiter.confirmed == 0 and limiter.limit is None
    assert limiter.dismissed >= 1


async def test_what_the_app_may_call_is_the_callers_record_not_the_processes(
    full: FakeSpotify,
) -> None:
    ids = [full.add_track() for _ in range(2)]
    async with (
        SpotifyClient(settings_for(full)) as first,
        SpotifyClient(settings_for(full)) as second,
    ):
        first.capabilities.batch_tracks = False
        assert second.capabilities.batch_tracks is None  # nothing shared behind its back
    known = Capabilities(batch_tracks=False)
    async with SpotifyClient(settings_for(full), capabilities=known) as client:
        assert set(await get_tracks(client, ids)) == set(ids)
        assert client.capabilities is known
    assert full.requests.count("/v1/tracks/") == 2  # the record said: one request per track
    assert full.requests.count("/v1/tracks") == 2  # and no batch was tried
