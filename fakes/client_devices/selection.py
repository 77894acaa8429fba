"""CDA device-group selection rules: ``thingName: bme680-* OR thingName: console``.

The grammar is CDA's JavaCC ``RuleExpression.jjt`` (``greengrass-v2-topology.md`` §1.3.2),
read at aws-greengrass-client-device-auth 1dbaf82:

* Blanks, tabs and carriage returns between tokens are skipped; a newline is not.
* Tokens, longest match first, ``OR``/``AND`` winning a tie: ``OR``, ``AND``, the literal
  ``thingName:``, and a name made of ASCII letters, digits, ``-``, ``_`` and ``\\:`` (an
  escaped colon), with an optional ``*`` at its end, or ``*`` alone. From CDA 2.4.5 (the
  cherry-pick of "thingName wildcard prefix in selectionRule", also in 2.5.0) a name may also
  start with ``*``.
* ``rule := and [OR rule]``, ``and := clause [AND and]``, ``clause := thingName: <name>``.
  ``or`` and ``and`` in lower case are names, so ``thingName: a or thingName: b`` is refused.
* Matching (``WildcardSuffixAttribute``): ``*x*`` contains, ``*x`` ends with, ``x*`` starts
  with, ``*`` everything, else equality. The name is compared **as written**: CDA does not
  unescape ``\\:``, so ``thingName: a\\:b`` selects no real thing (thing names cannot hold
  a backslash), although the developer guide says it selects ``a:b``. ``unescape_colon=True``
  follows the guide instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["SelectionRule", "SelectionRuleError"]

_SKIP = " \r\t"
_NAME = re.compile(r"\*?(?:[A-Za-z0-9_-]|\\:)+\*?|\*")
_NAME_NO_LEADING_STAR = re.compile(r"(?:[A-Za-z0-9_-]|\\:)+\*?|\*")
_KEYWORD = "thingName:"
#: the first CDA version whose grammar accepts a leading ``*``
LEADING_STAR_SINCE = (2, 4, 5)


class SelectionRuleError(ValueError):
    """A selection rule CDA cannot parse (``ParseException`` or ``TokenMgrError``)."""


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "OR", "AND", "THING", "NAME", "EOF"
    text: str
    column: int  # 1-based, as JavaCC reports it


def _tokens(rule: str, leading_star: bool) -> Iterator[_Token]:
    """Tokens on demand, as JavaCC's token manager hands them to the parser (so a parse
    error before a lexical error is reported as the parse error)."""
    name_pattern = _NAME if leading_star else _NAME_NO_LEADING_STAR
    at = 0
    while True:
        while at < len(rule) and rule[at] in _SKIP:
            at += 1
        if at == len(rule):
            yield _Token("EOF", "", at + 1)
            return
        candidates: list[tuple[int, str]] = []  # (length, kind), in priority order
        for keyword in ("OR", "AND"):
            if rule.startswith(keyword, at):
                candidates.append((len(keyword), keyword))
        if rule.startswith(_KEYWORD, at):
            candidates.append((len(_KEYWORD), "THING"))
        match = name_pattern.match(rule, at)
        if match:
            candidates.append((match.end() - at, "NAME"))
        if not candidates:
            raise SelectionRuleError(
                f"Lexical error at line 1, column {at + 1}. Encountered: {rule[at]!r}"
            )
        length = max(length for length, _ in candidates)
        kind = next(kind for size, kind in candidates if size == length)
        yield _Token(kind, rule[at : at + length], at + 1)
        at += length


class _Parser:
    def __init__(self, tokens: Iterator[_Token]) -> None:
        self.tokens = tokens
        self.current = next(tokens)

    def _advance(self) -> None:
        self.current = next(self.tokens)

    def _next(self, wanted: str) -> _Token:
        token = self.current
        if token.kind != wanted:
            shown = "<EOF>" if token.kind == "EOF" else repr(token.text)
            expected = {"THING": '"thingName:"', "NAME": "a thing name", "EOF": "<EOF>"}
            raise SelectionRuleError(
                f"Encountered {shown} at line 1, column {token.column}. "
                f"Was expecting: {expected.get(wanted, wanted)}"
            )
        self._advance()
        return token

    def _peek(self) -> str:
        return self.current.kind

    def rule(self) -> tuple:
        left = self.conjunction()
        if self._peek() == "OR":
            self._advance()
            return ("or", left, self.rule())
        return left

    def conjunction(self) -> tuple:
        left = self.clause()
        if self._peek() == "AND":
            self._advance()
            return ("and", left, self.conjunction())
        return left

    def clause(self) -> tuple:
        self._next("THING")
        return ("thing", self._next("NAME").text)

    def start(self) -> tuple:
        tree = self.rule()
        if self._peek() != "EOF":
            token = self.current
            raise SelectionRuleError(
                f"Encountered {token.text!r} at line 1, column {token.column}. "
                'Was expecting one of: <EOF>, "OR", "AND"'
            )
        return tree


def _name_matches(pattern: str, thing: str) -> bool:
    if len(pattern) > 1 and pattern.startswith("*") and pattern.endswith("*"):
        return pattern[1:-1] in thing
    if pattern.startswith("*"):
        return thing.endswith(pattern[1:])
    if pattern.endswith("*"):
        return thing.startswith(pattern[:-1])
    return thing == pattern


@dataclass(frozen=True)
class SelectionRule:
    """A parsed ``selectionRule``; ``rule.selects(thing)`` says whether a thing is in the group."""

    text: str
    tree: tuple
    unescape_colon: bool = False

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        version: tuple[int, int, int] = (2, 5, 2),
        unescape_colon: bool = False,
    ) -> SelectionRule:
        tokens = _tokens(text, leading_star=version >= LEADING_STAR_SINCE)
        return cls(text, _Parser(tokens).start(), unescape_colon)

    def names(self) -> list[str]:
        """The thing-name patterns of the rule, as written."""
        found: list[str] = []

        def walk(node: tuple) -> None:
            if node[0] == "thing":
                found.append(node[1])
            else:
                walk(node[1])
                walk(node[2])

        walk(self.tree)
        return found

    def selects(self, thing: str) -> bool:
        def evaluate(node: tuple) -> bool:
            kind = node[0]
            if kind == "thing":
                pattern = node[1].replace("\\:", ":") if self.unescape_colon else node[1]
                return _name_matches(pattern, thing)
            if kind == "or":
                return evaluate(node[1]) or evaluate(node[2])
            return evaluate(node[1]) and evaluate(node[2])

        return evaluate(self.tree)
