"""The pen: one object whose tick takes the inputs and returns the outputs.

tick(now_ms, raw, trigger, hw_bits) -> Outputs, at 100 Hz. raw is the tip
reading scaled to 16 bits, or -1 when no new sample arrived. hw_bits are the
condition bits the HAL reports (F_ADC, F_BACKSTOP, F_LOW_BATTERY). Nothing here touches hardware,
sleeps or allocates: the shell (firmware/app.py) does the I/O.
"""
from firmware import alarms, limits, signals, states, thermistor
from firmware.compat import ticks_diff
from firmware.regulator import Regulator
from firmware.supervisor import Supervisor


class Outputs:
    """Preallocated; the tick overwrites it in place."""

    def __init__(self):
        self.valve = False
        self.master = False
        self.state = states.BOOT
        self.alarm = 0
        self.fault = 0
        self.beep = 0
        self.tone_hz = 0
        self.led = False
        self.temp_cc = 0
        self.target_cc = 0
        self.backstop_ms = 0
        self.end_reason = states.END_NONE
        self.applications = 0
        self.duty = 0
        self.healthy = True


class Pen:
    def __init__(self, profile, thermistor_, regulator, now_ms=0, watchdog_reset=False,
                 backstop_failed=False):
        self.profile = profile
        self.thermistor = thermistor_
        self.regulator = regulator
        self.sup = Supervisor(profile, now_ms, watchdog_reset)
        if backstop_failed:  # the boot self-test of the hardware backstop failed
            self.sup.fault |= alarms.F_BACKSTOP
        self.annunciator = signals.Signals()
        self.out = Outputs()
        self.out.target_cc = profile.target_cc
        self.state = states.BOOT
        self.armed = False  # trigger seen released since the last application or refusal
        self.last_ms = now_ms
        self.target_ms = -1  # when the tip first reached target in this application
        self.exceptions = 0
        self._fault_seen = -1
        if self.sup.fault:
            self.state = states.FAULT

    def tick(self, now_ms, raw, trigger, hw_bits):
        try:
            self._step(now_ms, raw, trigger, hw_bits)
        except Exception:  # fail closed, whatever went wrong
            self.fail_closed(now_ms)
        return self.out

    def fail_closed(self, now_ms):
        """Latches the exception fault and closes everything, touching as little as possible."""
        self.exceptions += 1
        out = self.out
        if self.state == states.TREATING:
            out.end_reason = states.END_FAULT
            self.sup.end(now_ms)
        self.state = states.FAULT
        out.valve = False
        out.master = False
        out.backstop_ms = 0
        out.state = states.FAULT
        out.healthy = False
        sup = self.sup
        sup.fault |= alarms.F_EXCEPTION
        sup.commanded(now_ms, False)  # starts the leak check from here, not from an old close
        out.fault = sup.fault
        out.alarm = alarms.worst(sup.fault)

    def reset(self, now_ms):
        """A deliberate reset. In FAULT it clears the latched faults whose condition
        has gone; in DONE it starts a new session. Elsewhere it does nothing, so the
        session's caps are not one press away. The rest after the last application
        still runs either way."""
        if self.state == states.FAULT:
            if not self.sup.clear_faults(now_ms):
                return False
        elif self.state == states.DONE:
            self.sup.new_session()
        else:
            return False
        self.state = states.LOCKOUT
        self.armed = False
        return True

    def _step(self, now_ms, raw, trigger, hw_bits):
        dt = ticks_diff(now_ms, self.last_ms)
        if dt < 0:
            dt = 0
        self.last_ms = now_ms
        sup = self.sup
        status = self.thermistor.read(raw) if raw >= 0 else thermistor.OK
        sup.sense(now_ms, dt, raw, status, self.thermistor.cc, hw_bits)
        sup.check_cooling(now_ms, dt, self.state == states.TREATING)
        if not trigger:
            self.armed = True
        valve = False
        if sup.fault:
            if self.state == states.TREATING:
                self._end(now_ms, states.END_FAULT)
            self.state = states.FAULT
        elif self.state == states.TREATING:
            valve = self._treat(now_ms, dt, trigger)
        elif self.state == states.LOCKOUT:
            if ticks_diff(now_ms, sup.rest_end_ms) >= 0:
                self.state = states.DONE if sup.session_spent() else states.IDLE
        elif self.state == states.BOOT:
            if sup.have_reading and self.armed:
                self.state = states.IDLE
        if self.state == states.IDLE and trigger and self.armed and sup.may_start(now_ms):
            self._start(now_ms)
            valve = self._treat(now_ms, dt, trigger)
        if trigger and self.state != states.TREATING:
            self.armed = False  # a press that did not start must be released before one counts
        self._publish(now_ms, valve)

    def _start(self, now_ms):
        self.state = states.TREATING
        self.sup.start(now_ms)
        self.regulator.reset(self.sup.cc)
        self.target_ms = -1
        self.out.end_reason = states.END_NONE

    def _treat(self, now_ms, dt, trigger):
        sup = self.sup
        reason = sup.cutoff(now_ms)
        if reason == states.END_NONE:
            if not trigger:
                reason = states.END_RELEASED
            elif self._hold_done(now_ms):
                reason = states.END_COMPLETE
        if reason != states.END_NONE:
            self._end(now_ms, reason)
            return False
        return self.regulator.update(dt, sup.cc, self.profile.target_cc)

    def _hold_done(self, now_ms):
        p = self.profile
        if p.hold_ms == 0:
            return False
        if self.target_ms < 0:
            if self.sup.cc > p.target_cc + limits.AT_TARGET_CC:
                return False
            self.target_ms = now_ms
        return ticks_diff(now_ms, self.target_ms) >= p.hold_ms

    def _end(self, now_ms, reason):
        self.out.end_reason = reason
        self.sup.end(now_ms)
        self.armed = False
        if reason == states.END_FAULT:
            return
        self.state = states.DONE if reason == states.END_SESSION else states.LOCKOUT

    def _publish(self, now_ms, valve):
        sup = self.sup
        out = self.out
        open_now = valve and self.state == states.TREATING and sup.fault == 0
        sup.commanded(now_ms, open_now)
        out.valve = open_now
        out.master = self.state == states.TREATING and sup.fault == 0
        out.state = self.state
        out.fault = sup.fault
        out.temp_cc = sup.cc
        out.applications = sup.applications
        out.duty = self.regulator.duty if self.state == states.TREATING else 0
        out.backstop_ms = sup.backstop_ms(now_ms) if open_now else 0
        bits = sup.fault | sup.inhibit
        if bits != self._fault_seen:  # the table walk runs only when conditions change
            self._fault_seen = bits
            out.alarm = alarms.worst(bits)
        out.healthy = True  # the tick ran to its end; only fail_closed() clears this
        self._signal(now_ms)

    def _signal(self, now_ms):
        out = self.out
        app_ms = -1
        left = 0
        if self.state == states.TREATING:
            app_ms = ticks_diff(now_ms, self.sup.app_start_ms)
            left = self.profile.contact_ms - app_ms
            if self.target_ms >= 0:
                hold_left = self.profile.hold_ms - ticks_diff(now_ms, self.target_ms)
                if hold_left < left:
                    left = hold_left
        out.tone_hz = self.annunciator.update(now_ms, alarms.priority(out.alarm), app_ms, left)
        out.beep = self.annunciator.beep
        out.led = signals.led(self.state, now_ms)


class BoardError(ValueError):
    pass


def _board_value(board, name, lo, hi):
    v = getattr(board, name)
    if not lo <= v <= hi:
        raise BoardError("board %s: %s = %s is outside %s..%s" % (board.NAME, name, v, lo, hi))


def check_board(board):
    """Board constants are configuration: outside the limits they are refused."""
    _board_value(board, "VALVE_MIN_ON_MS", limits.VALVE_MIN_PULSE_MS, limits.VALVE_MAX_PULSE_MS)
    _board_value(board, "VALVE_MIN_OFF_MS", limits.VALVE_MIN_PULSE_MS, limits.VALVE_MAX_PULSE_MS)
    _board_value(board, "WDT_MS", limits.WDT_MIN_MS, limits.WDT_MAX_MS)


def build(board, profile, now_ms=0, watchdog_reset=False, backstop_failed=False):
    """A pen wired from a checked board definition and a loaded profile."""
    check_board(board)
    reg = Regulator(board.REG_KP, board.REG_KI, board.REG_FF,
                    board.VALVE_MIN_ON_MS, board.VALVE_MIN_OFF_MS)
    return Pen(profile, thermistor.from_board(board), reg, now_ms, watchdog_reset,
               backstop_failed)
