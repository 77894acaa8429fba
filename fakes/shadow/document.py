"""Pure rules on shadow JSON trees: merge, delta, metadata, depth and size.

Nothing here knows about topics, storage or errors; every function returns new values and
never mutates its arguments, so a rejected request cannot leave a half-applied document.
JSON values are what :func:`json.loads` returns: dict, list, str, int, float, bool, None.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

JSON = Any
Tree = dict[str, Any]

_MISSING = object()
_CONTAINERS = (dict, list)


def json_equal(a: JSON, b: JSON) -> bool:
    """Equality of JSON values by JSON type: ``true`` is not ``1``, ``1`` equals ``1.0``."""
    if type(a) is type(b) and type(a) not in _CONTAINERS:
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(json_equal(v, b[k]) for k, v in a.items())
        )
    if isinstance(a, list):
        return (
            isinstance(b, list) and len(a) == len(b) and all(map(json_equal, a, b))
        )
    return type(a) is type(b) and a == b


def _removes(value: JSON, empty_object_removes: bool) -> bool:
    """Whether a patch value removes its key: ``null``, and (ShadowManager's rule) ``{}``."""
    return value is None or (empty_object_removes and value == {})


def without_nulls(value: Tree, empty_object_removes: bool = True) -> Tree | None:
    """A new object as the merge stores it: removing children (``null``, ``{}``) dropped,
    recursively.

    Returns ``None`` when children were dropped and none is left, so such an object is not
    created at all (ShadowManager's rule).
    """
    out: Tree = {}
    for key, child in value.items():
        if _removes(child, empty_object_removes):
            continue
        if isinstance(child, dict) and child:
            kept = without_nulls(child, empty_object_removes)
            if kept is None:
                continue
            out[key] = kept
        else:
            out[key] = child
    if value and not out:
        return None
    return out


def merge(
    state: Tree,
    metadata: Tree,
    patch: Tree,
    timestamp: int,
    empty_object_removes: bool = True,
) -> tuple[Tree, Tree, Tree]:
    """``patch`` merged into ``state``: the new state, its metadata, and the patch's own
    metadata (what ``/update/accepted`` carries: every field of the patch, nulls included).

    Objects merge key by key; ``null`` (and ``{}`` when ``empty_object_removes``) removes a
    key and its metadata; any other value (scalar or array) replaces the old one whole and
    is stamped with ``timestamp``. Untouched keys keep their metadata; emptying an existing
    nested object key by key leaves ``{}``. ``metadata`` has the same keys as ``state`` at
    every level, and so has the result. One walk of the patch does all three.
    """
    return _merge(state, metadata, patch, {"timestamp": timestamp}, empty_object_removes)


def _merge(
    state: Tree, metadata: Tree, patch: Tree, leaf: Tree, empty_object_removes: bool
) -> tuple[Tree, Tree, Tree]:
    out, out_metadata, patch_metadata = dict(state), dict(metadata), {}
    for key, value in patch.items():
        kind = type(value)
        if value is None or (kind is dict and not value and empty_object_removes):
            patch_metadata[key] = leaf if value is None else {}
            if key in out:
                del out[key], out_metadata[key]
        elif kind is dict:
            old = out.get(key)
            if type(old) is dict:
                out[key], out_metadata[key], patch_metadata[key] = _merge(
                    old, out_metadata[key], value, leaf, empty_object_removes
                )
            else:
                stamped = patch_metadata[key] = _stamp(value, leaf)
                fresh = without_nulls(value, empty_object_removes)
                if fresh is not None:  # an all-null object creates (and replaces) nothing
                    out[key] = fresh
                    out_metadata[key] = restrict(stamped, fresh)
        else:
            stamped = patch_metadata[key] = leaf if kind is not list else _stamp(value, leaf)
            out[key] = value
            out_metadata[key] = stamped
    return out, out_metadata, patch_metadata


def delta(desired: Tree, reported: Tree) -> Tree:
    """The desired leaves that differ from reported, with their full paths.

    A desired object is compared leaf by leaf (against reported's object at the same place,
    or against nothing) and vanishes when no leaf differs, so an empty desired object never
    appears; scalars and arrays are compared as whole JSON values and, when unequal or
    missing from reported, appear with desired's value.
    """
    out: Tree = {}
    for key, want in desired.items():
        have = reported.get(key, _MISSING)
        if isinstance(want, dict):
            sub = delta(want, have if isinstance(have, dict) else {})
            if sub:
                out[key] = sub
        elif have is _MISSING or not json_equal(want, have):
            out[key] = want
    return out


def stamp(value: JSON, timestamp: int) -> JSON:
    """Metadata of a value written whole at ``timestamp``: objects keep their shape, arrays
    become one entry per element, every other leaf (``null`` included) becomes
    ``{"timestamp": ...}``. The stamp of a request's ``state`` is the metadata
    ``/update/accepted`` carries.

    All leaves share one ``{"timestamp": ...}`` object: documents are never changed in
    place (see :mod:`fakes.shadow.service`), so sharing is safe and saves allocations.
    """
    return _stamp(value, {"timestamp": timestamp})


def _stamp(node: JSON, leaf: Tree) -> JSON:
    kind = type(node)
    if kind is dict:
        return {
            key: _stamp(child, leaf) if type(child) in _CONTAINERS else leaf
            for key, child in node.items()
        }
    if kind is list:
        return [_stamp(child, leaf) if type(child) in _CONTAINERS else leaf for child in node]
    return leaf


def is_leaf_metadata(meta: JSON) -> bool:
    """Whether ``meta`` is a leaf's ``{"timestamp": N}`` (not the metadata of an object that
    happens to have a key named ``timestamp``)."""
    return type(meta) is dict and len(meta) == 1 and type(meta.get("timestamp")) is int


def restrict(metadata: Tree, shape: Tree) -> Tree:
    """``metadata`` cut down to the keys of ``shape`` (the delta's metadata, or a new
    object's once its null children are dropped)."""
    out: Tree = {}
    for key, sub in shape.items():
        meta = metadata.get(key)
        if meta is None:
            continue
        if isinstance(sub, dict) and isinstance(meta, dict) and not is_leaf_metadata(meta):
            out[key] = restrict(meta, sub)
        else:
            out[key] = meta
    return out


def measure(value: JSON, limit: int | None = None) -> tuple[int, bool]:
    """Nesting levels of a value, and whether an array anywhere in it holds ``null``.

    A non-empty object or array is one level more than its deepest child; scalars and empty
    containers add none. With ``limit``, the walk stops at the first level beyond it (the
    levels then say only "too deep"). The walk keeps its own stack, so no document is too
    deep to measure.
    """
    if type(value) not in _CONTAINERS or not value:
        return 0, False
    deepest, nulls = 0, False
    pending = [(value, 1)]
    while pending:
        node, level = pending.pop()
        if level > deepest:
            deepest = level
            if limit is not None and level > limit:
                return level, nulls
        if type(node) is dict:
            children = node.values()
        else:
            children = node
            nulls = nulls or None in node
        pending.extend((child, level + 1) for child in children
                       if type(child) in _CONTAINERS and child)
    return deepest, nulls


def to_json(value: JSON) -> bytes:
    """``value`` as compact UTF-8 JSON. orjson is used for speed; integers beyond 64 bits,
    which it refuses, go through the standard library with the same output format."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def state_size(state: Tree) -> int:
    """Bytes of ``desired`` plus ``reported`` as compact UTF-8 JSON, metadata not counted
    (how the state size limit is counted)."""
    return sum(len(to_json(section)) for section in state.values())
