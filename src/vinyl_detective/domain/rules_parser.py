"""Reading a watch rule: a hand-written lexer and recursive-descent parser (never `eval`).

Grammar, loosest binding first (keywords in any case):

    rule        := or_expr
    or_expr     := and_expr ("OR" and_expr)*
    and_expr    := not_expr ("AND" not_expr)*
    not_expr    := "NOT" not_expr | primary
    primary     := "(" or_expr ")" | "true" | "false" | comparison
    comparison  := FIELD op value | FIELD ["not"] "in" "[" [value ("," value)*] "]"
    op          := "=" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "contains" | "matches"
    value       := NUMBER | STRING | "null"

Numbers are plain decimals (`30`, `-1.5`, `.25`: no currency signs). Strings use double
or single quotes; `\\"`, `\\'`, `\\\\`, `\\n`, `\\t`, `\\r` are escapes and any other
backslash is kept as written, so `"\\d+"` is the regex `\\d+`. Every mistake raises
RuleSyntaxError with the 0-based position of the offending token (the end of the text
when something is missing).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from vinyl_detective.domain.rules_ast import (
    And,
    Comparison,
    Constant,
    LiteralProblem,
    Not,
    Op,
    Or,
    Rule,
    Scalar,
    Value,
    field_names,
)
from vinyl_detective.domain.rules_fields import FIELDS, lookup_field
from vinyl_detective.errors import RuleSyntaxError, RuleTooLongError

MAX_DEPTH = 40
"""How deeply parentheses and NOTs may nest."""

MAX_LENGTH = 4000
"""The longest rule accepted, in characters."""


class Kind(Enum):
    WORD = "word"
    NUMBER = "number"
    STRING = "string"
    OP = "operator"
    LPAREN = "("
    RPAREN = ")"
    LBRACKET = "["
    RBRACKET = "]"
    COMMA = ","
    END = "end"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str  # as written in the rule
    start: int
    value: str | Decimal | None = None  # a string's content or a number's value

    def shown(self) -> str:
        return "the end of the rule" if self.kind is Kind.END else f"'{self.text}'"


_KEYWORDS = frozenset({"and", "or", "not", "in", "contains", "matches", "null", "true", "false"})
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d+)?|\.\d+)")
_OPERATORS = ("==", "!=", "<=", ">=", "=", "<", ">")
_PUNCTUATION = {
    "(": Kind.LPAREN,
    ")": Kind.RPAREN,
    "[": Kind.LBRACKET,
    "]": Kind.RBRACKET,
    ",": Kind.COMMA,
}
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}
_CURRENCY_SIGNS = "$€£¥"
_SUGGEST_OPS = "=, !=, <, <=, >, >=, contains, matches, in, not in"


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str, position: int) -> RuleSyntaxError:
        return RuleSyntaxError(message, self.text, position)

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        text = self.text
        while True:
            while self.pos < len(text) and text[self.pos].isspace():
                self.pos += 1
            if self.pos >= len(text):
                out.append(Token(Kind.END, "", len(text)))
                return out
            out.append(self._next())

    def _next(self) -> Token:
        text, start = self.text, self.pos
        char = text[start]
        if char in _PUNCTUATION:
            self.pos += 1
            return Token(_PUNCTUATION[char], char, start)
        if char in "\"'":
            return self._string(char)
        number = _NUMBER.match(text, start)
        if number:
            end = number.end()
            if end < len(text) and (text[end].isalpha() or text[end] == "_"):
                raise self.fail(
                    f"a number cannot be followed by '{text[end]}': numbers are plain, "
                    "without units or currency",
                    end,
                )
            self.pos = end
            return Token(Kind.NUMBER, number.group(), start, Decimal(number.group()))
        word = _WORD.match(text, start)
        if word:
            self.pos = word.end()
            return Token(Kind.WORD, word.group(), start)
        if text.startswith("<>", start):
            raise self.fail("'<>' is not an operator: write != for 'not equal'", start)
        for op in _OPERATORS:
            if text.startswith(op, start):
                self.pos = start + len(op)
                return Token(Kind.OP, op, start)
        raise self.fail(self._unexpected(char), start)

    def _unexpected(self, char: str) -> str:
        if char == "&":
            return "unexpected '&': write AND"
        if char == "|":
            return "unexpected '|': write OR"
        if char == "!":
            return "unexpected '!': write NOT, or != for 'not equal'"
        if char in _CURRENCY_SIGNS:
            return f"unexpected '{char}': write amounts as plain numbers, e.g. price < 30"
        return f"unexpected character {char!r}"

    def _string(self, quote: str) -> Token:
        text, start = self.text, self.pos
        chars: list[str] = []
        index = start + 1
        while index < len(text):
            char = text[index]
            if char == quote:
                self.pos = index + 1
                return Token(Kind.STRING, text[start : index + 1], start, "".join(chars))
            if char == "\\" and index + 1 < len(text):
                following = text[index + 1]
                if following in _ESCAPES:
                    chars.append(_ESCAPES[following])
                else:
                    chars.append("\\" + following)
                index += 2
                continue
            chars.append(char)
            index += 1
        raise self.fail(f"unterminated string: add the closing {quote}", start)


def _word(token: Token) -> str | None:
    """The keyword a token is, lower case, or None."""
    if token.kind is Kind.WORD and token.text.lower() in _KEYWORDS:
        return token.text.lower()
    return None


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0

    # -- helpers --

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not Kind.END:
            self.index += 1
        return token

    def fail(self, message: str, position: int) -> RuleSyntaxError:
        return RuleSyntaxError(message, self.text, position)

    # -- grammar --

    def rule(self) -> Rule:
        node = self.or_expr(0, None)
        token = self.current
        if token.kind is Kind.END:
            return node
        if token.kind is Kind.RPAREN:
            raise self.fail("unexpected ')' with no matching '('", token.start)
        if token.kind is Kind.WORD:
            close = difflib.get_close_matches(token.text.lower(), ["and", "or"], n=1, cutoff=0.6)
            if close:
                raise self.fail(
                    f"expected AND or OR before {token.shown()} — did you mean "
                    f"'{close[0].upper()}'?",
                    token.start,
                )
        raise self.fail(f"expected AND or OR before {token.shown()}", token.start)

    def or_expr(self, depth: int, after: Token | None) -> Rule:
        items = [self.and_expr(depth, after)]
        while _word(self.current) == "or":
            keyword = self.advance()
            items.append(self.and_expr(depth, keyword))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self, depth: int, after: Token | None) -> Rule:
        items = [self.not_expr(depth, after)]
        while _word(self.current) == "and":
            keyword = self.advance()
            items.append(self.not_expr(depth, keyword))
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self, depth: int, after: Token | None) -> Rule:
        nots = 0
        while _word(self.current) == "not":
            after = self.advance()
            nots += 1
            if depth + nots > MAX_DEPTH:
                raise self.fail(f"the rule nests deeper than {MAX_DEPTH} levels", after.start)
        node = self.primary(depth + nots, after)
        for _ in range(nots):
            node = Not(node)
        return node

    def primary(self, depth: int, after: Token | None) -> Rule:
        token = self.current
        keyword = _word(token)
        if token.kind is Kind.LPAREN:
            if depth + 1 > MAX_DEPTH:
                raise self.fail(f"the rule nests deeper than {MAX_DEPTH} levels", token.start)
            self.advance()
            node = self.or_expr(depth + 1, token)
            closing = self.current
            if closing.kind is Kind.RPAREN:
                self.advance()
                return node
            if closing.kind is Kind.END:
                raise self.fail("unclosed parenthesis opened here", token.start)
            raise self.fail(f"expected AND, OR or ')' before {closing.shown()}", closing.start)
        if keyword in ("true", "false"):
            self.advance()
            return Constant(keyword == "true")
        if token.kind is Kind.WORD and keyword is None:
            return self.comparison()
        where = f" after '{after.text.upper()}'" if after and _word(after) else ""
        if after is not None and after.kind is Kind.LPAREN:
            where = " after '('"
        if token.kind is Kind.END:
            raise self.fail(f"expected a condition{where}", token.start)
        if token.kind in (Kind.NUMBER, Kind.STRING):
            raise self.fail(
                f"expected a field name{where}, found {token.shown()}: a condition starts "
                "with a field, e.g. price < 30",
                token.start,
            )
        raise self.fail(f"expected a condition{where}, found {token.shown()}", token.start)

    def comparison(self) -> Rule:
        name_token = self.advance()
        spec = lookup_field(name_token.text)
        if spec is None:
            raise self.fail(_unknown_field(name_token.text), name_token.start)
        op_token = self.current
        op = self.operator(name_token)
        if op in (Op.IN, Op.NOT_IN):
            value, positions = self.value_list(op_token)
        else:
            scalar_token = self.current
            value = self.scalar(op_token)
            positions = [scalar_token.start]
        try:
            return Comparison(spec.name, op, value)
        except LiteralProblem as problem:
            if problem.on_operator:
                position = op_token.start
            elif problem.item is not None:
                position = positions[problem.item]
            else:
                position = positions[0]
            raise self.fail(problem.message, position) from None

    def operator(self, name_token: Token) -> Op:
        token = self.current
        if token.kind is Kind.OP:
            self.advance()
            return Op.EQ if token.text == "==" else Op(token.text)
        keyword = _word(token)
        if keyword in ("contains", "matches", "in"):
            self.advance()
            return Op(keyword)
        if keyword == "not":
            following = self.peek()
            if _word(following) == "in":
                self.advance()
                self.advance()
                return Op.NOT_IN
            if _word(following) in ("contains", "matches"):
                raise self.fail(
                    f"write NOT {name_token.text} {following.text} … instead of "
                    f"{name_token.text} not {following.text} …",
                    token.start,
                )
        raise self.fail(
            f"expected an operator after '{name_token.text}' ({_SUGGEST_OPS}), "
            f"found {token.shown()}",
            token.start,
        )

    def scalar(self, after: Token) -> Scalar:
        token = self.current
        if token.kind is Kind.NUMBER:
            self.advance()
            assert isinstance(token.value, Decimal)
            return token.value
        if token.kind is Kind.STRING:
            self.advance()
            assert isinstance(token.value, str)
            return token.value
        keyword = _word(token)
        if keyword == "null":
            self.advance()
            return None
        if token.kind is Kind.WORD and keyword is None:
            raise self.fail(f'text values need quotes: "{token.text}"', token.start)
        raise self.fail(f"expected a value after '{after.text}'", token.start)

    def value_list(self, op_token: Token) -> tuple[Value, list[int]]:
        opening = self.current
        if opening.kind is not Kind.LBRACKET:
            raise self.fail(
                f"expected '[' after '{op_token.text}', e.g. country in [\"US\", \"CA\"]",
                opening.start,
            )
        self.advance()
        values: list[Scalar] = []
        positions: list[int] = []
        previous = opening
        while True:
            token = self.current
            if token.kind is Kind.RBRACKET and previous.kind is not Kind.COMMA:
                self.advance()
                return tuple(values), positions
            if token.kind is Kind.END:
                raise self.fail("unclosed '[' opened here", opening.start)
            if values and previous.kind is not Kind.COMMA:
                raise self.fail(f"expected ',' or ']' before {token.shown()}", token.start)
            positions.append(token.start)
            values.append(self.scalar(previous))
            previous = self.current
            if previous.kind is Kind.COMMA:
                self.advance()


def _unknown_field(name: str) -> str:
    close = difflib.get_close_matches(name.lower(), field_names(), n=1, cutoff=0.6)
    if close:
        return f"unknown field '{name}' — did you mean '{close[0]}'?"
    return f"unknown field '{name}'; fields are: {', '.join(FIELDS)}"


def parse(text: str) -> Rule:
    """`text` as a rule tree, or RuleSyntaxError saying what is wrong and where."""
    if len(text) > MAX_LENGTH:
        raise RuleTooLongError(
            f"the rule is {len(text):,} characters long, over the limit of {MAX_LENGTH:,}: "
            "shorten it (one `field in [...]` list instead of many ORs, a regex with "
            "`matches`), or split it over several searches",
            text,
            MAX_LENGTH,
        )
    if not text.strip():
        raise RuleSyntaxError(
            "the rule is empty: write a condition such as price < 30", text, len(text)
        )
    tokens = _Lexer(text).tokens()
    return _Parser(text, tokens).rule()
