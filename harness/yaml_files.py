"""Reading the harness's YAML files (group, scenario, pi config) so that every problem names
its file and line, and no file can crash or hang the reader.

:func:`read_yaml_mapping` is the one way in. Before any YAML is parsed the file must be a
regular file within :data:`~harness.limits.MAX_FILE_BYTES`, UTF-8 (or UTF-16 with a byte
order mark, as YAML allows) and free of the characters YAML forbids (NUL and other control
characters). The text is composed into nodes, which keep their line numbers, by libyaml's
``CSafeLoader`` when PyYAML was built with it (about ten times faster than the pure-Python
loader on a large group file) and by ``SafeLoader`` otherwise. The node tree is then measured
with aliases expanded, so a "billion laughs" file, an alias cycle or nesting deeper than
:data:`~harness.limits.MAX_NESTING` is refused before anything walks it. Only what JSON can
hold is built: text, numbers, booleans, null, lists and mappings; a YAML date, ``!!binary``,
``!!set`` or ``!!python/...`` value is an error naming its line.

Every problem is a :class:`Problem`, ``<file>:<line>: <dotted.field.path>: <what is wrong>``,
raised in one :class:`FileProblems` subclass chosen by the caller.
"""

from __future__ import annotations

import codecs
import contextlib
import difflib
import gc
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from harness.limits import MAX_FILE_BYTES, MAX_NESTING, MAX_TEXT_CHARS, MAX_VALUES

__all__ = ["FileProblems", "NodeIndex", "Problem", "did_you_mean", "read_yaml_mapping",
           "short_repr", "yaml_kind"]

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


class FileProblems(ValueError):
    """A YAML file that cannot be used; ``problems`` lists what is wrong, in file order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda problem: problem.line))
        super().__init__("\n".join(str(problem) for problem in self.problems))


class _Refused(Exception):
    """Raised inside this module with the one problem that stops the reading."""

    def __init__(self, line: int, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.line, self.message, self.path = line, message, path


def read_yaml_mapping(
    path: str | Path, what: str, error: type[FileProblems]
) -> tuple[dict[str, Any], NodeIndex, list[Problem]]:
    """Compose a YAML file that must hold a mapping of ``what`` fields: its data, the line
    of every field path, and the problems found so far (duplicate keys). A file that cannot
    be read, is not YAML, breaks a limit or is not a mapping raises ``error`` at once."""
    file = str(path)
    whole = f"({what})"
    try:
        text = _text_of(Path(path))
        data, index = _compose_and_build(text)
    except _Refused as refused:
        raise error([Problem(file, refused.line, refused.path or whole, refused.message)]
                    ) from None
    problems = [Problem(file, line, _dotted(loc, whole), message)
                for loc, line, message in index.duplicates]
    if not isinstance(data, dict):
        message = f"the file must hold a mapping of {what} fields, not {yaml_kind(data)}"
        raise error([*problems, Problem(file, index.root_line, whole, message)])
    return data, index, problems


# ---------------------------------------------------------------- bytes to text


def _text_of(path: Path) -> str:
    """The file's text, once it is known to be a regular file of YAML-legal text."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise _Refused(1, "no such file") from None
    except OSError as problem:
        raise _Refused(1, f"cannot read it: {problem.strerror or problem}") from None
    if stat.S_ISDIR(info.st_mode):
        raise _Refused(1, "is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise _Refused(1, "is not a regular file (a pipe, socket or device): give a YAML file")
    _check_size(info.st_size)
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as problem:
        raise _Refused(1, f"cannot read it: {problem.strerror or problem}") from None
    _check_size(len(data))
    text = _decode(data)
    _check_characters(text)
    return text


def _check_size(size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise _Refused(1, f"is {size:,} bytes; at most {MAX_FILE_BYTES:,} are read"
                          " (harness/limits.py MAX_FILE_BYTES)")


_UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _decode(data: bytes) -> str:
    """UTF-8 (a leading byte order mark allowed) or UTF-16 with its byte order mark: the
    encodings YAML 1.1 requires a reader to take."""
    if data.startswith(_UTF32_BOMS):
        raise _Refused(1, "is UTF-32 text: save it as UTF-8")
    encoding, start = ("utf-16", 0) if data.startswith(_UTF16_BOMS) else ("utf-8", 0)
    if data.startswith(codecs.BOM_UTF8):
        start = len(codecs.BOM_UTF8)
    try:
        return data[start:].decode(encoding)
    except UnicodeDecodeError as problem:
        before = data[start:start + problem.start].decode(encoding, errors="replace")
        line = before.count("\n") + 1
        column = len(before) - before.rfind("\n")
        shown = data[start + problem.start:start + problem.end].hex(" ")
        raise _Refused(line, f"is not {encoding.upper()} text: bytes {shown} at column "
                             f"{column} cannot be read (save the file as UTF-8)") from None


# YAML 1.1's printable characters are tab, LF, CR, 0x20-0x7E, NEL, 0xA0-0xD7FF,
# 0xE000-0xFFFD and 0x10000-0x10FFFF; anything else is refused where it is.
_FORBIDDEN = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _check_characters(text: str) -> None:
    found = _FORBIDDEN.search(text)
    if found is None:
        return
    before = text[:found.start()]
    line = before.count("\n") + 1
    column = found.start() - before.rfind("\n")
    code = ord(found.group())
    name = "the NUL character" if code == 0 else f"the character U+{code:04X}"
    raise _Refused(line, f"{name} (at column {column}) is not allowed in YAML: is this a text"
                         " file?")


# ---------------------------------------------------------------- text to data


class _JsonOnly:
    """Constructors for the values JSON has, refusing YAML's other types by line, and
    turning a value a constructor cannot make (``!!int abc``) into a marked error."""

    _NOT_JSON: ClassVar[dict[str, str]] = {
        "tag:yaml.org,2002:timestamp": "a date or time",
        "tag:yaml.org,2002:binary": "binary data (!!binary)",
        "tag:yaml.org,2002:set": "a set (!!set)",
        "tag:yaml.org,2002:omap": "an ordered map (!!omap)",
        "tag:yaml.org,2002:pairs": "a list of pairs (!!pairs)",
    }

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        kind = self._NOT_JSON.get(node.tag)
        if kind is not None:
            quote = " put it in quotes for text;" if isinstance(node, ScalarNode) else ""
            raise ConstructorError(None, None, f"YAML reads this as {kind}:{quote} these files"
                                   " hold only text, numbers, booleans, null, lists and"
                                   " mappings", node.start_mark)
        try:
            return super().construct_object(node, deep)  # type: ignore[misc]
        except (ValueError, KeyError, TypeError, OverflowError):
            shown = node.value if isinstance(node, ScalarNode) else node.tag
            if isinstance(shown, str) and len(shown) > 40:
                shown = shown[:40] + "..."
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise ConstructorError(None, None, f"cannot read {shown!r} as {tag}",
                                   node.start_mark) from None


class _PlainFirst:
    """A quicker implicit resolver: most plain scalars start with a character no implicit
    tag can start with, and are text without trying any regular expression (PyYAML's own
    resolver concatenates two lists for every scalar, the bulk of a big file's load)."""

    _by_first: dict[str, tuple[tuple[str, re.Pattern[str]], ...]]

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is ScalarNode and implicit[0]:
            for tag, regexp in self._by_first.get(value[:1], ()):
                if regexp.match(value):
                    return tag
            return "tag:yaml.org,2002:str"
        return super().resolve(kind, value, implicit)  # type: ignore[misc,no-any-return]


def _loader_class(base: type) -> type:
    resolvers = base.yaml_implicit_resolvers
    wildcard = tuple(resolvers.get(None, ()))
    by_first = {first: tuple(found) + wildcard for first, found in resolvers.items()
                if first is not None}
    return type(f"_Json{base.__name__}", (_JsonOnly, _PlainFirst, base),
                {"_by_first": by_first})


#: libyaml's loader when PyYAML has it (nodes keep their marks just the same).
LOADER: type = _loader_class(getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused: building a big file's hundreds of thousands of nodes
    otherwise sets it off again and again over everything allocated so far (on a 3.9 MB
    group file it took three quarters of the composing time). The nodes hold no cycles
    that need it; it runs again as usual afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _compose_and_build(text: str) -> tuple[Any, NodeIndex]:
    loader = LOADER(text)
    index: NodeIndex | None = None
    try:
        with _collector_paused():
            node = loader.get_single_node()
            index = NodeIndex(node)
            data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as problem:
        mark = problem.problem_mark or problem.context_mark
        line = mark.line + 1 if mark else 1
        where = index.path_at(line) if index is not None else None  # a value YAML built
        raise _Refused(line, _yaml_message(problem), where or "(yaml)") from None
    except yaml.YAMLError as problem:
        raise _Refused(1, f"invalid YAML: {problem}", "(yaml)") from None
    except RecursionError:  # the pure-Python composer on deep nesting
        raise _Refused(1, f"nested deeper than {MAX_NESTING} levels"
                          " (harness/limits.py MAX_NESTING)") from None
    finally:
        loader.dispose()
    return data, index


def _yaml_message(problem: yaml.MarkedYAMLError) -> str:
    text = problem.problem or ""
    if "nesting depth" in text:
        return f"invalid YAML: nested deeper than {MAX_NESTING} levels" \
               " (harness/limits.py MAX_NESTING)"
    if problem.context and isinstance(problem, ConstructorError):
        text = f"{problem.context}: {text}"
    return f"invalid YAML: {text}"


# ---------------------------------------------------------------- the node tree


class NodeIndex:
    """Line numbers of the YAML nodes by field path, the duplicate keys found, and the
    limits checked on the way: nesting, and the values and text with aliases expanded
    (each alias counted as a copy of what its anchor holds; an alias inside its own anchor
    is a cycle)."""

    def __init__(self, root: Node | None) -> None:
        self.lines: dict[tuple[str, ...], int] = {}
        self.duplicates: list[tuple[Loc, int, str]] = []
        self.root_line = root.start_mark.line + 1 if root is not None else 1
        self._sizes: dict[int, tuple[int, int, int]] = {}  # id -> values, chars, height
        self._open: set[int] = set()
        if root is not None:
            values, chars, _ = self._walk(root, (), 1, self.root_line)
            if values > MAX_VALUES:
                raise _Refused(self.root_line, f"holds {values:,} values with its aliases"
                               f" expanded; at most {MAX_VALUES:,} are read (an alias repeats"
                               " its anchor's value; harness/limits.py MAX_VALUES)")
            if chars > MAX_TEXT_CHARS:
                raise _Refused(self.root_line, f"holds {chars:,} characters of text with its"
                               f" aliases expanded; at most {MAX_TEXT_CHARS:,} are read"
                               " (harness/limits.py MAX_TEXT_CHARS)")

    def _walk(self, node: Node, path: tuple[str, ...], depth: int, line: int
              ) -> tuple[int, int, int]:
        """Index ``node`` at ``path`` (first visit only) and measure it: values, characters
        and height with aliases expanded. ``line`` is where the reference to it is."""
        key = id(node)
        if key in self._open:
            raise _Refused(line, "an alias refers to a value that contains it (a cycle)",
                           _dotted(path, "(yaml)"))
        known = self._sizes.get(key)
        if known is None:
            self._open.add(key)
            known = self._measure(node, path, depth)
            self._open.discard(key)
            self._sizes[key] = known
        if depth + known[2] - 1 > MAX_NESTING:
            raise _Refused(line, f"nested deeper than {MAX_NESTING} levels"
                                 " (harness/limits.py MAX_NESTING)", _dotted(path, "(yaml)"))
        return known

    def _measure(self, node: Node, path: tuple[str, ...], depth: int) -> tuple[int, int, int]:
        if isinstance(node, ScalarNode):
            return 1, len(node.value), 1
        if depth >= MAX_NESTING:
            raise _Refused(node.start_mark.line + 1, f"nested deeper than {MAX_NESTING} levels"
                           " (harness/limits.py MAX_NESTING)", _dotted(path, "(yaml)"))
        values, chars, height = 1, 0, 0
        if isinstance(node, MappingNode):
            first: dict[str, int] = {}
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                if type(key_node) is ScalarNode:  # the usual key: measured here, quicker
                    name = key_node.value
                    values, chars = values + 1, chars + len(name)
                else:
                    size = self._walk(key_node, path, depth + 1, line)
                    values, chars, name = values + size[0], chars + size[1], "(key)"
                field = (*path, name)
                if name in first:
                    message = f"duplicate key (first on line {first[name]}): YAML keeps the last"
                    self.duplicates.append((field, line, message))
                else:
                    first[name] = line
                    self.lines[field] = line
                if type(value_node) is ScalarNode:
                    values, chars, height = values + 1, chars + len(value_node.value), \
                        max(height, 1)
                    continue
                size = self._walk(value_node, field, depth + 1, line)
                values, chars = values + size[0], chars + size[1]
                height = max(height, size[2])
        elif isinstance(node, SequenceNode):
            for position, item in enumerate(node.value):
                line = item.start_mark.line + 1
                if id(item) not in self._sizes:
                    self.lines[(*path, str(position))] = line
                if type(item) is ScalarNode:
                    values, chars, height = values + 1, chars + len(item.value), max(height, 1)
                    continue
                size = self._walk(item, (*path, str(position)), depth + 1, line)
                values, chars = values + size[0], chars + size[1]
                height = max(height, size[2])
        return values, chars, height + 1

    def path_at(self, line: int) -> str | None:
        """The dotted path of the deepest field on ``line``, if one is there."""
        found = [path for path, at in self.lines.items() if at == line]
        return ".".join(max(found, key=len)) if found else None

    def line(self, loc: Loc) -> int:
        """The line of the deepest node of ``loc`` present in the file."""
        parts = tuple(str(part) for part in loc if part != "[key]")
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return self.root_line


def _dotted(loc: Loc, empty: str) -> str:
    return ".".join(str(part) for part in loc if part != "[key]") or empty


def yaml_kind(value: Any) -> str:
    """How YAML read ``value``, for messages: ``the number 7``, ``a list``..."""
    if value is None:
        return "null (nothing)"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, int | float):
        shown = short_repr(value)
        return shown if shown.endswith("-digit number") else f"the number {shown}"
    if isinstance(value, str):
        return f"the string {short_repr(value)}"
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else "?"


def short_repr(value: Any) -> str:
    """``repr(value)``, cut to 60 characters (a 400-digit number or a megabyte of text is
    not worth printing whole)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**40:
        return f"a {len(str(abs(value)))}-digit number"
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def did_you_mean(name: str, known: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` naming the closest of ``known`` to a misspelt ``name``, or
    ``""`` when none is close (difflib's ratio of at least 0.65)."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.65)
    return f" (did you mean {close[0]!r}?)" if close else ""
