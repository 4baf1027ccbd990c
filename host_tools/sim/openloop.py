"""The open-loop baseline: a commercial N2O pen, valve open while the trigger is
held, no temperature feedback (SOURCES.md: the clinician times the freeze by eye).
It has the pen's tick interface so that it runs through the same App, HAL fake and
physical model as the firmware, for a like-for-like comparison."""
from firmware import pen as pen_mod, states, thermistor


class OpenLoopPen:
    def __init__(self, profile, thermistor_):
        self.profile = profile
        self.thermistor = thermistor_
        self.out = pen_mod.Outputs()
        self.out.target_cc = profile.target_cc
        self.out.state = states.IDLE
        self.exceptions = 0
        self.applications = 0
        self.session = 1  # one session: a commercial pen keeps no count
        self.out.gas_left_mg = -1  # nor a gauge

    def tick(self, now_ms, raw, raw2, trigger, hw_bits):
        out = self.out
        if raw >= 0 and self.thermistor.read(raw) == 0:
            out.temp_cc = out.temp1_cc = out.temp2_cc = self.thermistor.cc  # one sensor
        if trigger and out.state != states.TREATING:
            self.applications += 1
        elif not trigger and out.state == states.TREATING:
            out.end_reason = states.END_RELEASED
        out.state = states.TREATING if trigger else states.IDLE
        out.valve = out.master = trigger
        out.applications = self.applications
        out.duty = 1000 if trigger else 0
        out.backstop_ms = 3600000  # no backstop in a commercial pen
        return out

    def reset(self, now_ms):
        return True

    def new_cartridge(self, now_ms):
        return False

    def fail_closed(self, now_ms):
        self.exceptions += 1
        self.out.valve = self.out.master = False


def build(board, profile, now_ms=0, watchdog_reset=False):
    """Same signature as firmware.pen.build, for simulator.Simulation(make_pen=...)."""
    return OpenLoopPen(profile, thermistor.from_board(board))
