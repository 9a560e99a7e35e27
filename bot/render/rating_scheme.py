"""Which reaction means what on a recommendation message.

Suggestion *n* is liked with the keycap digit for *n* (1️⃣ ... 🔟) and disliked with
the regional-indicator letter at the same position (🇦 ... 🇯). Every line of the
embed shows both next to the track ("1️⃣ 👍 · 🇦 👎"), so liking or disliking any
single suggestion is one obvious click. For the same suggestion the later reaction
wins; removing a reaction removes the rating it gave. Ten suggestions need twenty
reactions, exactly Discord's limit of distinct reactions per message.
"""

from __future__ import annotations

from bot.store.models import DISLIKE, LIKE, RatingValue

MAX_SUGGESTIONS = 10
LIKE_EMOJIS: tuple[str, ...] = (*(f"{d}\ufe0f\u20e3" for d in "123456789"), "\U0001f51f")
DISLIKE_EMOJIS: tuple[str, ...] = tuple(chr(0x1F1E6 + i) for i in range(MAX_SUGGESTIONS))

_VARIATION_SELECTOR = "\ufe0f"


def _canonical(emoji: str) -> str:
    # Clients differ on whether a keycap carries the variation selector.
    return emoji.replace(_VARIATION_SELECTOR, "")


_MEANING: dict[str, tuple[int, RatingValue]] = {
    **{_canonical(e): (i + 1, LIKE) for i, e in enumerate(LIKE_EMOJIS)},
    **{_canonical(e): (i + 1, DISLIKE) for i, e in enumerate(DISLIKE_EMOJIS)},
}


def meaning(emoji: str) -> tuple[int, RatingValue] | None:
    """``(position, +1 or -1)`` for a rating reaction, ``None`` for any other emoji."""
    return _MEANING.get(_canonical(emoji))


def reactions_for(count: int) -> list[str]:
    """The reactions the bot adds to a message with ``count`` suggestions, in order."""
    count = max(0, min(count, MAX_SUGGESTIONS))
    return [*LIKE_EMOJIS[:count], *DISLIKE_EMOJIS[:count]]


def legend(count: int) -> str:
    """One line telling members how to rate."""
    if count <= 0:
        return ""
    last = count - 1
    return (
        f"Rate: {LIKE_EMOJIS[0]}–{LIKE_EMOJIS[last]} like · "
        f"{DISLIKE_EMOJIS[0]}–{DISLIKE_EMOJIS[last]} dislike the suggestion at that "
        "position. Remove your reaction to take it back."
    )
