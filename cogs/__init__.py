"""Thin Discord front-ends (slash commands, autocomplete, reaction listeners)."""
