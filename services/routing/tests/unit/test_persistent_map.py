"""The board's maps: a new version costs what changed, yet behaves exactly like a copied dict, old versions included."""

from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from switchboard.routing.domain.assignment import persistent
from switchboard.routing.domain.assignment.persistent import PersistentMap, overlay_limit

pytestmark = pytest.mark.unit

KEYS = st.integers(min_value=0, max_value=150)
# One edit session: a list of writes (value) and deletes (None), then freeze.
SESSION = st.lists(st.tuples(KEYS, st.one_of(st.none(), st.integers())), max_size=40)


def apply(model: dict[int, int], session: list[tuple[int, int | None]]) -> dict[int, int]:
    """What a plain dict copy does with the session: the behaviour the map must match, order included."""
    after = dict(model)
    for key, value in session:
        if value is None:
            after.pop(key, None)
        else:
            after[key] = value
    return after


def same(version: PersistentMap[int, int], model: dict[int, int]) -> None:
    assert list(version.items()) == list(model.items())
    assert list(version) == list(model) and list(version.values()) == list(model.values())
    assert len(version) == len(model) and version == model and model == version
    for key in range(-1, 152):
        assert (key in version) == (key in model)
        assert version.get(key, "none") == model.get(key, "none")


@settings(max_examples=200, deadline=None)
@given(
    start=st.dictionaries(KEYS, st.integers(), max_size=60),
    sessions=st.lists(SESSION, min_size=1, max_size=30),
    smallest_overlay=st.sampled_from([0, 4, 64]),  # small ones fold all the time
)
def test_every_version_reads_and_iterates_like_the_dict_it_stands_for(
    start: dict[int, int], sessions: list[list[tuple[int, int | None]]], smallest_overlay: int
) -> None:
    with mock.patch.object(persistent, "_MIN_OVERLAY", smallest_overlay):
        versions, models = edit_in_sessions(start, sessions)

    for version, model in zip(versions, models, strict=True):  # the old versions too: nothing was shared wrongly
        same(version, model)


def edit_in_sessions(
    start: dict[int, int], sessions: list[list[tuple[int, int | None]]]
) -> tuple[list[PersistentMap[int, int]], list[dict[int, int]]]:
    versions = [PersistentMap(start)]
    models = [dict(start)]
    for session in sessions:
        edit = versions[-1].edit()
        for key, value in session:
            if value is None:
                if key in edit:
                    del edit[key]
                else:
                    with pytest.raises(KeyError):
                        del edit[key]
            else:
                edit[key] = value
        versions.append(edit.freeze())
        models.append(apply(models[-1], session))
    return versions, models


def test_folding_a_large_overlay_into_a_new_base_keeps_contents_order_and_old_versions() -> None:
    first = PersistentMap({n: n for n in range(300)})
    model = dict(first)
    version = first
    for round_ in range(12):  # well past the overlay limit: several folds
        edit = version.edit()
        for n in range(round_, 300, 7):
            del edit[n]
            del model[n]
            edit[n] = -n  # deleted and added again: goes last, as in a dict
            model[n] = -n
        edit[1000 + round_] = round_
        model[1000 + round_] = round_
        version = edit.freeze()
        same(version, model)
    assert overlay_limit(len(model)) < 300
    same(first, {n: n for n in range(300)})


def test_edits_after_a_freeze_do_not_reach_the_frozen_version() -> None:
    edit = PersistentMap({"a": 1}).edit()
    edit["b"] = 2
    frozen = edit.freeze()
    edit["c"] = 3
    del edit["a"]

    assert dict(frozen) == {"a": 1, "b": 2}
    assert dict(edit.freeze()) == {"b": 2, "c": 3}


def test_a_map_cannot_be_changed_in_place_and_an_untouched_edit_gives_it_back() -> None:
    original = PersistentMap({"a": 1})

    with pytest.raises(TypeError):
        original["a"] = 2  # type: ignore[index]
    assert original.edit().freeze() is original
    assert PersistentMap.of(original) is original
    assert repr(original) == "PersistentMap({'a': 1})"
