"""Skill levels (1 to 5), merging requirements, and the 'skill:level' form skills take on `TicketRouted`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ._frozen import freeze

MIN_LEVEL = 1
MAX_LEVEL = 5

Skills = Mapping[str, int]
"""Skill name -> level: what an agent has, or the minimum level a ticket needs."""


def merge_skills(*requirements: Skills) -> Skills:
    """One requirement that satisfies all: every skill named anywhere, at the highest level asked for."""
    merged: dict[str, int] = {}
    for requirement in requirements:
        for skill, level in requirement.items():
            merged[skill] = max(level, merged.get(skill, MIN_LEVEL))
    return freeze(merged)


def has_skills(agent_skills: Skills, needed: Skills) -> bool:
    """True when the agent has every needed skill at the needed level or above."""
    return all(agent_skills.get(skill, 0) >= level for skill, level in needed.items())


def skills_to_wire(skills: Skills) -> tuple[str, ...]:
    """`TicketRouted.required_skills` is a tuple of strings, so levels travel as 'billing:3' (sorted by skill)."""
    return tuple(f"{skill}:{skills[skill]}" for skill in sorted(skills))


def skills_from_wire(items: Iterable[str]) -> Skills:
    """Read `skills_to_wire` back; a bare 'billing' (no level) means level 1."""
    parsed: dict[str, int] = {}
    for item in items:
        name, _, level = item.rpartition(":")
        if name and level.isdigit():
            parsed[name] = max(int(level), parsed.get(name, MIN_LEVEL))
        else:
            parsed[item] = max(MIN_LEVEL, parsed.get(item, MIN_LEVEL))
    return freeze(parsed)
