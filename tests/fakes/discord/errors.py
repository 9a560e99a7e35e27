"""The refusals the fake Discord answers with, in Discord's own status codes and bodies.

Bodies follow Discord's ``ErrorResponse`` (OpenAPI spec: ``code``, ``message``,
and for a malformed form an ``errors`` tree whose leaves are
``{"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": ...}]}``). discord.py
turns them into ``HTTPException`` / ``NotFound`` / ``Forbidden`` with the same
``code`` and a text such as ``In data.content: Must be 2000 or fewer in length.``
"""

from __future__ import annotations

from typing import Any

# JSON error codes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
UNKNOWN_WEBHOOK = 10015
UNKNOWN_INTERACTION = 10062
MAX_REACTIONS = 30010
REQUEST_TOO_LARGE = 40005
ALREADY_ACKNOWLEDGED = 40060
EMPTY_MESSAGE = 50006
INVALID_WEBHOOK_TOKEN = 50027
INVALID_FORM_BODY = 50035


class DiscordError(Exception):
    """A request Discord refuses: the HTTP status and the JSON body it answers with.

    Raised inside the fake's handlers (answered as is) and by test-driven actions
    that Discord's own client would refuse (e.g. a 21st distinct reaction).
    """

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body Discord sends: ``{"code", "message"[, "errors"]}``."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def invalid_form_body(errors: dict[str, Any]) -> DiscordError:
    """400 / 50035 with the nested ``errors`` tree naming each offending field."""
    return DiscordError(400, INVALID_FORM_BODY, "Invalid Form Body", errors)


def empty_message() -> DiscordError:
    """400 / 50006: no content, embeds, files, components or poll."""
    return DiscordError(400, EMPTY_MESSAGE, "Cannot send an empty message")


def too_large() -> DiscordError:
    """413 / 40005: a file over the upload limit."""
    return DiscordError(413, REQUEST_TOO_LARGE, "Request entity too large")


def max_reactions(limit: int) -> DiscordError:
    """400 / 30010: a new distinct emoji on a message that already has ``limit``."""
    return DiscordError(400, MAX_REACTIONS, f"Maximum number of reactions reached ({limit})")


def unknown_interaction() -> DiscordError:
    """404 / 10062: a first response after the 3-second window (or to an unknown id)."""
    return DiscordError(404, UNKNOWN_INTERACTION, "Unknown interaction")


def already_acknowledged() -> DiscordError:
    """400 / 40060: a second initial response."""
    return DiscordError(400, ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged.")


def unknown_webhook() -> DiscordError:
    """404 / 10015: a followup or edit for a token Discord does not know (or not yet acked)."""
    return DiscordError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")


def invalid_webhook_token() -> DiscordError:
    """401 / 50027: a followup or edit with an interaction token older than 15 minutes.

    What Discord answers once the window has passed (discord-api-docs#6851;
    documented with discord-api-docs#2461), rather than a 404.
    """
    return DiscordError(401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")
