"""The supervisor page: its figures (`overview`, plain SQL over the local SQLite) and its static assets."""
