"""Discord's payload limits, checked the way Discord checks them.

Every check collects the broken fields under their path in the request body and
raises one :func:`~.errors.invalid_form_body` (400 / 50035) naming them all, as
Discord does. Numbers: Discord's docs and OpenAPI spec (discord/discord-api-spec), as
cited in ``bot/render/discord_limits.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .errors import empty_message, invalid_form_body, max_reactions, too_large

CONTENT_LIMIT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FOOTER_TEXT = 2048
EMBED_AUTHOR_NAME = 256
#: Title, description, field names and values, footer text and author name of every
#: embed of one message together.
EMBED_TOTAL = 6000
ACTION_ROWS = 5
COMPONENTS_PER_ROW = 5
BUTTON_LABEL = 80
CUSTOM_ID = 100
ATTACHMENTS_PER_MESSAGE = 10
#: Discord's default upload limit for bots (what interactions announce as
#: ``attachment_size_limit``).
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
CHOICES = 25
CHOICE_NAME = 100
CHOICE_STRING_VALUE = 100
MODAL_TITLE = 45
TEXT_INPUT_LABEL = 45
TEXT_INPUT_PLACEHOLDER = 100
TEXT_INPUT_VALUE = 4000
COMMAND_NAME = 32
COMMAND_DESCRIPTION = 100
COMMAND_OPTIONS = 25
#: Name, description and every option's name, description and choices of one command.
COMMAND_TOTAL = 8000

# Interaction callback types Discord accepts.
_CALLBACK_TYPES = {1, 4, 5, 6, 7, 8, 9, 10, 12}
_MESSAGE_CALLBACKS = {4, 7}
_AUTOCOMPLETE_CALLBACK = 8
_MODAL_CALLBACK = 9
# Component types.
_ACTION_ROW, _BUTTON, _TEXT_INPUT = 1, 2, 4
_SELECTS = {3, 5, 6, 7, 8}
# A chat-input command or option name: lowercase letters, digits, - _ ' (any script).
_NAME = re.compile(r"^[-_'\w]{1,32}$")

Path = tuple[str | int, ...]
Sized = str | Sequence[Any]


class FormErrors:
    """The ``errors`` tree of one request, filled field by field."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: Path, code: str, message: str) -> None:
        """Record an error at ``path`` (e.g. ``("data", "embeds", 0, "title")``)."""
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def max_length(self, path: Path, value: Sized | None, limit: int) -> None:
        """``BASE_TYPE_MAX_LENGTH`` when ``value`` is longer than ``limit``."""
        if value is not None and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def required_text(self, path: Path, value: Any, limit: int) -> None:
        """A string that must be present and non-empty, at most ``limit`` long."""
        if not isinstance(value, str) or not value:
            self.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        else:
            self.max_length(path, value, limit)

    def bad_length(self, path: Path, value: Any, low: int, high: int) -> None:
        """``BASE_TYPE_BAD_LENGTH`` unless ``low <= len(value) <= high``."""
        if not isinstance(value, str) or not low <= len(value) <= high:
            self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def raise_if_any(self) -> None:
        """Raise the 400 / 50035 if anything was recorded."""
        if self.tree:
            raise invalid_form_body(self.tree)


def check_files(sizes: Iterable[int], limit: int = ATTACHMENT_SIZE_LIMIT) -> None:
    """413 / 40005 when a file is over ``limit`` bytes (Discord refuses the upload whole)."""
    if any(size > limit for size in sizes):
        raise too_large()


def check_message(data: Mapping[str, Any], *, path: Path = (), file_count: int = 0) -> None:
    """The fields of a message create or edit payload (content, embeds, components...).

    ``path`` prefixes error paths (``("data",)`` inside an interaction callback).
    Whether the resulting message is empty is :func:`check_not_empty`'s job, since an
    edit keeps what it does not mention.
    """
    form = FormErrors()
    _message_fields(form, data, path, file_count)
    form.raise_if_any()


def check_not_empty(
    *, content: str | None, embeds: Sequence[Any], attachments: int, components: Sequence[Any]
) -> None:
    """400 / 50006 for a message with nothing in it (what a create or edit would leave)."""
    if not content and not embeds and not attachments and not components:
        raise empty_message()


def check_callback(payload: Any, *, file_count: int = 0) -> None:
    """An interaction callback body: its type, and its ``data`` for that type."""
    form = FormErrors()
    if not isinstance(payload, Mapping):
        form.add((), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        form.raise_if_any()
        return
    callback_type = payload.get("type")
    if callback_type not in _CALLBACK_TYPES:
        choices = ", ".join(str(t) for t in sorted(_CALLBACK_TYPES))
        form.add(("type",), "BASE_TYPE_CHOICES", f"Value must be one of {{{choices}}}.")
    data = payload.get("data") or {}
    if not isinstance(data, Mapping):
        form.add(("data",), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        data = {}
    if callback_type in _MESSAGE_CALLBACKS:
        _message_fields(form, data, ("data",), file_count)
    elif callback_type == _AUTOCOMPLETE_CALLBACK:
        _choices(form, data.get("choices"), ("data", "choices"), required=True)
    elif callback_type == _MODAL_CALLBACK:
        _modal(form, data, ("data",))
    form.raise_if_any()


def check_commands(commands: Any) -> None:
    """A bulk overwrite of application commands (``tree.sync``); errors keyed by index."""
    form = FormErrors()
    if not isinstance(commands, list):
        form.add((), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        form.raise_if_any()
        return
    seen: set[tuple[str, int]] = set()
    for index, command in enumerate(commands):
        kind = int(command.get("type") or 1)
        _command(form, command, (index,), chat_input=kind == 1)
        key = (str(command.get("name")), kind)
        if key in seen:
            form.add(
                (index, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique: {key[0]}",
            )
        seen.add(key)
    form.raise_if_any()


def check_reaction_count(reactions: Mapping[str, Sequence[int]], emoji: str, limit: int) -> None:
    """400 / 30010 when ``emoji`` would be distinct emoji number ``limit + 1``."""
    present = [key for key, users in reactions.items() if users]
    if emoji not in present and len(present) >= limit:
        raise max_reactions(limit)


# ------------------------------------------------------------------ messages


def _message_fields(form: FormErrors, data: Any, path: Path, file_count: int) -> None:
    if not isinstance(data, Mapping):
        form.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return
    form.max_length((*path, "content"), data.get("content"), CONTENT_LIMIT)
    embeds = data.get("embeds")
    if embeds is None and data.get("embed"):
        embeds = [data["embed"]]
    if embeds:
        form.max_length((*path, "embeds"), embeds, EMBEDS_PER_MESSAGE)
        total = 0
        for index, embed in enumerate(embeds[:EMBEDS_PER_MESSAGE]):
            total += _embed(form, embed, (*path, "embeds", index))
        if total > EMBED_TOTAL:
            form.add(
                (*path, "embeds"),
                "MAX_EMBED_SIZE_EXCEEDED",
                f"Embed size exceeds maximum size of {EMBED_TOTAL}",
            )
    _components(form, data.get("components"), (*path, "components"))
    # Without an "attachments" list every uploaded file is attached.
    attachments = data.get("attachments")
    count = len(attachments) if isinstance(attachments, list) else file_count
    if count > ATTACHMENTS_PER_MESSAGE:
        form.add(
            (*path, "attachments"),
            "BASE_TYPE_MAX_LENGTH",
            f"Must be {ATTACHMENTS_PER_MESSAGE} or fewer in length.",
        )


def _embed(form: FormErrors, embed: Any, path: Path) -> int:
    """Check one embed; return its size toward the 6,000 total."""
    if not isinstance(embed, Mapping):
        form.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return 0
    texts: list[str] = []
    for key, limit in (("title", EMBED_TITLE), ("description", EMBED_DESCRIPTION)):
        value = embed.get(key)
        form.max_length((*path, key), value, limit)
        texts.append(value or "")
    fields = embed.get("fields") or []
    form.max_length((*path, "fields"), fields, EMBED_FIELDS)
    for index, item in enumerate(fields):
        item = item if isinstance(item, Mapping) else {}
        name, value = item.get("name"), item.get("value")
        form.required_text((*path, "fields", index, "name"), name, EMBED_FIELD_NAME)
        form.required_text((*path, "fields", index, "value"), value, EMBED_FIELD_VALUE)
        texts += [name if isinstance(name, str) else "", value if isinstance(value, str) else ""]
    footer = embed.get("footer") or {}
    form.max_length((*path, "footer", "text"), footer.get("text"), EMBED_FOOTER_TEXT)
    author = embed.get("author") or {}
    form.max_length((*path, "author", "name"), author.get("name"), EMBED_AUTHOR_NAME)
    texts += [footer.get("text") or "", author.get("name") or ""]
    return sum(len(text) for text in texts)


def _components(form: FormErrors, rows: Any, path: Path) -> None:
    if not rows:
        return
    form.max_length(path, rows, ACTION_ROWS)
    for index, row in enumerate(rows):
        children = (row or {}).get("components") or []
        if (row or {}).get("type") == _ACTION_ROW:
            form.max_length((*path, index, "components"), children, COMPONENTS_PER_ROW)
        for child_index, child in enumerate(children):
            child_path = (*path, index, "components", child_index)
            kind, custom_id = child.get("type"), child.get("custom_id")
            if kind == _BUTTON:
                form.max_length((*child_path, "label"), child.get("label"), BUTTON_LABEL)
                if child.get("style") != 5:  # link buttons have a url, not a custom id
                    form.bad_length((*child_path, "custom_id"), custom_id, 1, CUSTOM_ID)
            elif kind in _SELECTS:
                form.bad_length((*child_path, "custom_id"), custom_id, 1, CUSTOM_ID)
                form.max_length((*child_path, "options"), child.get("options"), CHOICES)


# ------------------------------------------------------------------ autocomplete, modals


def _choices(form: FormErrors, choices: Any, path: Path, *, required: bool) -> None:
    if choices is None:
        if required:
            form.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        return
    form.max_length(path, choices, CHOICES)
    for index, choice in enumerate(choices):
        choice = choice if isinstance(choice, Mapping) else {}
        form.bad_length((*path, index, "name"), choice.get("name"), 1, CHOICE_NAME)
        value = choice.get("value")
        if value is None:
            form.add((*path, index, "value"), "BASE_TYPE_REQUIRED", "This field is required")
        elif isinstance(value, str):
            form.max_length((*path, index, "value"), value, CHOICE_STRING_VALUE)


def _modal(form: FormErrors, data: Any, path: Path) -> None:
    data = data if isinstance(data, Mapping) else {}
    form.bad_length((*path, "custom_id"), data.get("custom_id"), 1, CUSTOM_ID)
    form.bad_length((*path, "title"), data.get("title"), 1, MODAL_TITLE)
    rows = data.get("components") or []
    if not rows:
        form.add((*path, "components"), "BASE_TYPE_REQUIRED", "This field is required")
    form.max_length((*path, "components"), rows, ACTION_ROWS)
    for index, row in enumerate(rows):
        row = row if isinstance(row, Mapping) else {}
        # An action row holds its text input in a list; a label (type 18) holds one.
        children = row.get("components") or ([row["component"]] if row.get("component") else [])
        if row.get("label") is not None:
            form.bad_length((*path, "components", index, "label"), row["label"], 1, MODAL_TITLE)
        for child_index, child in enumerate(children):
            if child.get("type") == _TEXT_INPUT:
                _text_input(form, child, (*path, "components", index, "components", child_index))


def _text_input(form: FormErrors, field: Mapping[str, Any], path: Path) -> None:
    form.bad_length((*path, "custom_id"), field.get("custom_id"), 1, CUSTOM_ID)
    if "label" in field:
        form.bad_length((*path, "label"), field.get("label"), 1, TEXT_INPUT_LABEL)
    form.max_length((*path, "placeholder"), field.get("placeholder"), TEXT_INPUT_PLACEHOLDER)
    form.max_length((*path, "value"), field.get("value"), TEXT_INPUT_VALUE)
    for key, low in (("min_length", 0), ("max_length", 1)):
        bound = field.get(key)
        if bound is None:
            continue
        if not isinstance(bound, int) or isinstance(bound, bool):
            form.add((*path, key), "NUMBER_TYPE_COERCE", f'Value "{bound}" is not int.')
        elif not low <= bound <= TEXT_INPUT_VALUE:
            form.add(
                (*path, key),
                "NUMBER_TYPE_MAX" if bound > TEXT_INPUT_VALUE else "NUMBER_TYPE_MIN",
                f"int value should be between {low} and {TEXT_INPUT_VALUE}.",
            )


# ------------------------------------------------------------------ application commands


def _command(form: FormErrors, command: Any, path: Path, *, chat_input: bool) -> None:
    command = command if isinstance(command, Mapping) else {}
    name = command.get("name")
    form.bad_length((*path, "name"), name, 1, COMMAND_NAME)
    if chat_input:
        _check_name(form, (*path, "name"), name)
        form.bad_length((*path, "description"), command.get("description"), 1, COMMAND_DESCRIPTION)
        _options(form, command.get("options") or [], (*path, "options"))
    if _command_size(command) > COMMAND_TOTAL:
        form.add(
            path,
            "APPLICATION_COMMAND_TOO_LARGE",
            f"Command exceeds maximum size ({COMMAND_TOTAL})",
        )


def _check_name(form: FormErrors, path: Path, name: Any) -> None:
    if isinstance(name, str) and (not _NAME.match(name) or name != name.lower()):
        form.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _options(form: FormErrors, options: Sequence[Any], path: Path) -> None:
    form.max_length(path, options, COMMAND_OPTIONS)
    seen_optional = False
    for index, option in enumerate(options):
        option = option if isinstance(option, Mapping) else {}
        option_path = (*path, index)
        form.bad_length((*option_path, "name"), option.get("name"), 1, COMMAND_NAME)
        _check_name(form, (*option_path, "name"), option.get("name"))
        form.bad_length(
            (*option_path, "description"), option.get("description"), 1, COMMAND_DESCRIPTION
        )
        _choices(form, option.get("choices"), (*option_path, "choices"), required=False)
        if option.get("type") in (1, 2):  # subcommand, subcommand group
            _options(form, option.get("options") or [], (*option_path, "options"))
            continue
        if option.get("required") and seen_optional:
            form.add(
                option_path,
                "APPLICATION_COMMAND_OPTIONS_ORDER_INVALID",
                "Required options must be placed before non-required options",
            )
        seen_optional = seen_optional or not option.get("required")


def _command_size(node: Mapping[str, Any]) -> int:
    size = len(str(node.get("name") or "")) + len(str(node.get("description") or ""))
    for choice in node.get("choices") or []:
        size += len(str(choice.get("name") or "")) + len(str(choice.get("value") or ""))
    return size + sum(_command_size(option) for option in node.get("options") or [])
