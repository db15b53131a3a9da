"""Intake's pure rules: tickets (`ticket/`: state and fold, commands, rules), customers and accounts, and channel
threading.

No I/O, no awaits, no clock reads: callers pass `now` and ids, so every decision is reproducible.
"""
