"""Pen states and the reasons an application ends. Integers on the device;
the names are for traces, logs and the display."""
from firmware.compat import const

BOOT = const(0)  # valve closed, waiting for a first good reading and a released trigger
IDLE = const(1)
TREATING = const(2)
LOCKOUT = const(3)  # rest or thaw after an application
FAULT = const(4)  # latched; leaves only on a deliberate reset
DONE = const(5)  # session complete or session cap spent; leaves on a new session

STATE_NAMES = ("BOOT", "IDLE", "TREATING", "LOCKOUT", "FAULT", "DONE")

END_NONE = const(0)
END_RELEASED = const(1)  # trigger released by the clinician
END_COMPLETE = const(2)  # the profile's hold time at target has run
END_CONTACT = const(3)  # hard contact-time cutoff
END_SESSION = const(4)  # session cap on valve-open time spent
END_FAULT = const(5)
END_TAP = const(6)  # released before the tip cooled: a stray tap, no application
END_IN_AIR = const(7)  # most of the hold judged off the skin (firmware/contact.py)

END_NAMES = ("", "released", "complete", "contact_limit", "session_cap", "fault", "tap",
             "in_air")
