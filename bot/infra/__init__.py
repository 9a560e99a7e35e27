"""Plumbing under the services: guards, shards, Discord URLs, work off the event loop,
memory.
"""
