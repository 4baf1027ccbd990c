"""What one application did to the tip, for the treatment record: lowest and
mean reading, time within AT_TARGET_CC of the target, and valve-open time.
Integer updates only: it runs in the control tick and allocates nothing."""
from firmware import limits


class AppStats:
    def __init__(self):
        self.start(0, 0, 0)

    def start(self, now_ms, cc, session_open_ms):
        self.start_ms = now_ms
        self.min_cc = cc
        self._sum_cc = 0  # at most 4,500 ticks of 100 C: a small int
        self._ticks = 0
        self.at_target_ms = 0
        self._open_at_start = session_open_ms
        self.open_ms = 0

    def update(self, dt_ms, cc, target_cc, session_open_ms):
        if cc < self.min_cc:
            self.min_cc = cc
        self._sum_cc += cc
        self._ticks += 1
        if -limits.AT_TARGET_CC <= cc - target_cc <= limits.AT_TARGET_CC:
            self.at_target_ms += dt_ms
        self.open_ms = session_open_ms - self._open_at_start

    def mean_cc(self):
        return self._sum_cc // self._ticks if self._ticks else self.min_cc
