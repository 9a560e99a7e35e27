"""Finding the song a person means: ids, links, typos, partial titles, "title artist",
prominence as the tie-breaker, honest ambiguity, and autocomplete with the same ranking."""

from __future__ import annotations

import pytest

from recommender.catalogue import Catalogue, clean_title, normalise_text
from recommender.resolve import Problem, Resolution, SongResolver
from recommender.song_match import fold, name_score, splits, title_forms
from recommender.track import Track
from tests.fixtures import track_id

SONGS = [
    # (name, artists, popularity): the examples and their look-alikes
    ("Smells Like Teen Spirit", ("Nirvana",), 81),
    ("Something Just Like This", ("The Chainsmokers", "Coldplay"), 83),
    ("Like I'm Gonna Lose You (feat. John Legend)", ("Meghan Trainor",), 78),
    ("Bohemian Rhapsody - 2011 Mix", ("Queen",), 84),
    ("Bohemian Rhapsody - Remastered 2011", ("Queen",), 29),
    ("Power", ("Rapsody",), 42),
    ("Ballin' Hot (Prod. by Khrysis)", ("Rapsody",), 5),
    ("bad guy", ("Billie Eilish",), 95),
    ("RITMO (Bad Boys For Life)", ("The Black Eyed Peas", "J Balvin"), 96),
    ("Enter Sandman", ("Metallica",), 79),
    ("Enter Sandman", ("Iron Horse",), 35),
    ("Shape of You", ("Ed Sheeran",), 86),
    ("Shape of You", ("EZA",), 2),
    ("Hallelujah", ("Jeff Buckley",), 72),
    ("Hallelujah", ("Leonard Cohen",), 66),
    ("Blinding Lights", ("The Weeknd",), 98),
    ("Blinding Lights - Remastered 2020", ("The Weeknd",), 40),
    ("Hello", ("Adele",), 73),
    ("Hello", ("Lionel Richie",), 60),
    ("Déjà Vu", ("Olivia Rodrigo",), 70),
    ("Stay (with Justin Bieber)", ("The Kid LAROI", "Justin Bieber"), 85),
    ("Don't Stop Believin'", ("Journey",), 80),
    ("Sweet Child O' Mine", ("Guns N' Roses",), 82),
    ("Waiting On the World to Change", ("John Mayer",), 74),
    ("Writing on the Wall (feat. Post Malone & Cardi B)", ("French Montana",), 82),
    ("Uptown Funk", ("Mark Ronson",), 82),
    ("SICKO MODE", ("Travis Scott",), 87),
    ("Lights Up", ("Harry Styles",), 55),
    ("Blue Monday", ("New Order",), None),
    ("", (), 99),  # no title and no artist (the dataset's "NA" rows): never offered
    ("   ", ("Somebody",), 97),
]
ID = {
    (name, artists[0] if artists else ""): track_id(i, "R")
    for i, (name, artists, _) in enumerate(SONGS)
}


def tid(name: str, artist: str) -> str:
    return ID[(name, artist)]


def catalogue_of(songs: list[tuple[str, tuple[str, ...], int | None]]) -> Catalogue:
    return Catalogue.from_tracks(
        Track(id=track_id(i, "R"), name=name, artists=artists, popularity=popularity)
        for i, (name, artists, popularity) in enumerate(songs)
    )


@pytest.fixture(scope="module")
def resolver() -> SongResolver:
    return SongResolver(catalogue_of(SONGS))


def picked(resolver: SongResolver, text: str) -> str | None:
    resolution = resolver.resolve(text)
    return resolver.catalogue.ids[resolution.row] if resolution.row is not None else None


def ids(resolver: SongResolver, rows: list[int]) -> list[str]:
    return [resolver.catalogue.ids[r] for r in rows]


# -- text ------------------------------------------------------------------------------


def test_text_normalisation_drops_case_accents_credits_and_remasters() -> None:
    assert normalise_text("  Déjà  Vu!! ") == "deja vu"
    assert clean_title("Stay (with Justin Bieber)") == "stay"
    assert clean_title("Song (feat. X) [2009 Remaster]") == "song"
    assert clean_title("Song - Remastered 2011") == "song"
    assert fold("Don't Stop Believin'") == "dont stop believin"
    assert fold("Sweet Child O’ Mine") == "sweet child o mine"
    assert fold("Ärzte ＡＢＣ") == normalise_text("Ärzte ＡＢＣ")


def test_titles_are_known_by_their_name_without_versions_and_credits() -> None:
    assert title_forms("Bohemian Rhapsody - 2011 Mix") == (
        "bohemian rhapsody",
        "bohemian rhapsody 2011 mix",
    )
    assert title_forms('Lose Yourself - From "8 Mile" Soundtrack')[0] == "lose yourself"
    assert title_forms("LOVE. FEAT. ZACARI.")[0] == "love"
    assert title_forms("HUMBLE.") == ("humble",)
    assert title_forms("") == () and title_forms(" - ") == ()


def test_name_scores_reward_typos_starts_and_whole_titles_inside_longer_text() -> None:
    assert name_score("bohemian rhapsody", "bohemian rhapsody") == 100
    assert name_score("bad guyy", "bad guy") > 90
    # The start of a long title is worth more than an unrelated title of the same size.
    assert name_score("smells like teen", "smells like teen spirit") > 90
    assert name_score("smells like teen", "something just like this") < 70
    # Mid-word stops count only while typing.
    assert name_score("borde", "borderline", typing=True) > name_score("borde", "borderline")
    # A title followed by other words ("uptown funk bruno mars") still counts.
    assert name_score("uptown funk bruno mars", "uptown funk") >= 80
    # One finished word inside a longer title is no evidence.
    assert name_score("drake", "mia feat drake") < 60
    # The floor skips work that cannot win, and never invents a score.
    assert name_score("abc", "xyz", floor=90) == 0
    assert name_score("", "anything") == 0


def test_text_is_read_as_title_and_artist_both_ways() -> None:
    readings = {(s.title, s.artist) for s in splits("bad guy billie eilish")}
    assert ("bad guy", "billie eilish") in readings
    assert ("billie eilish", "bad guy") in readings  # "artist title" read the other way
    assert ("hello", "lionel richie") in {
        (s.title, s.artist) for s in splits("hello by lionel richie")
    }
    assert splits("one") == []


# -- ids and links -------------------------------------------------------------------


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
    wanted = tid("Hello", "Lionel Richie")  # not the best-known "Hello": an id is exact
    resolution = resolver.resolve(text.format(id=wanted))
    assert ids(resolver, [resolution.row] if resolution.row is not None else []) == [wanted]
    assert resolution.problem is None and resolution.alternatives == []


def test_a_track_the_catalogue_lacks_is_reported_with_its_id(resolver: SongResolver) -> None:
    missing = "4uLU6hMCjMI75M1A2tKUQC"
    resolution = resolver.resolve(f"https://open.spotify.com/track/{missing}")
    assert not resolution.resolved
    assert resolution.spotify_id == missing
    assert resolution.problem is Problem.NOT_IN_CATALOGUE


def test_links_to_other_things_are_not_mistaken_for_names(resolver: SongResolver) -> None:
    resolution = resolver.resolve("https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M")
    assert resolution.problem is Problem.NOT_A_TRACK_LINK
    assert resolver.resolve("   ").problem is Problem.EMPTY


# -- names as people type them --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the examples
        ("smells like teen spirt", ("Smells Like Teen Spirit", "Nirvana")),
        ("Bohemian Rapsody", ("Bohemian Rhapsody - 2011 Mix", "Queen")),
        ("bad guyy", ("bad guy", "Billie Eilish")),
        ("Enter Sandman", ("Enter Sandman", "Metallica")),
        ("Shape of You", ("Shape of You", "Ed Sheeran")),
        # exact, case, accents
        ("BLINDING LIGHTS", ("Blinding Lights", "The Weeknd")),
        ("deja vu", ("Déjà Vu", "Olivia Rodrigo")),
        ("Blinding Lights - Remastered 2020", ("Blinding Lights", "The Weeknd")),
        # apostrophes and punctuation left out, phonetic and keyboard slips
        ("dont stop believin", ("Don't Stop Believin'", "Journey")),
        ("dont stop beleiving", ("Don't Stop Believin'", "Journey")),
        ("sweet child of mine", ("Sweet Child O' Mine", "Guns N' Roses")),
        ("blindibg lights", ("Blinding Lights", "The Weeknd")),
        # the start of a long title
        ("waiting on the world", ("Waiting On the World to Change", "John Mayer")),
        ("smells like teen", ("Smells Like Teen Spirit", "Nirvana")),
        # title and artist, with and without a separator, either order, partial artist
        ("hello - lionel richie", ("Hello", "Lionel Richie")),
        ("Hello by Lionel Richie", ("Hello", "Lionel Richie")),
        ("lionel richie hello", ("Hello", "Lionel Richie")),
        ("hallelujah leonard cohen", ("Hallelujah", "Leonard Cohen")),
        ("hallelujah jeff buckley", ("Hallelujah", "Jeff Buckley")),
        ("enter sandman iron horse", ("Enter Sandman", "Iron Horse")),
        ("bad guy bilie eilish", ("bad guy", "Billie Eilish")),
        ("sicko mode travis", ("SICKO MODE", "Travis Scott")),
        ("uptown funk bruno mars", ("Uptown Funk", "Mark Ronson")),
        ("stay justin bieber", ("Stay (with Justin Bieber)", "The Kid LAROI")),
        (
            "Stay (feat. Justin Bieber) - The Kid LAROI",
            ("Stay (with Justin Bieber)", "The Kid LAROI"),
        ),
        ("bohemain rhapsody queen", ("Bohemian Rhapsody - 2011 Mix", "Queen")),
        ("blue monday", ("Blue Monday", "New Order")),
    ],
)
def test_names_resolve_to_what_a_person_means(
    resolver: SongResolver, text: str, expected: tuple
) -> None:
    assert picked(resolver, text) == tid(*expected)


def test_covers_by_minor_artists_become_alternatives_not_a_question(resolver: SongResolver) -> None:
    resolution = resolver.resolve("Enter Sandman")
    assert resolution.problem is None
    assert ids(resolver, resolution.alternatives) == [tid("Enter Sandman", "Iron Horse")]
    assert resolution.candidates[0] == resolution.row


def test_a_phonetic_title_does_not_pick_the_artist_it_sounds_like(resolver: SongResolver) -> None:
    resolution = resolver.resolve("Bohemian Rapsody")
    offered = {resolver.catalogue.artists[r][0] for r in resolution.candidates}
    assert "Rapsody" not in offered


def test_the_exact_title_beats_a_better_known_near_one() -> None:
    resolver = SongResolver(
        catalogue_of([("Counterfeit No01", ("Band",), 7), ("Counterfeit No14", ("Band",), 98)])
    )
    assert picked(resolver, "counterfeit no01") == track_id(0, "R")
    assert resolver.suggest("Counterfeit No01")[0] == 0
    assert picked(resolver, "counterfeit no1") == track_id(1, "R")  # not exact: prominence


def test_truly_close_songs_are_asked_about_best_known_first(resolver: SongResolver) -> None:
    resolution = resolver.resolve("hallelujah")
    assert resolution.row is None and resolution.problem is Problem.AMBIGUOUS
    assert ids(resolver, resolution.candidates) == [
        tid("Hallelujah", "Jeff Buckley"),
        tid("Hallelujah", "Leonard Cohen"),
    ]


def test_a_clear_favourite_is_picked_with_the_others_alongside(resolver: SongResolver) -> None:
    resolution = resolver.resolve("hello")  # Adele 73 vs Lionel Richie 60: not close
    assert picked(resolver, "hello") == tid("Hello", "Adele")
    assert ids(resolver, resolution.alternatives) == [tid("Hello", "Lionel Richie")]


def test_releases_of_one_song_are_one_candidate_the_best_known(resolver: SongResolver) -> None:
    resolution = resolver.resolve("blinding lights")
    assert ids(resolver, resolution.candidates) == [tid("Blinding Lights", "The Weeknd")]
    suggested = ids(resolver, resolver.suggest("blinding"))
    assert tid("Blinding Lights - Remastered 2020", "The Weeknd") not in suggested


def test_an_artist_alone_is_not_a_song(resolver: SongResolver) -> None:
    resolution = resolver.resolve("metallica")
    assert resolution.row is None and resolution.problem is Problem.NOT_FOUND
    assert ids(resolver, resolution.candidates) == [tid("Enter Sandman", "Metallica")]


def test_nothing_close_is_not_found_but_closest_still_offers_names(resolver: SongResolver) -> None:
    resolution = resolver.resolve("qwxz zzzv")
    assert resolution.row is None and resolution.problem is Problem.NOT_FOUND
    closest = resolver.closest("bohemian rhapsodie", limit=2)
    assert ids(resolver, closest)[0] == tid("Bohemian Rhapsody - 2011 Mix", "Queen")


def test_songs_without_a_title_are_never_offered(resolver: SongResolver) -> None:
    untitled = {tid("", ""), tid("   ", "Somebody")}
    for text in ("", "a", "somebody", "na", "the", "   x"):
        offered = set(ids(resolver, resolver.suggest(text, limit=50)))
        offered |= set(ids(resolver, resolver.resolve(text).candidates))
        offered |= set(ids(resolver, resolver.closest(text, limit=50)))
        assert not offered & untitled, text
    # ...though a link to one still resolves: an id is exact.
    assert picked(resolver, tid("", "")) == tid("", "")


def test_the_problem_is_a_typed_enum() -> None:
    assert isinstance(Resolution("x", problem=Problem.AMBIGUOUS).problem, Problem)
    assert {p.name for p in Problem} == {
        "EMPTY",
        "NOT_IN_CATALOGUE",
        "NOT_A_TRACK_LINK",
        "AMBIGUOUS",
        "NOT_FOUND",
    }


@pytest.mark.parametrize(
    "text",
    [
        "x" * 10_000,
        "\x00\x01\x02 bad guy \x7f",
        "🎵🎶🔥",
        "بحبك يا",
        "' OR 1=1; --",
        "<@123456789> @everyone",
        "[bad guy](https://evil.example)",
        "\u202egnos",
        "-" * 300,
        " by ",
        "by by by by by by by by by by by by by by by by by by",
        " - ".join(["a"] * 200),
    ],
)
def test_hostile_text_never_raises_and_answers_in_shape(resolver: SongResolver, text: str) -> None:
    resolution = resolver.resolve(text)
    assert resolution.row is None or resolution.row in resolution.candidates
    assert all(0 <= r < len(resolver.catalogue) for r in resolution.candidates)
    assert len(resolver.suggest(text)) <= 25
    assert len(resolver.closest(text)) <= 3


# -- prominence without popularity ------------------------------------------------------


def test_without_popularity_the_playlists_holding_a_song_break_ties() -> None:
    tracks = [
        Track(id=track_id(1, "P"), name="Creep", artists=("Radiohead",)),
        Track(id=track_id(2, "P"), name="Creep", artists=("Unknown Band",)),
        Track(id=track_id(3, "P"), name="Other", artists=("Someone",)),
    ]
    playlists = {f"pl{i}": [track_id(1, "P"), track_id(3, "P")] for i in range(5)}
    playlists["pl9"] = [track_id(2, "P")]
    resolver = SongResolver(Catalogue.from_tracks(tracks, memberships=playlists))
    assert picked(resolver, "creep") == track_id(1, "P")
    # With neither signal, two songs of one title are a question.
    bare = SongResolver(Catalogue.from_tracks(tracks))
    assert bare.resolve("creep").problem is Problem.AMBIGUOUS


def test_an_empty_catalogue_answers_not_found() -> None:
    resolver = SongResolver(Catalogue.from_tracks([]))
    assert resolver.resolve("bad guy").problem is Problem.NOT_FOUND
    assert resolver.suggest("") == [] and resolver.suggest("bad") == []


# -- autocomplete ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("smells like te", ("Smells Like Teen Spirit", "Nirvana")),
        ("bad g", ("bad guy", "Billie Eilish")),
        ("bad guy bil", ("bad guy", "Billie Eilish")),
        ("weeknd bli", ("Blinding Lights", "The Weeknd")),
        ("blindng lights", ("Blinding Lights", "The Weeknd")),
        ("bohemian rap", ("Bohemian Rhapsody - 2011 Mix", "Queen")),
        ("metall", ("Enter Sandman", "Metallica")),
    ],
)
def test_suggest_completes_unfinished_words_typos_and_artists(
    resolver: SongResolver, typed: str, first: tuple
) -> None:
    assert ids(resolver, resolver.suggest(typed))[0] == tid(*first)


@pytest.mark.parametrize(
    "text", ["smells like teen spirt", "bad guyy", "Bohemian Rapsody", "sicko mode travis", "hello"]
)
def test_suggest_offers_first_what_resolving_would_pick(resolver: SongResolver, text: str) -> None:
    resolution = resolver.resolve(text)
    assert resolver.suggest(text)[0] == resolution.candidates[0]


def test_suggest_offers_best_known_songs_for_empty_text_and_respects_the_limit(
    resolver: SongResolver,
) -> None:
    assert ids(resolver, resolver.suggest("", limit=3)) == [
        tid("Blinding Lights", "The Weeknd"),
        tid("RITMO (Bad Boys For Life)", "The Black Eyed Peas"),
        tid("bad guy", "Billie Eilish"),
    ]
    assert len(resolver.suggest("l", limit=2)) == 2
    rows = resolver.suggest("l", limit=25)
    assert len(rows) == len(set(rows))


# -- name indexes built on first use ---------------------------------------------------


def test_an_id_lookup_builds_no_name_index() -> None:
    lazy = SongResolver(catalogue_of(SONGS))
    assert not lazy.ready
    wanted = tid("bad guy", "Billie Eilish")
    for text in (wanted, f"spotify:track:{wanted}", f"https://open.spotify.com/track/{wanted}"):
        assert lazy.resolve(text).row == lazy.catalogue.row_of(wanted)
    assert lazy.resolve("https://open.spotify.com/playlist/" + "x" * 22).problem == (
        Problem.NOT_A_TRACK_LINK
    )
    assert not lazy.ready


def test_the_first_name_lookup_builds_the_index_and_answers_as_a_built_one() -> None:
    built = SongResolver(catalogue_of(SONGS))
    built.prepare()
    for ask in (
        lambda r: r.resolve("smels like teen sprit").row,
        lambda r: r.closest("enter sandman"),
        lambda r: r.suggest("hallel"),
        lambda r: r.suggest(""),
        lambda r: [m.row for m in r.rank("shape of you")],
    ):
        lazy = SongResolver(built.catalogue)
        assert ask(lazy) == ask(built)
        assert lazy.ready


def test_threads_asking_at_once_build_the_index_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    lazy = SongResolver(catalogue_of(SONGS))
    builds = 0
    entered = threading.Barrier(8)
    build = SongResolver._build_indexes

    def counted(self: SongResolver) -> None:
        nonlocal builds
        builds += 1
        build(self)

    monkeypatch.setattr(SongResolver, "_build_indexes", counted)

    def ask(_: int) -> int | None:
        entered.wait()  # all eight ask together
        return lazy.resolve("bohemian rhapsody").row

    with ThreadPoolExecutor(8) as pool:
        rows = list(pool.map(ask, range(8)))
    assert builds == 1
    assert len(set(rows)) == 1 and rows[0] is not None


def test_quick_suggest_offers_titles_containing_the_text_without_building() -> None:
    lazy = SongResolver(catalogue_of(SONGS))
    rows = lazy.quick_suggest("LIGHTS")
    names = [lazy.catalogue.names[r] for r in rows]
    # Best-known first; the 2020 remaster is another title, so it is offered too.
    assert names == ["Blinding Lights", "Lights Up", "Blinding Lights - Remastered 2020"]
    assert lazy.quick_suggest("hello", limit=1) == [lazy.catalogue.row_of(tid("Hello", "Adele"))]
    # Untitled rows are never offered; an empty text offers the best-known titles.
    assert [lazy.catalogue.names[r] for r in lazy.quick_suggest("", limit=2)] == [
        "Blinding Lights",  # 98; the untitled rows at 99 and 97 are skipped
        "RITMO (Bad Boys For Life)",
    ]
    assert lazy.quick_suggest("zzz-no-such-title") == []
    assert not lazy.ready
