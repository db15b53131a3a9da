"""Routing's pure rules: the roster, the routing rule set, agent assignment and tier escalation.

No I/O, no awaits, no clock reads: every function takes its inputs (and `now`) as arguments and returns new
values, so the same inputs always give the same decisions.

Replaying. A service reproduces its decisions by feeding the same inputs, in the same order, to the same
functions, starting from the same state:

- `now` must come from the input, never from the wall clock: the causing event's time (its envelope `time`, or
  the payload's `*_at`) for event reactions, and the due time for timers (a no-response check). Decisions stamp
  that `now` (`assigned_at`, `escalated_at`, ...), so a replay writes byte-identical payloads.
- Configuration is part of the input: the `Roster` and the `RuleSet` (its `version` and `digest`) in force when
  an input was handled. Store them with a version, and replay each input against the version it saw.
- The assignment `Board` is shared by all tickets and agents, so its inputs need one total order (one writer,
  e.g. a single partition or a leader); per-ticket state (`TicketTier`) only needs the order of its ticket.
- Nothing depends on hash or dict order: mappings are frozen sorted by key, and every tie is broken by an id.
"""
