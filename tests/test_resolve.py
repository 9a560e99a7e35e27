"""Finding the song a person means: ids, links, names, typos, and honest ambiguity."""

from __future__ import annotations

import pytest

from recommender.catalogue import Catalogue, clean_title, normalise_text
from recommender.resolve import SongResolver
from recommender.track import Track
from tests.fixtures import track_id

SONGS = [
    # (name, artists, popularity)
    ("Blinding Lights", ("The Weeknd",), 90),
    ("Blinding Lights - Remastered 2020", ("The Weeknd",), 40),
    ("Hello", ("Adele",), 80),
    ("Hello", ("Lionel Richie",), 60),
    ("Déjà Vu", ("Olivia Rodrigo",), 70),
    ("Stay (with Justin Bieber)", ("The Kid LAROI", "Justin Bieber"), 85),
    ("Stay", ("Rihanna", "Mikky Ekko"), 65),
    ("Bohemian Rhapsody - Remastered 2011", ("Queen",), 75),
    ("Lights Up", ("Harry Styles",), 55),
    ("Blue Monday", ("New Order",), None),
]
ID = {name_artist: track_id(i, "R") for i, name_artist in enumerate((s[0], s[1][0]) for s in SONGS)}


def tid(name: str, artist: str) -> str:
    return ID[(name, artist)]


@pytest.fixture(scope="module")
def resolver() -> SongResolver:
    tracks = [
        Track(id=track_id(i, "R"), name=name, artists=artists, popularity=popularity)
        for i, (name, artists, popularity) in enumerate(SONGS)
    ]
    return SongResolver(Catalogue.from_tracks(tracks))


def resolved_id(resolver: SongResolver, text: str) -> str | None:
    resolution = resolver.resolve(text)
    return resolver.catalogue.ids[resolution.row] if resolution.resolved else None


def test_text_normalisation_drops_case_accents_credits_and_remasters() -> None:
    assert normalise_text("  Déjà  Vu!! ") == "deja vu"
    assert clean_title("Stay (with Justin Bieber)") == "stay"
    assert clean_title("Song (feat. X) [2009 Remaster]") == "song"
    assert clean_title("Song - Remastered 2011") == "song"
    assert clean_title("Song ft. Somebody") == "song"
    assert clean_title("Remaster Blaster") == "remaster blaster"


@pytest.mark.parametrize(
    "text",
    [
        "{id}",
        "spotify:track:{id}",
        "https://open.spotify.com/track/{id}?si=abcdef",
        "https://open.spotify.com/intl-de/track/{id}",
        "<https://open.spotify.com/track/{id}>",
    ],
)
def test_ids_uris_and_links_resolve_directly(resolver: SongResolver, text: str) -> None:
    wanted = tid("Hello", "Lionel Richie")
    assert resolved_id(resolver, text.format(id=wanted)) == wanted


def test_a_track_the_catalogue_lacks_is_reported_with_its_id(resolver: SongResolver) -> None:
    missing = "4uLU6hMCjMI75M1A2tKUQC"
    resolution = resolver.resolve(f"https://open.spotify.com/track/{missing}")
    assert not resolution.resolved
    assert resolution.spotify_id == missing
    assert resolution.problem == "not in catalogue"


def test_links_to_other_things_are_not_mistaken_for_names(resolver: SongResolver) -> None:
    resolution = resolver.resolve("https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M")
    assert resolution.problem == "not a track link"
    assert resolver.resolve("   ").problem == "empty"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("blinding lights", ("Blinding Lights", "The Weeknd")),
        ("BLINDING LIGHTS", ("Blinding Lights", "The Weeknd")),
        ("deja vu", ("Déjà Vu", "Olivia Rodrigo")),
        ("Bohemian Rhapsody", ("Bohemian Rhapsody - Remastered 2011", "Queen")),
        ("hello - adele", ("Hello", "Adele")),
        ("Hello by Lionel Richie", ("Hello", "Lionel Richie")),
        ("Adele - Hello", ("Hello", "Adele")),
        ("stay - rihanna", ("Stay", "Rihanna")),
        (
            "Stay (feat. Justin Bieber) - The Kid LAROI",
            ("Stay (with Justin Bieber)", "The Kid LAROI"),
        ),
        ("bohemain rhapsody queen", ("Bohemian Rhapsody - Remastered 2011", "Queen")),
        ("blue monday", ("Blue Monday", "New Order")),
    ],
)
def test_names_resolve_tolerantly(resolver: SongResolver, text: str, expected: tuple) -> None:
    assert resolved_id(resolver, text) == tid(*expected)


def test_a_title_typo_without_artist_offers_the_song_first(resolver: SongResolver) -> None:
    resolution = resolver.resolve("bohemain rhapsody")
    best = resolution.row if resolution.resolved else resolution.candidates[0]
    assert resolver.catalogue.ids[best] == tid("Bohemian Rhapsody - Remastered 2011", "Queen")


def test_releases_of_one_song_resolve_to_the_most_popular(resolver: SongResolver) -> None:
    assert resolved_id(resolver, "Blinding Lights - Remastered 2020") == tid(
        "Blinding Lights", "The Weeknd"
    )


@pytest.mark.parametrize("text", ["hello", "stay"])
def test_different_songs_with_one_name_give_candidates_not_a_guess(
    resolver: SongResolver, text: str
) -> None:
    resolution = resolver.resolve(text)
    assert not resolution.resolved
    assert resolution.problem == "ambiguous"
    names = {resolver.catalogue.names[r] for r in resolution.candidates}
    assert len(resolution.candidates) == 2
    assert all(clean_title(n) == text for n in names)
    # Best known first.
    popularity = [resolver.catalogue.popularity[r] for r in resolution.candidates]
    assert popularity == sorted(popularity, reverse=True)


def test_nothing_close_is_not_found_but_closest_still_offers_names(
    resolver: SongResolver,
) -> None:
    resolution = resolver.resolve("qwxz zzzv")
    assert not resolution.resolved
    assert resolution.problem in ("not found", "ambiguous")
    assert len(resolver.closest("qwxz zzzv", limit=3)) == 3
    closest = resolver.closest("bohemian rhapsodie", limit=2)
    assert resolver.catalogue.ids[closest[0]] == tid("Bohemian Rhapsody - Remastered 2011", "Queen")


def test_suggest_completes_word_prefixes_titles_first_one_entry_per_song(
    resolver: SongResolver,
) -> None:
    rows = resolver.suggest("ligh")
    ids = [resolver.catalogue.ids[r] for r in rows]
    assert ids == [tid("Blinding Lights", "The Weeknd"), tid("Lights Up", "Harry Styles")][::-1]
    assert tid("Blinding Lights - Remastered 2020", "The Weeknd") not in ids
    assert [resolver.catalogue.ids[r] for r in resolver.suggest("weeknd bli")] == [
        tid("Blinding Lights", "The Weeknd")
    ]


def test_suggest_offers_popular_songs_for_empty_text_and_respects_the_limit(
    resolver: SongResolver,
) -> None:
    rows = resolver.suggest("", limit=3)
    assert [resolver.catalogue.ids[r] for r in rows] == [
        tid("Blinding Lights", "The Weeknd"),
        tid("Stay (with Justin Bieber)", "The Kid LAROI"),
        tid("Hello", "Adele"),
    ]
    assert len(resolver.suggest("l", limit=2)) == 2


def test_suggest_survives_typos(resolver: SongResolver) -> None:
    rows = resolver.suggest("blindng lights")
    assert resolver.catalogue.ids[rows[0]] == tid("Blinding Lights", "The Weeknd")
