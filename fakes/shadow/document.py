"""Pure rules on shadow JSON trees: merge, delta, metadata, depth and size.

Nothing here knows about topics, storage or errors; every function returns new values and
never mutates its arguments, so a rejected request cannot leave a half-applied document.
JSON values are what :func:`json.loads` returns: dict, list, str, int, float, bool, None.
"""

from __future__ import annotations

import json
from typing import Any

JSON = Any
Tree = dict[str, Any]

_MISSING = object()


def json_equal(a: JSON, b: JSON) -> bool:
    """Equality of JSON values by JSON type: ``true`` is not ``1``, ``1`` equals ``1.0``."""
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


def merge(current: Tree, patch: Tree, empty_object_removes: bool = True) -> Tree:
    """``patch`` merged into ``current``: objects merge key by key, ``null`` (and ``{}``
    when ``empty_object_removes``) removes a key, any other value (scalar or array) replaces
    the old one whole. Emptying an existing nested object key by key leaves ``{}``."""
    out = dict(current)
    for key, value in patch.items():
        if _removes(value, empty_object_removes):
            out.pop(key, None)
        elif isinstance(value, dict):
            old = out.get(key)
            if isinstance(old, dict):
                out[key] = merge(old, value, empty_object_removes)
            else:
                fresh = without_nulls(value, empty_object_removes)
                if fresh is not None:
                    out[key] = fresh
        else:
            out[key] = value
    return out


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
    become one entry per element, every other leaf becomes ``{"timestamp": ...}``."""
    if isinstance(value, dict):
        return {key: stamp(child, timestamp) for key, child in value.items()}
    if isinstance(value, list):
        return [stamp(element, timestamp) for element in value]
    return {"timestamp": timestamp}


def is_leaf_metadata(meta: JSON) -> bool:
    """Whether ``meta`` is a leaf's ``{"timestamp": N}`` (not the metadata of an object that
    happens to have a key named ``timestamp``)."""
    return isinstance(meta, dict) and len(meta) == 1 and type(meta.get("timestamp")) is int


def merge_metadata(old: JSON, state: JSON, patch: JSON, timestamp: int) -> JSON:
    """Metadata for ``state`` after ``patch`` was merged into it.

    ``old`` is the metadata before the update and ``patch`` the request's value at this
    place (``_MISSING`` where the request did not touch it). Leaves the patch wrote get
    ``timestamp``; untouched leaves keep their old metadata; removed leaves lose theirs
    because only keys still in ``state`` are visited.
    """
    if patch is _MISSING and old is not _MISSING:
        return old
    if isinstance(patch, dict) and not isinstance(state, dict) and old is not _MISSING:
        return old  # the patch object removed nothing and created nothing here
    if isinstance(state, dict) and isinstance(patch, dict):
        children = old if isinstance(old, dict) and not is_leaf_metadata(old) else {}
        return {
            key: merge_metadata(
                children.get(key, _MISSING), child, patch.get(key, _MISSING), timestamp
            )
            for key, child in state.items()
        }
    return stamp(state, timestamp)


def section_metadata(old: Tree | None, state: Tree, patch: Tree, timestamp: int) -> Tree:
    """:func:`merge_metadata` for a whole ``desired`` or ``reported`` section."""
    return merge_metadata(old or {}, state, patch, timestamp)


def request_metadata(value: JSON, timestamp: int) -> JSON:
    """Metadata the ``/update/accepted`` message carries: exactly the request's fields,
    a field set to ``null`` included (it gets a timestamp like any leaf)."""
    return stamp(value, timestamp)


def restrict(metadata: Tree, shape: Tree) -> Tree:
    """``metadata`` cut down to the keys of ``shape`` (used for the delta's metadata)."""
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


def depth(value: JSON) -> int:
    """Nesting levels of a value: a non-empty object or array is one level more than its
    deepest child; scalars and empty containers add none."""
    if isinstance(value, dict) and value:
        return 1 + max(depth(child) for child in value.values())
    if isinstance(value, list) and value:
        return 1 + max(depth(child) for child in value)
    return 0


def has_null_in_array(value: JSON, inside_array: bool = False) -> bool:
    """Whether any array anywhere in ``value`` holds ``null``."""
    if value is None:
        return inside_array
    if isinstance(value, dict):
        return any(has_null_in_array(child) for child in value.values())
    if isinstance(value, list):
        return any(has_null_in_array(child, inside_array=True) for child in value)
    return False


def compact_size(value: JSON) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON (how the state size limit is counted)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
