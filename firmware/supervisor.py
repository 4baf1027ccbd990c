"""The safety supervisor: every cutoff and every fault check, independent of the
regulator. The pen asks it each tick whether the valve may be open; it answers
from the absolute limits, the profile and what it has seen, never from what the
regulator wants.

Faults latch in .fault until a deliberate reset. Cooling is checked in both
directions: an open valve must cool the tip, a closed one must stop cooling it.
"""
from firmware import alarms, limits, states
from firmware.compat import ticks_add, ticks_diff
from firmware.tip_sensor import TipSensor


class Supervisor:
    def __init__(self, profile, now_ms, watchdog_reset):
        self.profile = profile
        self.fault = alarms.F_WATCHDOG if watchdog_reset else 0
        self.inhibit = 0  # non-latching conditions (low battery)
        self.s1 = TipSensor(now_ms)
        self.s2 = TipSensor(now_ms)
        self.cc = 0  # the reading every decision uses: the colder of the two
        self.have_reading = False
        self.disagree_ms = 0
        self.valve = False  # the command in force since the last tick
        # After a watchdog reset an application may have just been cut short: rest first.
        self.rest_end_ms = ticks_add(now_ms, profile.rest_ms) if watchdog_reset else now_ms
        self.app_start_ms = now_ms
        # Every attribute exists from here on: a first assignment in the tick would grow the dict.
        self._restart_window()
        self.new_session()
        self._closed(now_ms)

    def new_session(self):
        self.open_ms = 0  # valve-open time in this session
        self.applications = 0

    # --- per tick -----------------------------------------------------------
    def sense(self, now_ms, dt_ms, raw, status, cc, raw2, status2, cc2, hw_bits):
        """Takes this tick's readings of both sensors (raw < 0: none arrived) and the
        HAL condition bits. Both sensors get every check; the colder reading rules."""
        if self.valve:
            self.open_ms += dt_ms
        self.fault |= hw_bits & alarms.LATCHING_BITS
        self.inhibit = hw_bits & ~alarms.LATCHING_BITS
        self.fault |= self.s1.check(now_ms, dt_ms, raw, status, cc, self.valve)
        self.fault |= self.s2.check(now_ms, dt_ms, raw2, status2, cc2, self.valve)
        s1 = self.s1
        s2 = self.s2
        if not (s1.have_reading and s2.have_reading):
            return
        # The colder reading: a sensor that reads warm cannot drive the tip below
        # target or hide the floor; one that reads cold only stops cooling early.
        self.cc = s1.cc if s1.cc < s2.cc else s2.cc
        if not self.have_reading:
            self.have_reading = True
            self.close_cc = self.cc  # the still-cooling check starts from the first reading
        if self.cc < self.profile.floor_cc:
            self.fault |= alarms.F_FLOOR
        if abs(s1.cc - s2.cc) > limits.DISAGREE_CC:
            self.disagree_ms += dt_ms
            if self.disagree_ms >= limits.DISAGREE_MS:
                self.fault |= alarms.F_DISAGREE
        else:
            self.disagree_ms = 0

    def check_cooling(self, now_ms, dt_ms, treating):
        """Both directions: open must cool (until at target), closed must not keep cooling."""
        if self.valve:
            if treating:
                self._check_open_cools(dt_ms)
        elif ticks_diff(now_ms, self.close_ms) >= limits.STILL_COOLING_MS:
            if self.cc < self.close_cc - limits.STILL_COOLING_DROP_CC:
                self.fault |= alarms.F_STILL_COOLING

    def _check_open_cools(self, dt_ms):
        p = self.profile
        if self.cc <= p.target_cc + 2 * limits.AT_TARGET_CC:
            self._restart_window()
            return
        self.window_open_ms += dt_ms
        if self.window_open_ms >= p.cool_window_ms:
            if self.window_cc - self.cc < p.cool_drop_cc:
                self.fault |= alarms.F_NO_COOLING
            self._restart_window()

    def _restart_window(self):
        self.window_open_ms = 0
        self.window_cc = self.cc

    # --- applications -------------------------------------------------------
    def may_start(self, now_ms):
        p = self.profile
        return (self.fault == 0 and self.inhibit == 0 and self.have_reading
                and ticks_diff(now_ms, self.rest_end_ms) >= 0
                and self.applications < p.cycles and self.open_ms < p.session_ms)

    def start(self, now_ms):
        self.app_start_ms = now_ms
        self.applications += 1
        self._restart_window()

    def cutoff(self, now_ms):
        """Why the application must end now, or END_NONE. Faults are checked by the pen."""
        if ticks_diff(now_ms, self.app_start_ms) >= self.profile.contact_ms:
            return states.END_CONTACT
        if self.open_ms >= self.profile.session_ms:
            return states.END_SESSION
        return states.END_NONE

    def end(self, now_ms):
        self.rest_end_ms = ticks_add(now_ms, self.profile.rest_ms)

    def session_spent(self):
        p = self.profile
        return self.applications >= p.cycles or self.open_ms >= p.session_ms

    def backstop_ms(self, now_ms):
        """How long the valve may stay open if the loop stops now: the remaining
        contact or session time plus the margin, and never longer than the tip
        needs to reach the floor at the fastest physical cooling rate."""
        left = self.profile.contact_ms - ticks_diff(now_ms, self.app_start_ms)
        session_left = self.profile.session_ms - self.open_ms
        if session_left < left:
            left = session_left
        left += limits.BACKSTOP_MARGIN_MS  # never negative here: a spent limit closes first
        thermal = (self.cc - self.profile.floor_cc) * 1000 // limits.MAX_COOL_CC_PER_S
        if thermal < left:
            left = thermal
        if left < limits.BACKSTOP_MIN_MS:
            left = limits.BACKSTOP_MIN_MS
        return left

    def commanded(self, now_ms, valve):
        """Records the valve command that is in force until the next tick."""
        if self.valve and not valve:
            self._closed(now_ms)
        self.valve = valve

    def _closed(self, now_ms):
        self.close_ms = now_ms
        self.close_cc = self.cc

    # --- reset ----------------------------------------------------------------
    def clearable(self, now_ms):
        """Latched faults clear only on fresh, plausible readings from both sensors
        that agree, and after a stuck reading only once it has changed. No cooling
        and a leak cannot be judged with the valves closed: they latch again within
        their window."""
        stuck = self.fault & alarms.F_STUCK
        return (self.s1.clearable(now_ms, stuck) and self.s2.clearable(now_ms, stuck)
                and self.disagree_ms == 0)

    def clear_faults(self, now_ms):
        if not self.clearable(now_ms) or self.fault & alarms.F_MASTER_LEAK:
            # A leaking second valve needs service: each retry would pass gas through
            # it in the proving step, so it clears only with a power cycle.
            return False
        self.fault = 0
        self._closed(now_ms)
        return True
