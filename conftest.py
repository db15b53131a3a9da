"""Fixtures for every test tier, and the rule that every test is in exactly one tier.

The fixtures' machinery lives in tests/harness.py (importable by service tests); this file exposes them.
"""

from __future__ import annotations

import pytest

from tests.harness import auth_headers, namespace, servers, service_env, start_service

__all__ = ["auth_headers", "namespace", "servers", "service_env", "start_service"]

TIERS = ("unit", "integration", "e2e")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: a test with no tier would silently drop out of each tier
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fail collection naming every test without exactly one tier marker, so `make test-<tier>` misses none."""
    wrong = []
    for item in items:
        tiers = sorted({mark.name for mark in item.iter_markers() if mark.name in TIERS}, key=TIERS.index)
        if len(tiers) != 1:
            wrong.append(f"  {item.nodeid}: {', '.join(tiers) or 'no tier'}")
    if wrong:
        raise pytest.UsageError(
            f"{len(wrong)} test(s) need exactly one tier marker (pytest.mark.unit, integration or e2e, e.g. as the"
            " module's `pytestmark`):\n" + "\n".join(wrong)
        )
