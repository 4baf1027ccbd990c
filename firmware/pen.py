"""The pen: one object whose tick takes the inputs and returns the outputs.

tick(now_ms, raw, raw2, trigger, hw_bits) -> Outputs, at 100 Hz. raw and raw2
are the two tip sensors' readings scaled to 16 bits, or -1 when no new sample
arrived. hw_bits are the condition bits the HAL reports (F_ADC, F_BACKSTOP,
F_LOW_BATTERY). Nothing here touches hardware, sleeps or allocates: the shell
(firmware/app.py) does the I/O.

Two valves in series: the main valve, which the regulator pulses, and the
second valve, open only while treating. Either closes the gas alone. After each
application, and after a fault is reset, the pen proves both (see _prove).

While treating, the contact estimate (firmware/contact.py) says whether the tip
is on skin: the hold time counts only then, contact lost for NO_CONTACT_MS sounds
no_contact, and an application mostly in air ends as in_air. It never opens a
valve nor moves a limit: the contact time, the session cap and every supervisor
check count everything, in air or not.
"""
from firmware import alarms, limits, signals, states, thermistor
from firmware.app_stats import AppStats
from firmware.compat import const, ticks_add, ticks_diff
from firmware.contact import SPRAY_MIN_CC_PER_S, SPRAY_SLOPE_MAX_PM, Contact
from firmware.gauge import NOMINAL_MAX_MG_PER_S, NOMINAL_MIN_MG_PER_S, SIZES_MG, Gauge
from firmware.regulator import Regulator
from firmware.supervisor import Supervisor

# Valve proving steps, in order: the main valve open alone (proves the second valve
# holds), then the second valve open alone (proves the main valve holds).
_PROVE_NONE = const(0)
_PROVE_WAIT = const(1)
_PROVE_MAIN = const(2)
_PROVE_SECOND = const(3)

# The tip judged off the skin this long, with the trigger held, sounds no_contact.
# The estimate's own filter already spans 0.2 to 1 s; this only keeps a single
# doubtful judgement from sounding. Lift to alarm: 1.5 s at most (tests/host/
# test_contact_sweep.py measures it).
NO_CONTACT_MS = const(150)


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
        self.temp_cc = 0  # the reading the pen acts on: the colder sensor
        self.temp1_cc = 0
        self.temp2_cc = 0
        self.target_cc = 0
        self.backstop_ms = 0
        self.end_reason = states.END_NONE
        self.applications = 0
        self.duty = 0
        self.healthy = True
        self.gas_left_mg = 0  # the cartridge gauge's estimate; -1: not known


class Pen:
    def __init__(self, profile, thermistor_, thermistor2, regulator, now_ms=0,
                 watchdog_reset=False, backstop_failed=False, contact=None):
        self.profile = profile
        self.thermistor = thermistor_
        self.thermistor2 = thermistor2
        self.regulator = regulator
        self.contact = contact if contact is not None else Contact()
        self._clear_contact()
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
        self.stats = AppStats()  # the application in progress or the last one
        self.session = 1
        self.choices = (profile,)  # the enabled profiles the mode button steps through
        self.choice = 0
        self._session_asked = False
        self.gauge = Gauge()  # the cartridge's gas; build() gives the board's
        self.cartridges = 0  # new cartridges declared since power-up (the journal records each)
        self._cartridge_asked = False
        self.low_gas = False  # the gauge says the next application may not finish
        self.ready_cc = 0  # the tip when the pen last became ready (IDLE)
        self.refused_ms = now_ms
        self._refusing = False
        self.exceptions = 0
        self._fault_seen = -1
        self.prove_step = _PROVE_NONE
        self.prove_ms = now_ms  # when the pending or current proving step began
        self.prove_cc = 0  # the reading at the start of the step
        self._prove_main = False
        self._prove_second = False
        if self.sup.fault:
            self.state = states.FAULT

    def tick(self, now_ms, raw, raw2, trigger, hw_bits):
        try:
            self._step(now_ms, raw, raw2, trigger, hw_bits)
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
        self._stop_proving()
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
        """A deliberate reset: it clears the latched faults whose condition has gone,
        and does nothing else (a new session is the mode button's long press). The
        rest after the last application still runs. After a fault both valves are
        proved again before the next application: a leak cannot be judged with them
        closed."""
        if self.state != states.FAULT or not self.sup.clear_faults(now_ms):
            if self.state != states.FAULT:
                self._refuse(now_ms)
            return False
        self._prove_after(now_ms)
        self.state = states.LOCKOUT
        self.armed = False
        return True

    # --- the clinician's choices: the mode button ----------------------------------
    def offer(self, choices, index):
        """The clinic configuration's enabled profiles, in order; index: the one in use,
        announced by its number (firmware/signals.py)."""
        self.choices = choices
        self.choice = index
        self._use(choices[index])
        self.annunciator.announce(index + 1)

    def next_profile(self, now_ms):
        """A short press: the next enabled profile, in IDLE only. A rest already in force
        runs to its end whatever the new profile's rest (it is an absolute time)."""
        if self.state != states.IDLE or len(self.choices) < 2:
            self._refuse(now_ms)
            return False
        self.choice = (self.choice + 1) % len(self.choices)
        self._use(self.choices[self.choice])
        self.annunciator.announce(self.choice + 1)
        return True

    def new_session(self, now_ms):
        """A long press: a new patient, in IDLE or DONE only, never during a rest. It
        takes effect in the next tick, which never starts an application."""
        if self.state != states.IDLE and self.state != states.DONE:
            self._refuse(now_ms)
            return False
        self._session_asked = True
        return True

    def new_cartridge(self, now_ms):
        """Mode held and reset pressed: a new, full cartridge. In IDLE or DONE only,
        with both valves closed (never while proving), since the cartridge comes out
        only then. It takes effect in the next tick, which never starts an application."""
        if ((self.state != states.IDLE and self.state != states.DONE)
                or self.prove_step != _PROVE_NONE):
            self._refuse(now_ms)
            return False
        self._cartridge_asked = True
        return True

    def _use(self, profile):
        self.profile = profile
        self.sup.profile = profile
        self.out.target_cc = profile.target_cc

    def _refuse(self, now_ms):
        """A refused press sounds (signals.BEEP_REFUSED)."""
        self.refused_ms = now_ms
        self._refusing = True

    def _step(self, now_ms, raw, raw2, trigger, hw_bits):
        dt = ticks_diff(now_ms, self.last_ms)
        if dt < 0:
            dt = 0
        self.last_ms = now_ms
        sup = self.sup
        t1 = self.thermistor
        t2 = self.thermistor2
        status = t1.read(raw) if raw >= 0 else thermistor.OK
        status2 = t2.read(raw2) if raw2 >= 0 else thermistor.OK
        sup.sense(now_ms, dt, raw, status, t1.cc, raw2, status2, t2.cc, hw_bits)
        if sup.valve:  # gas flowed since the last tick, as the session's open_ms counts it
            self.gauge.count(dt)
        sup.check_cooling(now_ms, dt, self.state == states.TREATING)
        if not trigger:
            self.armed = True
        valve = False
        was = self.state
        if sup.fault:
            if self.state == states.TREATING:
                self._end(now_ms, states.END_FAULT)
            self.state = states.FAULT
        elif self.state == states.TREATING:
            valve = self._treat(now_ms, dt, trigger)
        elif self.state == states.LOCKOUT:
            if ticks_diff(now_ms, sup.rest_end_ms) >= 0 and self.prove_step == _PROVE_NONE:
                self.state = states.DONE if sup.session_spent() else states.IDLE
        elif self.state == states.BOOT:
            if sup.have_reading and self.armed:
                self.state = states.IDLE
        # An application never starts on the tick the pen becomes IDLE: the shell
        # stores the state ahead of it first (firmware/journal.py).
        if self._session_asked:
            self._session_asked = False
            if self.state == states.IDLE or self.state == states.DONE:
                sup.new_session()
                self.session += 1
                self.state = states.IDLE
                was = states.DONE  # a tick that starts a session starts no application
        fitted = False
        if self._cartridge_asked:
            self._cartridge_asked = False
            if ((self.state == states.IDLE or self.state == states.DONE)
                    and self.prove_step == _PROVE_NONE):
                self.gauge.fitted()
                self.cartridges += 1
                fitted = True  # nor does one that takes a new cartridge: its state is stored first
        if self.state == states.IDLE and was != states.IDLE and was != states.TREATING:
            self.ready_cc = sup.cc  # rested: the baseline stray taps are measured from
        settled = self.state == states.IDLE and was == states.IDLE and not fitted
        if settled and trigger and self.armed and sup.may_start(now_ms):
            self._start(now_ms)
            valve = self._treat(now_ms, dt, trigger)
        if trigger and self.state != states.TREATING and (settled or self.state != states.IDLE):
            if self.armed and (self.state == states.LOCKOUT or self.state == states.DONE):
                self._refuse(now_ms)  # a fresh press that cannot start: say so
            self.armed = False  # a press that did not start must be released before one counts
        if self.prove_step != _PROVE_NONE and (self.state == states.LOCKOUT
                                               or self.state == states.DONE):
            self._prove(now_ms)
        self._publish(now_ms, valve)

    def resume(self, now_ms, session, applications, open_ms):
        """After a power cut: the stored session goes on with its counters, and a full
        rest runs from now (the cut may have come during an application or a rest)."""
        sup = self.sup
        self.session = session
        sup.applications = applications
        sup.open_ms = open_ms
        sup.end(now_ms)
        self._prove_after(now_ms)
        if self.state != states.FAULT:
            self.state = states.LOCKOUT

    def _start(self, now_ms):
        self.state = states.TREATING
        self.sup.start(now_ms)
        self.regulator.reset(self.sup.cc)
        self.stats.start(now_ms, self.sup.cc, self.sup.open_ms)
        self.target_ms = -1
        self.out.end_reason = states.END_NONE
        self.contact.reset(self.sup.cc)
        self._clear_contact()

    def _clear_contact(self):
        """Nothing counted on skin or in air, no alarm: at each start, and in the
        constructor, so that every attribute the tick reads exists from there on."""
        self.held_ms = 0  # hold time counted: at or past target, and on skin
        self.air_ms = 0  # time judged in air, since target (or the start, short of it)
        self.air_run_ms = 0  # the current spell in air
        self.no_contact = False  # the no_contact alarm: in air for NO_CONTACT_MS

    def _treat(self, now_ms, dt, trigger):
        sup = self.sup
        self._judge_contact(dt)
        reason = sup.cutoff(now_ms)
        if reason == states.END_NONE:
            if not trigger:
                reason = states.END_RELEASED
            elif self._hold_done(now_ms, dt):
                reason = states.END_COMPLETE
        self.stats.update(dt, sup.cc, self.profile.target_cc, sup.open_ms)
        if reason != states.END_NONE:
            self._end(now_ms, reason)
            return False
        return self.regulator.update(dt, sup.cc, self.profile.target_cc)

    def _judge_contact(self, dt):
        """The contact estimate for this tick (gas flowed in it if the main valve was
        commanded open: the second valve is open throughout treating), and the time
        in air it adds up to."""
        on_skin = self.contact.update(dt, self.sup.cc, self.sup.valve)
        if on_skin:
            self.air_run_ms = 0
            self.no_contact = False
            return
        self.air_ms += dt
        self.air_run_ms += dt
        if self.air_run_ms >= NO_CONTACT_MS:
            self.no_contact = True

    def _hold_done(self, now_ms, dt):
        """The hold counts from reaching target, and only while on skin: a lift pauses
        it. Pausing never lengthens the application past its contact limit."""
        if self.target_ms < 0:
            if self.sup.cc > self.profile.target_cc + limits.AT_TARGET_CC:
                return False
            self.target_ms = now_ms
            self.air_ms = 0  # from here on, the hold's time in air
        elif self.contact.on_skin:
            self.held_ms += dt
        hold = self.profile.hold_ms
        return hold != 0 and self.held_ms >= hold

    def left_ms(self, now_ms):
        """While treating: the sooner of the contact limit and the hold's end (the hold
        paused in air); what the near-end beeps and the display count down."""
        p = self.profile
        left = p.contact_ms - ticks_diff(now_ms, self.sup.app_start_ms)
        if p.hold_ms and self.target_ms >= 0:
            hold_left = p.hold_ms - self.held_ms
            if hold_left < left:
                left = hold_left
        return left

    def _mostly_in_air(self, now_ms):
        """More than half the hold (the application, if it never reached target) was
        judged in air."""
        since = self.target_ms if self.target_ms >= 0 else self.sup.app_start_ms
        return 2 * self.air_ms > ticks_diff(now_ms, since)

    def _end(self, now_ms, reason):
        self.armed = False
        if reason == states.END_RELEASED and self._stray_tap(now_ms):
            # It cooled nothing: no rest owed, not one of the session's applications;
            # its valve-open time still counts (docs/DESIGN.md, "Stray taps").
            self.out.end_reason = states.END_TAP
            self.sup.applications -= 1
            self.state = states.IDLE
            return
        self.out.end_reason = reason
        self.sup.end(now_ms)
        if reason == states.END_FAULT:
            return
        self.state = states.DONE if reason == states.END_SESSION else states.LOCKOUT
        self._prove_after(now_ms)
        # The reason recorded, not the state that follows: an application mostly in
        # air treated nothing, whichever limit or release ended it. A complete hold
        # was counted on skin, and stays complete.
        if reason != states.END_COMPLETE and self._mostly_in_air(now_ms):
            self.out.end_reason = states.END_IN_AIR

    def _stray_tap(self, now_ms):
        """Short, and the tip never STRAY_DROP_CC below where it was when the pen
        became ready: measured from there, not from the tap's own start, so that taps
        in a row cannot add up to a freeze that owes no rest."""
        st = self.stats
        return (ticks_diff(now_ms, st.start_ms) < limits.STRAY_TAP_MS
                and st.min_cc > self.ready_cc - limits.STRAY_DROP_CC)

    # --- valve proving ------------------------------------------------------------
    def _prove_after(self, now_ms):
        """Schedules the proving once the still-cooling window has passed."""
        self._stop_proving()
        self.prove_step = _PROVE_WAIT
        self.prove_ms = ticks_add(now_ms, limits.PROVE_AFTER_MS)

    def _stop_proving(self):
        self.prove_step = _PROVE_NONE
        self._prove_main = False
        self._prove_second = False

    def _prove(self, now_ms):
        """Double block: each valve opened alone for PROVE_OPEN_MS while the other
        holds; the tip must not cool by PROVE_DROP_CC within PROVE_STEP_MS. Gas flows
        only through a valve that leaks, and then for PROVE_OPEN_MS at most."""
        sup = self.sup
        step = self.prove_step
        since = ticks_diff(now_ms, self.prove_ms)
        if step == _PROVE_WAIT:
            if since < 0:
                return
            step = _PROVE_MAIN
            since = 0
            self.prove_ms = now_ms
            self.prove_cc = sup.cc
        elif sup.cc < self.prove_cc - limits.PROVE_DROP_CC:
            # Cooling with one valve open alone: the other one leaks.
            sup.fault |= alarms.F_MASTER_LEAK if step == _PROVE_MAIN else alarms.F_STILL_COOLING
            self._stop_proving()
            return
        elif since >= limits.PROVE_STEP_MS:
            if step == _PROVE_SECOND:
                self._stop_proving()
                return
            step = _PROVE_SECOND
            since = 0
            self.prove_ms = now_ms
            self.prove_cc = sup.cc
        self.prove_step = step
        opening = since < limits.PROVE_OPEN_MS
        self._prove_main = opening and step == _PROVE_MAIN
        self._prove_second = opening and step == _PROVE_SECOND

    def _publish(self, now_ms, valve):
        sup = self.sup
        out = self.out
        healthy = sup.fault == 0
        open_now = valve and self.state == states.TREATING and healthy
        sup.commanded(now_ms, open_now)  # the session and leak checks count treatment only
        proving = self.prove_step != _PROVE_NONE and healthy
        out.valve = open_now or (proving and self._prove_main)
        out.master = (self.state == states.TREATING and healthy) or (proving and self._prove_second)
        out.state = self.state
        out.fault = sup.fault
        out.temp_cc = sup.cc
        out.temp1_cc = sup.s1.cc
        out.temp2_cc = sup.s2.cc
        out.applications = sup.applications
        out.duty = self.regulator.duty if self.state == states.TREATING else 0
        if open_now:
            out.backstop_ms = sup.backstop_ms(now_ms)
        elif out.valve:  # a proving step
            out.backstop_ms = limits.PROVE_OPEN_MS + limits.BACKSTOP_MARGIN_MS
        else:
            out.backstop_ms = 0
        self.low_gas = self._gas_low()
        out.gas_left_mg = self.gauge.left_mg()
        bits = sup.fault | sup.inhibit
        if self.low_gas:
            bits |= alarms.F_LOW_GAS
        if self.no_contact and self.state == states.TREATING:  # the flag outlives treating
            bits |= alarms.F_NO_CONTACT
        if bits != self._fault_seen:  # the table walk runs only when conditions change
            self._fault_seen = bits
            out.alarm = alarms.worst(bits)
        out.healthy = True  # the tick ran to its end; only fail_closed() clears this
        self._signal(now_ms)

    def _gas_low(self):
        """Before an application, never during one (its clicks time the freeze): whether
        the next one, with the valve open for its whole contact time (or what is left of
        the session) at the highest flow, may run the cartridge dry. It only warns: the
        valves never depend on it, and no_cooling still catches a cartridge that is empty."""
        if self.state == states.TREATING:
            return False
        p = self.profile
        need = p.session_ms - self.sup.open_ms
        if need > p.contact_ms:
            need = p.contact_ms
        if need < 0:
            need = 0
        return not self.gauge.can_finish(need)

    def _signal(self, now_ms):
        out = self.out
        app_ms = -1
        left = 0
        if self.state == states.TREATING:
            app_ms = ticks_diff(now_ms, self.sup.app_start_ms)
            left = self.left_ms(now_ms)
        refused = -1
        if self._refusing:
            refused = ticks_diff(now_ms, self.refused_ms)
            if refused >= signals.REFUSED_MS:
                self._refusing = False
                refused = -1
        out.tone_hz = self.annunciator.update(now_ms, alarms.priority(out.alarm), app_ms, left,
                                              refused)
        out.beep = self.annunciator.beep
        out.led = self.annunciator.led(self.state, now_ms)


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
    if board.CARTRIDGE_MG not in SIZES_MG:
        raise BoardError("board %s: CARTRIDGE_MG = %s is not one of %s"
                         % (board.NAME, board.CARTRIDGE_MG, SIZES_MG))
    _board_value(board, "NOMINAL_FLOW_MG_PER_S", NOMINAL_MIN_MG_PER_S, NOMINAL_MAX_MG_PER_S)
    nominal = board.NOMINAL_FLOW_MG_PER_S
    _board_value(board, "FLOW_MAX_MG_PER_S", nominal, 2 * nominal)
    _board_value(board, "SPRAY_CC_PER_S", SPRAY_MIN_CC_PER_S, limits.MAX_COOL_CC_PER_S)
    _board_value(board, "SPRAY_SLOPE_PM", 0, SPRAY_SLOPE_MAX_PM)


def build(board, profile, now_ms=0, watchdog_reset=False, backstop_failed=False,
          calibration=None):
    """A pen wired from a checked board definition and a loaded profile. calibration:
    the tip sensors' checked curves (firmware/calibration.py), None for the board's."""
    check_board(board)
    reg = Regulator(board.REG_KP, board.REG_KI, board.REG_FF,
                    board.VALVE_MIN_ON_MS, board.VALVE_MIN_OFF_MS)
    estimator = Contact(board.SPRAY_CC_PER_S, board.SPRAY_SLOPE_PM)
    m1 = m2 = None
    if calibration is not None:
        m1, m2 = calibration.model(0), calibration.model(1)
    the_pen = Pen(profile, thermistor.from_board(board, False, m1),
                  thermistor.from_board(board, True, m2), reg, now_ms, watchdog_reset,
                  backstop_failed, estimator)
    the_pen.gauge = Gauge(board.CARTRIDGE_MG, board.NOMINAL_FLOW_MG_PER_S,
                          board.FLOW_MAX_MG_PER_S)
    return the_pen
