"""Reporting's read-only HTTP routes, one module per area; the composition root imports each router itself."""
