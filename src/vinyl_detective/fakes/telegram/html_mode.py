"""Telegram's HTML parse mode, as the fake Bot API checks and shows it.

`parse_telegram_html(text)` answers what Telegram would: the visible text, its entities
(UTF-16 offsets), and a browser-safe rendering for the fake's inbox page; or
TelegramHTMLError with Telegram's own "can't parse entities" wording.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any


class TelegramHTMLError(ValueError):
    """Text that Telegram would refuse with "can't parse entities"."""


_ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
        "span",
        "tg-emoji",
    }
)
_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
# How each tag is shown on the inbox page (a browser does not know tg-spoiler).
_BROWSER_TAGS = {
    "strong": "b",
    "em": "i",
    "ins": "u",
    "strike": "s",
    "del": "s",
    "tg-spoiler": "span",
    "tg-emoji": "span",
}
SAFE_LINK_SCHEMES = ("http://", "https://", "tg://", "mailto:")

_TAG_RE = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)"
    r"((?:\s+[a-zA-Z][a-zA-Z0-9_-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*>"
)
_ATTR_RE = re.compile(
    r"([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?"
)
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _decode_entities(value: str, where: int, source: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            match = _ENTITY_RE.match(value, i)
            if match is None:
                raise TelegramHTMLError(_bare_ampersand(source, where))
            out.append(_entity_char(match))
            i = match.end()
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _entity_char(match: re.Match[str]) -> str:
    named, dec, hexa = match.groups()
    if named:
        return _NAMED[named]
    code = int(dec) if dec else int(hexa, 16)
    return chr(code) if 0 < code <= 0x10FFFF else "\ufffd"


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _bare_ampersand(source: str, index: int) -> str:
    return f'Unsupported HTML entity or unescaped "&" at byte offset {_byte_offset(source, index)}'


@dataclass
class _Open:
    name: str
    start: int  # UTF-16 offset in the visible text
    attrs: dict[str, str]
    language: str | None = None


@dataclass
class ParsedHTML:
    """The visible text, its entities (UTF-16 offsets) and a browser-safe rendering."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    safe_html: str = ""


def parse_telegram_html(source: str) -> ParsedHTML:
    """Parse `source` the way Telegram's HTML parse mode does, or raise TelegramHTMLError.

    Only the documented tags are allowed, they must nest and close properly, `<a>` needs an
    href, `<span>` must be `class="tg-spoiler"`, and `&` must start `&lt;`, `&gt;`, `&amp;`,
    `&quot;` or a numeric entity. A bare `>` is tolerated, as Telegram does.
    """
    visible: list[str] = []
    safe: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[_Open] = []
    offset = 0  # UTF-16 length of `visible` so far
    i = 0
    while i < len(source):
        ch = source[i]
        if ch == "<":
            match = _TAG_RE.match(source, i)
            if match is None:
                raise TelegramHTMLError(
                    f"Unclosed start tag at byte offset {_byte_offset(source, i)}"
                )
            closing, raw_name, raw_attrs = match.groups()
            name = raw_name.lower()
            if closing:
                if not stack:
                    raise TelegramHTMLError(
                        f'Unexpected end tag "{name}" at byte offset {_byte_offset(source, i)}'
                    )
                top = stack[-1]
                if top.name != name:
                    raise TelegramHTMLError(
                        f'Can\'t find end tag corresponding to start tag "{top.name}"'
                    )
                stack.pop()
                _close_entity(top, stack, offset, entities)
                safe.append(f"</{_BROWSER_TAGS.get(name, name)}>")
            else:
                if name not in _ALLOWED_TAGS:
                    raise TelegramHTMLError(
                        f'Unsupported start tag "{name}" at byte offset {_byte_offset(source, i)}'
                    )
                attrs = _parse_attrs(raw_attrs, i, source)
                _check_tag(name, attrs, stack, source, i)
                stack.append(_Open(name, offset, attrs))
                safe.append(_browser_open_tag(name, attrs))
            i = match.end()
        elif ch == "&":
            match = _ENTITY_RE.match(source, i)
            if match is None:
                raise TelegramHTMLError(_bare_ampersand(source, i))
            char = _entity_char(match)
            visible.append(char)
            safe.append(html.escape(char, quote=False))
            offset += utf16_len(char)
            i = match.end()
        else:
            visible.append(ch)
            safe.append(html.escape(ch, quote=False))
            offset += utf16_len(ch)
            i += 1
    if stack:
        raise TelegramHTMLError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"'
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedHTML("".join(visible), entities, "".join(safe))


def _parse_attrs(raw: str, where: int, source: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for match in _ATTR_RE.finditer(raw):
        key = match.group(1).lower()
        value = next((g for g in match.groups()[1:] if g is not None), "")
        attrs[key] = _decode_entities(value, where, source)
    return attrs


def _check_tag(
    name: str, attrs: dict[str, str], stack: list[_Open], source: str, where: int
) -> None:
    at = f"at byte offset {_byte_offset(source, where)}"
    if name == "a" and not attrs.get("href"):
        raise TelegramHTMLError(f'Tag "a" must have attribute "href" {at}')
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise TelegramHTMLError(f'Tag "span" must have class "tg-spoiler" {at}')
    if name == "tg-emoji" and not attrs.get("emoji-id"):
        raise TelegramHTMLError(f'Tag "tg-emoji" must have attribute "emoji-id" {at}')
    if name == "blockquote" and any(o.name == "blockquote" for o in stack):
        raise TelegramHTMLError(f"Blockquotes can't be nested {at}")


def _close_entity(
    top: _Open, stack: list[_Open], offset: int, entities: list[dict[str, Any]]
) -> None:
    if top.name == "code" and stack and stack[-1].name == "pre":
        language = top.attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1].language = language.removeprefix("language-")
        return
    length = offset - top.start
    if length <= 0:
        return
    entity: dict[str, Any] = {"type": _ENTITY_TYPES[top.name], "offset": top.start}
    entity["length"] = length
    if top.name == "a":
        entity["url"] = top.attrs["href"]
    elif top.name == "pre" and top.language:
        entity["language"] = top.language
    elif top.name == "blockquote" and "expandable" in top.attrs:
        entity["type"] = "expandable_blockquote"
    elif top.name == "tg-emoji":
        entity["custom_emoji_id"] = top.attrs["emoji-id"]
    entities.append(entity)


def _browser_open_tag(name: str, attrs: dict[str, str]) -> str:
    if name == "a":
        href = attrs["href"]
        if href.lower().startswith(SAFE_LINK_SCHEMES):
            return f'<a href="{html.escape(href, quote=True)}" rel="noopener" target="_blank">'
        return "<a>"
    if name in ("tg-spoiler", "span"):
        return '<span class="tg-spoiler">'
    return f"<{_BROWSER_TAGS.get(name, name)}>"
