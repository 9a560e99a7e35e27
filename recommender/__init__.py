"""Content-based + popularity music recommendation over Spotify audio features.

The engine knows nothing about Discord: the bot (``bot/``) and the command line
(``python -m recommender``) are two front-ends over the same library.
"""
