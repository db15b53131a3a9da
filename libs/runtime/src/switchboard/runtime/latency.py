"""Histogram buckets for the time an event spends in one stage of a service (queueing, handling, publishing).

One set for every stage, so stages can be compared bucket by bucket and a stage's share of an end-to-end
latency target (routing's is 100 ms) reads off directly; fine below 100 ms, coarse beyond a second.
"""

STAGE_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0)
