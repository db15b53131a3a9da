"""Read-only, key-sorted mappings, so that domain values cannot be changed in place or iterate in surprising orders."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TypeVar

K = TypeVar("K", bound=str)  # names and StrEnums (channels, tiers, triggers): sortable, and stable across runs
V = TypeVar("V")


def freeze(mapping: Mapping[K, V]) -> Mapping[K, V]:
    """A read-only copy whose iteration order is the key order, whatever order the caller built it in."""
    return MappingProxyType({key: mapping[key] for key in sorted(mapping)})
