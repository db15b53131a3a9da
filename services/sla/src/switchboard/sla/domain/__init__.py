"""SLA's pure domain: business calendars, SLA policies and each ticket's clocks.

No I/O, no awaits, no clock reads: callers pass `now`, the policies and the calendars, so every decision is
reproducible and the same input decided twice emits nothing new.
"""
