"""Use cases the cogs call: catalogues, recommending, sources and imports, ratings,
settings, insights, privacy, retention.
"""
