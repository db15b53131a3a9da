"""Intake's pure rules: tickets (decide/evolve), customers and accounts, and channel threading.

No I/O, no awaits, no clock reads: callers pass `now` and ids, so every decision is reproducible.
"""
