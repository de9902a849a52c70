"""Bjøntegaard delta rate (VCEG-M33): average bitrate difference at equal quality.

Each curve's log-rate is fitted as a cubic polynomial of quality; the
difference of the integrals over the overlapping quality interval, divided by
its width, is the mean log-rate difference, reported as a percentage
(negative = the test codec needs fewer bits). With fewer than 4 points, or no
overlap, there is no BD-rate (None).
"""
from __future__ import annotations

import math

import numpy as np


def bd_rate(ref_rate, ref_quality, test_rate, test_quality) -> float | None:
    r1, q1 = np.log(np.asarray(ref_rate, float)), np.asarray(ref_quality, float)
    r2, q2 = np.log(np.asarray(test_rate, float)), np.asarray(test_quality, float)
    ok1, ok2 = np.isfinite(q1) & np.isfinite(r1), np.isfinite(q2) & np.isfinite(r2)
    r1, q1, r2, q2 = r1[ok1], q1[ok1], r2[ok2], q2[ok2]
    if len(q1) < 4 or len(q2) < 4:
        return None
    lo, hi = max(q1.min(), q2.min()), min(q1.max(), q2.max())
    if hi <= lo:
        return None
    p1, p2 = np.polyfit(q1, r1, 3), np.polyfit(q2, r2, 3)
    i1 = np.polyval(np.polyint(p1), hi) - np.polyval(np.polyint(p1), lo)
    i2 = np.polyval(np.polyint(p2), hi) - np.polyval(np.polyint(p2), lo)
    return (math.exp((i2 - i1) / (hi - lo)) - 1) * 100
