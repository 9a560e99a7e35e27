"""Feature and popularity providers and the chain that tries them in order."""

from recommender.providers.base import FeatureProvider, PopularityProvider
from recommender.providers.chain import ChainReport, ProviderChain
from recommender.providers.datasets import DatasetProvider
from recommender.providers.reccobeats import ReccoBeats
from recommender.providers.spotify_features import SpotifyAudioFeatures

__all__ = [
    "ChainReport",
    "DatasetProvider",
    "FeatureProvider",
    "PopularityProvider",
    "ProviderChain",
    "ReccoBeats",
    "SpotifyAudioFeatures",
]
