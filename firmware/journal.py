"""What the pen must write down, decided from its outputs after each tick: the
treatment record's entries and the state that survives a power cut. Pure: it
queues encoded records and state snapshots; the shell (firmware/app.py) writes
them through hal/storage.py between ticks, only while both valves are closed.

The state is written ahead of what it protects. Whenever the pen could start an
application before the next write (it is IDLE), the stored state counts one
application and one full contact time more than have happened ("armed"). A power
cut during that application therefore finds it counted; one during IDLE costs
one application of the session's cap. Either way the pen rests a full rest after
the boot (Pen.resume). Entering IDLE is never the tick an application starts on
(firmware/pen.py), so the write lands first.
"""
from firmware import record, states, store
from firmware.compat import ticks_diff

QUEUE_MAX = 8  # more events than this between two closed-valve iterations cannot happen

# Queue entries: (what, payload)
RECORD = 1
STATE = 2


class Journal:
    def __init__(self, boot_count, session, flow_mg_per_s, wall_offset_s=0):
        self.boot_count = boot_count
        self.flow_mg_per_s = flow_mg_per_s  # the board's nominal flow: the gas estimate
        self.wall_offset_s = wall_offset_s  # wall time = ms since boot / 1000 + this; 0 unknown
        self.queue = []
        self.lost = 0  # entries dropped because the queue was full (never expected)
        self._state = states.BOOT
        self._fault = 0
        self._session = session
        self._cartridges = 0  # the pen's count of new cartridges since power-up
        self._seq = 0

    def _wall(self, t_ms):
        return t_ms // 1000 + self.wall_offset_s if self.wall_offset_s else 0

    def _put(self, what, payload):
        if what == STATE:
            # A state supersedes any still queued and goes first: the armed state must
            # reach flash in the shell's pause right after the tick that queued it.
            for i in range(len(self.queue) - 1, -1, -1):
                if self.queue[i][0] == STATE:
                    del self.queue[i]
            self.queue.insert(0, (what, payload))
            return
        if len(self.queue) >= QUEUE_MAX:
            self.lost += 1
            return
        self.queue.append((what, payload))

    def _record(self, kind, t_ms, values):
        self._put(RECORD, record.encode(kind, self.boot_count, t_ms, self._wall(t_ms), values))

    def boot(self, now_ms, cause, cold_start, assumed, pen):
        """assumed: the stored state was armed, so the count includes an application
        that the power cut may have interrupted (or that never began)."""
        self._record(record.BOOT, now_ms, (cause, 1 if cold_start else 0, pen.session,
                                           pen.sup.applications, 1 if assumed else 0))
        self._snapshot(pen, armed=False)

    def change(self, now_ms, what, detail):
        """A change record (record.CHANGE_*), for changes made outside the tick: the
        clinic configuration written (firmware/startup.py)."""
        self._record(record.CHANGE, now_ms, (what, detail))

    def _snapshot(self, pen, armed):
        sup = pen.sup
        p = pen.profile
        apps = sup.applications
        open_ms = sup.open_ms
        if armed:
            apps += 1
            open_ms += p.contact_ms
        # The cartridge's count is stored as it is, never ahead: a pen switched off in
        # IDLE would otherwise lose a contact time of gas from its gauge at every power-up.
        self._put(STATE, store.State(self.boot_count, 0, pen.session, apps, armed, open_ms,
                                     p.rest_ms, p.name, pen.gauge.open_ms))

    def observe(self, now_ms, pen, out):
        """Called after each tick; allocates only when something happened."""
        state = out.state
        if state != self._state:
            was = self._state
            self._state = state
            if was == states.TREATING:
                self._application(pen, out)
                self._snapshot(pen, armed=False)
            if state == states.IDLE:
                self._snapshot(pen, armed=True)
        if pen.session != self._session:
            self._session = pen.session
            self._record(record.SESSION, now_ms, (pen.session, pen.profile.name))
            self._snapshot(pen, armed=state == states.IDLE)
        if pen.cartridges != self._cartridges:  # never on a tick that started an application
            self._cartridges = pen.cartridges
            self._record(record.CHANGE, now_ms, (record.CHANGE_CARTRIDGE,
                                                 "%d mg" % pen.gauge.size_mg))
            self._snapshot(pen, armed=state == states.IDLE)
        if out.fault != self._fault:
            latched = out.fault & ~self._fault
            cleared = self._fault & ~out.fault
            self._fault = out.fault
            self._record(record.FAULT, now_ms, (latched, cleared, state))

    def _application(self, pen, out):
        st = pen.stats
        self._record(record.APPLICATION, st.start_ms, (
            pen.session, pen.sup.applications, out.end_reason, pen.profile.name,
            ticks_diff(pen.last_ms, st.start_ms), st.min_cc, st.mean_cc(), st.at_target_ms,
            st.open_ms, st.open_ms * self.flow_mg_per_s // 1000))
