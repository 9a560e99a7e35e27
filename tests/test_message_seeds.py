"""Finding the songs a message is about ("Recommend songs like this")."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.services.message_seeds import MAX_TEXT, find_seeds, phrases_in, track_ids_in
from recommender.catalogue import Catalogue
from recommender.resolve import SongResolver
from recommender.track import Track

A, B, C = "4uLU6hMCjMI75M1A2tKUQC", "6f807x0ima9a1j3VPbc7VN", "7ouMYWpwJ422jRcDASZB7P"
SONGS = [
    ("Northern Lights", "Aurora Band"),
    ("Good Morning", "Grouplove"),
    ("Smells Like Teen Spirit", "Nirvana"),
    ("Halo", "Beyoncé"),
    ("Me", "Someone"),
    ("Wildfire", "The Embers"),
    ("Wildfire", "Tiny Covers"),  # a second song with the same title, as well known
]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "spotify_songs.csv.gz"


@pytest.fixture(scope="module")
def resolver() -> SongResolver:
    tracks = [
        Track(id=f"{i:022d}", name=name, artists=(artist,), popularity=50)
        for i, (name, artist) in enumerate(SONGS)
    ]
    return SongResolver(Catalogue.from_tracks(tracks))


def _name(resolver: SongResolver, row: int | None) -> str | None:
    return None if row is None else resolver.catalogue.names[row]


def test_track_links_in_every_form_people_paste_them() -> None:
    text = (
        f"<https://open.spotify.com/track/{A}?si=abc> and [this](https://open.spotify.com/"
        f"intl-de/track/{B}) or spotify:track:{C}, again https://open.spotify.com/track/{A}"
    )
    assert track_ids_in([text]) == [A, B, C]  # in order, each once


def test_links_that_are_not_tracks_and_bare_ids_are_not_seeds() -> None:
    text = (
        f"https://open.spotify.com/album/{A} https://open.spotify.com/playlist/{B} "
        f"spotify:artist:{C} {A} https://evil.example/track/{B} open.spotify.com/track/short"
    )
    assert track_ids_in([text]) == []


def test_at_most_five_links_and_previews_count() -> None:
    ids = [f"{n}" * 22 for n in range(1, 8)]
    text = " ".join(f"https://open.spotify.com/track/{i}" for i in ids[:6])
    assert track_ids_in([text]) == ids[:5]
    assert track_ids_in(["nothing here", f"https://open.spotify.com/track/{A}"]) == [A]


def test_a_link_wins_over_a_name(resolver: SongResolver) -> None:
    found = find_seeds([f"Halo is ok but https://open.spotify.com/track/{B}"], resolver)
    assert found.track_ids == (B,) and found.row is None


@pytest.mark.parametrize(
    ("text", "song"),
    [
        ("northen lights", "Northern Lights"),  # a short message: typos forgiven
        ('my fave is "smells like teen spirt" obviously', "Smells Like Teen Spirit"),
        ("ok but have you all heard Northern Lights?? on repeat all week", "Northern Lights"),
        # Three words or more: a title for sure, however it is written.
        (
            "honestly smells like teen spirit slaps every single time i hear it",
            "Smells Like Teen Spirit",
        ),
        ("can't stop playing good morning by grouplove this week, so good", "Good Morning"),
        ("line one is chat\nHalo\nline three is chat too", "Halo"),
    ],
)
def test_a_song_named_in_the_message(resolver: SongResolver, text: str, song: str) -> None:
    assert _name(resolver, find_seeds([text], resolver).row) == song


def test_everyday_chat_is_not_a_song(resolver: SongResolver) -> None:
    for text in (
        "what is everyone listening to today? me, nothing",
        "wildfire season again, stay safe everyone out there please",
        "",
        "@everyone <@123> <#456> https://example.com",
    ):
        assert find_seeds([text], resolver).row is None, text


def test_a_title_in_chat_not_written_like_one_is_only_a_maybe(resolver: SongResolver) -> None:
    found = find_seeds(["ok but have you all heard northern lights?? on repeat"], resolver)
    assert found.row is None and not found.found
    assert [_name(resolver, r) for r in found.candidates] == ["Northern Lights"]


def test_two_songs_with_one_name_are_offered_not_guessed(resolver: SongResolver) -> None:
    found = find_seeds(["wildfire"], resolver)
    assert found.row is None
    assert sorted(resolver.catalogue.artists[r][0] for r in found.candidates) == [
        "The Embers",
        "Tiny Covers",
    ]


def test_hostile_messages_are_cheap_and_harmless(resolver: SongResolver) -> None:
    huge = ("Halo " + "\u200b\u202e" * 1000 + "x" * 10_000) * 20
    assert len(" ".join(phrases_in([huge]))) <= 2 * MAX_TEXT
    assert find_seeds([huge], resolver).row is not None  # the title at the start is read
    assert find_seeds(["[" * 5000 + "(" * 5000], resolver) == find_seeds([""], resolver)
    assert find_seeds(["Halo"], None).row is None  # no catalogue: links only


@pytest.mark.skipif(not DATA.exists(), reason="needs ../shared/data")
def test_real_catalogue_chat() -> None:
    from recommender.loaders import load_catalogue

    catalogue = load_catalogue(DATA)
    resolver = SongResolver(catalogue)

    def named(text: str) -> str | None:
        found = find_seeds([text], resolver)
        return None if found.row is None else catalogue.names[found.row]

    assert named("ok but have you all heard smells like teen spirit by nirvana?? wow") == (
        "Smells Like Teen Spirit"
    )
    assert named("bohemian rapsody") is not None
    assert named("bohemian rapsody").startswith("Bohemian Rhapsody")  # type: ignore[union-attr]
    # Everyday words that are also song titles are not taken for songs.
    chat = "so yesterday we went to the lake and everyone was talking about the weekend plans"
    assert named(chat) is None
    assert named("good morning everyone, what are you up to today?") is None
