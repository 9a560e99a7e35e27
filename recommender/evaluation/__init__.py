"""Offline evaluation of the recommender against baselines (``python -m recommender evaluate``).

* :mod:`~recommender.evaluation.protocols` builds the query sets from a catalogue's
  playlists: (A) seed-song, (B) playlist continuation, (C) personalisation.
* :mod:`~recommender.evaluation.metrics` scores ranked lists (precision, NDCG,
  R-precision, RecSys 2018 clicks, genre hit, diversity, coverage).
* :mod:`~recommender.evaluation.baselines` holds the methods compared: random,
  popularity, the seed tutorial's content and hybrid methods, a raw blend, a
  z-scored Euclidean kNN, and this engine at several settings.
* :mod:`~recommender.evaluation.runner` runs everything over several random seeds.
"""
