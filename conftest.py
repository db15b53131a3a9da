"""Fixtures for every test tier; the machinery lives in tests/harness.py (importable by service tests)."""

from tests.harness import auth_headers, namespace, servers, service_env, start_service

__all__ = ["auth_headers", "namespace", "servers", "service_env", "start_service"]
