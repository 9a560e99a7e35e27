import pytest

from recommender.ids import parse_spotify_id

TRACK = "6f807x0ima9a1j3VPbc7VN"


@pytest.mark.parametrize(
    "text",
    [
        TRACK,
        f"spotify:track:{TRACK}",
        f"https://open.spotify.com/track/{TRACK}",
        f"https://open.spotify.com/track/{TRACK}?si=abc123",
        f"https://open.spotify.com/intl-de/track/{TRACK}?si=abc",
        f"open.spotify.com/track/{TRACK}",
        f"<https://open.spotify.com/track/{TRACK}>",
    ],
)
def test_track_references_parse_to_the_id(text: str) -> None:
    assert parse_spotify_id(text, "track") == TRACK


@pytest.mark.parametrize(
    "text",
    [
        f"spotify:playlist:{TRACK}",
        f"https://open.spotify.com/playlist/{TRACK}",
        "not an id",
        TRACK[:-1],
        "",
    ],
)
def test_other_kinds_and_garbage_are_rejected(text: str) -> None:
    assert parse_spotify_id(text, "track") is None


def test_playlist_link_parses_for_playlists() -> None:
    assert parse_spotify_id(f"https://open.spotify.com/playlist/{TRACK}?si=1", "playlist") == TRACK
