"""A read-only mapping that a new version can be made of in time proportional to the changes, not to its size.

Every reaction returns a new board and must leave the old one as it was; copying 12,000 slots to change one made
the board's cost grow with the tickets on it. A `PersistentMap` is a shared base dict plus a small overlay of the
keys changed since: `edit()` gives a working copy that copies only the overlay (on its first write), and
`freeze()` turns it back into a map, folding the overlay into a fresh base once it grows past about the square
root of the base, so a read costs two dict look-ups at most and a version costs O(changes) amortised.

Iteration follows dict order exactly (a changed key keeps its place, a deleted and re-added one goes last), so
callers that iterate, publish or compare see the same thing as with the plain dicts this replaces.
"""

from __future__ import annotations

import math
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, MutableMapping, ValuesView
from enum import Enum
from typing import Any, Generic, TypeVar, cast, overload

K = TypeVar("K")
V = TypeVar("V")
D = TypeVar("D")

_MIN_OVERLAY = 64


class _Mark(Enum):
    GONE = "gone"  # in an overlay: the base's key was deleted
    ABSENT = "absent"  # a look-up miss, distinct from any stored value


_GONE = _Mark.GONE
_ABSENT = _Mark.ABSENT


def overlay_limit(base_size: int) -> int:
    """How many changed keys an overlay may hold before `freeze()` folds it into a new base.

    The square root balances the two costs: each version copies the overlay, each fold copies the base.
    """
    return max(_MIN_OVERLAY, 2 * math.isqrt(base_size))


class _Layers(Generic[K, V]):
    """The reads shared by the frozen map and its working copy.

    `_base` is never changed once shared. `_over` holds, for each key changed since the base was made, its value
    or `_GONE`. `_tail` holds the keys that iterate after the base's (added, or deleted and added again), in the
    order they were added.
    """

    __slots__ = ("_base", "_len", "_over", "_tail")

    _base: dict[K, V]
    _over: dict[K, V | _Mark]
    _tail: dict[K, None]
    _len: int

    def __getitem__(self, key: K) -> V:
        value = self._over.get(key, _ABSENT)
        if value is _ABSENT:
            return self._base[key]
        if value is _GONE:
            raise KeyError(key)
        return cast(V, value)

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, default: V | D, /) -> V | D: ...
    def get(self, key: K, default: Any = None, /) -> Any:
        value = self._over.get(key, _ABSENT)
        if value is _ABSENT:
            return self._base.get(key, default)
        return default if value is _GONE else value

    def __contains__(self, key: object) -> bool:
        value = self._over.get(key, _ABSENT)  # type: ignore[arg-type]
        if value is _ABSENT:
            return key in self._base
        return value is not _GONE

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[K]:
        if not self._over:
            return iter(self._base)
        return self._iter_layers()

    def _iter_layers(self) -> Iterator[K]:
        over, tail = self._over, self._tail
        for key in self._base:
            if key not in over or (over[key] is not _GONE and key not in tail):
                yield key
        yield from tail

    def _folded(self) -> dict[K, V]:
        """One plain dict with the same contents in the same order."""
        merged = dict(self._base)
        for key, value in self._over.items():
            if value is _GONE or key in self._tail:
                merged.pop(key, None)
            else:
                merged[key] = cast(V, value)
        for key in self._tail:
            merged[key] = cast(V, self._over[key])
        return merged


class PersistentMap(_Layers[K, V], Mapping[K, V]):
    """An immutable mapping; `edit()` starts the next version without copying this one."""

    __slots__ = ()

    def __init__(self, items: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        self._base = dict(items)
        self._over = {}
        self._tail = {}
        self._len = len(self._base)

    @classmethod
    def of(cls, mapping: Mapping[K, V]) -> PersistentMap[K, V]:
        """`mapping` itself when it already is one (it cannot change), else a copy."""
        return mapping if isinstance(mapping, PersistentMap) else cls(mapping)

    @classmethod
    def _from_layers(
        cls, base: dict[K, V], over: dict[K, V | _Mark], tail: dict[K, None], size: int
    ) -> PersistentMap[K, V]:
        made: PersistentMap[K, V] = cls.__new__(cls)
        made._base, made._over, made._tail, made._len = base, over, tail, size
        return made

    # Views straight onto the base when nothing overlays it (a map never changes, so they cannot go stale).

    def keys(self) -> KeysView[K]:
        return self._base.keys() if not self._over else KeysView(self)

    def values(self) -> ValuesView[V]:
        return self._base.values() if not self._over else ValuesView(self)

    def items(self) -> ItemsView[K, V]:
        return self._base.items() if not self._over else ItemsView(self)

    def edit(self) -> MapEdit[K, V]:
        """A working copy: writes go to it alone, and `freeze()` makes the next version of this map."""
        return MapEdit(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PersistentMap) and self._base is other._base and self._over is other._over:
            return True
        if not isinstance(other, Mapping):
            return NotImplemented
        return len(self) == len(other) and dict(self.items()) == dict(other.items())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.items())!r})"


class MapEdit(_Layers[K, V], MutableMapping[K, V]):
    """The working copy of a `PersistentMap`; it copies the source's overlay on its first write, never its base."""

    __slots__ = ("_owned", "_source")

    def __init__(self, source: PersistentMap[K, V]) -> None:
        self._base, self._over, self._tail, self._len = source._base, source._over, source._tail, source._len
        self._source = source
        self._owned = False  # whether `_over` and `_tail` are this copy's own (else they are the source's)

    def _own(self) -> None:
        if not self._owned:
            self._over, self._tail = dict(self._over), dict(self._tail)
            self._owned = True

    def __setitem__(self, key: K, value: V) -> None:
        self._own()
        current = self._over.get(key, _ABSENT)
        if current is _ABSENT:
            if key not in self._base:
                self._tail[key] = None
                self._len += 1
        elif current is _GONE:
            self._tail[key] = None  # back after a delete: last, as in a dict
            self._len += 1
        self._over[key] = value

    def __delitem__(self, key: K) -> None:
        current = self._over.get(key, _ABSENT)
        if current is _GONE or (current is _ABSENT and key not in self._base):
            raise KeyError(key)
        self._own()
        self._tail.pop(key, None)
        if key in self._base:
            self._over[key] = _GONE
        else:
            del self._over[key]
        self._len -= 1

    def freeze(self) -> PersistentMap[K, V]:
        """This copy's contents as a map (the source itself when nothing was written); later writes to this copy
        start a fresh overlay and leave the result alone."""
        if not self._owned:
            return self._source
        if len(self._over) > overlay_limit(len(self._base)):
            self._base, self._over, self._tail = self._folded(), {}, {}
        self._source = PersistentMap._from_layers(self._base, self._over, self._tail, self._len)
        self._owned = False
        return self._source
