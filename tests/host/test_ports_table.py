"""docs/PORTS.md is the contract between the HAL, the two ports and their fakes:
the table lists every port call the HAL makes; each call runs on the fake of each
port and does what the cell says (accepted, the exception and message the port
raises, or no such name); and the names, keywords and integer constants agree
with the port stubs (pyproject.toml, [tool.cryopen.stubs]) where those are precise.
Then the fakes' own behaviour that the safety argument rests on: soft and hard
callbacks, waits with interrupts masked, time_pulse_us, the monostable."""
import ast
import re

import pytest

from boards.esp32s3_devkit import board as esp32s3
from boards.rp2040_pico import board as pico
from host_tools.quality.check import stubs_dir
from host_tools.pens.device_files import ROOT
from tests.host import machine_esp32, machine_fake, machine_rp2

DOC = ROOT / "docs" / "PORTS.md"
PORTS = {"rp2": (machine_rp2, pico), "esp32": (machine_esp32, esp32s3)}
VERDICT = re.compile(r"(yes|absent|unused|ValueError|TypeError|OSError)\b(?:\s*`([^`]*)`)?")
CONSTANT = re.compile(r"yes:\s*(-?\d+)")  # a constant's value, the whole cell
STUB_MODULES = ("machine", "time", "micropython")


def table(text):
    """[(call, {port: cell})] from the table between the ports markers."""
    body = text.split("<!-- ports:begin -->", 1)[1].split("<!-- ports:end -->", 1)[0]
    rows = []
    for line in body.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        call = re.fullmatch(r"`([^`]+)`", cells[0])
        assert call and len(cells) == 4, line
        rows.append((call.group(1), {"rp2": cells[1], "esp32": cells[2]}))
    return rows


ROWS = table(DOC.read_text())
CASES = [(call, port, cells[port]) for call, cells in ROWS for port in PORTS]


def namespace(port):
    """A fresh chip of the port, and what a table call may name: the port's fake
    as `machine`, the chip's `time`, `micropython`, `select` and `sys`, the board's
    constants, cb."""
    module, board = PORTS[port]
    chip = module.power_on(board)
    for pin in (board.THERMISTOR_PIN, board.THERMISTOR2_PIN, board.BATTERY_PIN, board.ADC_REF_PIN):
        if pin is not None:
            chip.set_adc(pin, 30000 if port == "rp2" else 1000000)
    names = {k: getattr(board, k) for k in dir(board) if k.isupper()}
    names.update(machine=module, time=chip.clock, micropython=chip.micropython,
                 select=chip.select, sys=chip.sys, cb=lambda timer: None)
    return names


def verdict_problem(port, call, cell):
    """None if the call does on the port's fake what the cell says, else what differs."""
    m = VERDICT.match(cell)
    if m is None:
        return "no verdict in %r" % cell
    verdict, message = m.groups()
    number = CONSTANT.fullmatch(cell)
    if verdict == "unused":
        return None
    try:
        result = eval(call, namespace(port))
    except AttributeError as e:
        return None if verdict == "absent" else "AttributeError: %s" % e
    except (ValueError, TypeError) as e:
        if type(e).__name__ != verdict:
            return "%s: %s" % (type(e).__name__, e)
        if message is not None and str(e) != message:
            return "message %r, not %r" % (str(e), message)
        return None
    except OSError as e:  # the cell's message is the errno number the port raises
        if verdict != "OSError":
            return "OSError: %s" % e
        if message is not None and str(e.args[0]) != message:
            return "errno %s, not %s" % (e.args[0], message)
        return None
    if verdict != "yes":
        return "accepted, not %s" % verdict
    if number is not None and result != int(number.group(1)):
        return "%r, not %s" % (result, number.group(1))
    return None


@pytest.mark.parametrize("call, port, cell", CASES)
def test_each_call_does_on_each_fake_what_the_table_says(call, port, cell):
    assert verdict_problem(port, call, cell) is None


def test_the_table_check_catches_a_wrong_cell():
    hard = "machine.Timer(0).init(mode=machine.Timer.ONE_SHOT, period=5, callback=cb, hard=True)"
    assert verdict_problem("esp32", hard, "yes: hard") == (
        "ValueError: hard Timers are not implemented")
    assert verdict_problem("esp32", hard, "ValueError `hard timers are missing`") is not None
    assert verdict_problem("rp2", "machine.Timer(0)", "yes") is not None
    assert verdict_problem("rp2", "machine.HARD_RESET", "yes: 2") is not None
    assert verdict_problem("esp32", "machine.HARD_RESET", "yes: 3") == "2, not 3"
    assert verdict_problem("rp2", "machine.Timer(-1)", "absent") == "accepted, not absent"
    nothing_there = ('machine.I2C(DISPLAY["i2c"], scl=machine.Pin(DISPLAY["scl"]), '
                     'sda=machine.Pin(DISPLAY["sda"])).writeto(0x3D, b"\\x80\\xae")')
    assert verdict_problem("rp2", nothing_there, "OSError `5`") is None
    assert verdict_problem("esp32", nothing_there, "OSError `5`") == "errno 19, not 5"
    assert verdict_problem("esp32", nothing_there, "yes") == "OSError: 19"


def hal_port_names():
    """Every `machine.NAME`, `micropython.NAME` and time/clock call in the HAL, the boot
    sequence, the display and the host link."""
    names = set()
    for path in ("hal/machine_hal.py", "hal/boot.py", "hal/display.py", "hal/link.py"):
        tree = ast.parse((ROOT / path).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id in STUB_MODULES:
                    names.add(node.value.id + "." + node.attr)
                elif node.value.id == "clock":
                    names.add("time." + node.attr)
            elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                  and node.value.attr == "_clock"):
                names.add("time." + node.attr)
    return names


def test_the_table_lists_every_port_call_the_hal_makes():
    listed = " ".join(call for call, _ in ROWS)
    used = hal_port_names()
    assert {"machine.Timer", "machine.time_pulse_us", "machine.mem32", "time.sleep_ms",
            "micropython.alloc_emergency_exception_buf"} <= used
    assert [n for n in used if n not in listed] == []
    # And the methods the HAL calls on what those return.
    for method in ("value", "read_u16", "read_uv", "duty_u16", "init", "deinit", "feed",
                   "writeto", "writevto"):
        assert "." + method + "(" in listed, method


# --- the stubs -----------------------------------------------------------------------------
def stub_entries(body):
    """name -> ("class", {...}) | ("def", {argument names}) | ("var", annotation, value)."""
    found = {}
    for node in body:
        if isinstance(node, ast.ClassDef):
            found[node.name] = ("class", stub_entries(node.body))
        elif isinstance(node, ast.FunctionDef):
            a = node.args
            args = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
            if a.kwarg is not None:
                args.add("**")
            old = found.get(node.name)
            if old is not None and old[0] == "def":
                args |= old[1]  # the overloads together
            found[node.name] = ("def", args)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            value = node.value.value if isinstance(node.value, ast.Constant) else None
            found[node.target.id] = ("var", ast.unparse(node.annotation), value)
    return found


_STUBS = {}


def stubs(port):
    """The port's stub modules, installed the way `cryopen check` installs them."""
    if port not in _STUBS:
        where = stubs_dir(port)
        _STUBS[port] = {name: stub_entries(ast.parse((where / (name + ".pyi")).read_text()).body)
                        for name in STUB_MODULES}
    return _STUBS[port]


def requirements(call):
    """What a call needs of a port: (module, name), (module, class, attribute) and
    (module, callable, method or None, keyword)."""
    needs = []

    def root(node):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in STUB_MODULES):
            return node.value.id, node.attr
        return None

    for node in ast.walk(ast.parse(call, mode="eval")):
        if root(node):
            needs.append(root(node))
        if isinstance(node, ast.Attribute) and root(node.value):
            needs.append(root(node.value) + (node.attr,))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Call) and root(node.value.func):
            needs.append(root(node.value.func) + (node.attr,))
        if isinstance(node, ast.Call):
            owner = root(node.func)
            method = None
            if owner is None and isinstance(node.func, ast.Attribute) and isinstance(
                    node.func.value, ast.Call):
                owner, method = root(node.func.value.func), node.func.attr
            for kw in node.keywords if owner else ():
                needs.append(owner + (method, kw.arg))
    return needs


def stub_lacks(port, need, strict=False):
    """Why the stub does not have what a call needs, or None if it has it. strict:
    an entry annotated `Incomplete` (the stub not knowing) counts as lacking."""
    entries = stubs(port)[need[0]]
    entry = entries.get(need[1])
    if entry is None or (strict and entry[0] == "var" and entry[1] == "Incomplete"):
        return "no %s.%s" % need[:2]
    if len(need) == 3:
        if entry[0] != "class" or need[2] not in entry[1]:
            return "no %s.%s.%s" % need
    elif len(need) == 4:
        module, name, method, kw = need
        target = entry
        if entry[0] == "class":
            target = entry[1].get(method or "__init__")
            if target is None:
                return "no %s.%s.%s" % (module, name, method)
        if target[0] == "def" and kw not in target[1] and "**" not in target[1]:
            return "%s.%s%s takes no %s=" % (module, name, "." + method if method else "", kw)
    return None


@pytest.mark.parametrize("call, port, cell", CASES)
def test_the_stubs_agree_where_they_are_precise(call, port, cell):
    verdict = VERDICT.match(cell).group(1)
    needs = requirements(call)
    if verdict in ("yes", "unused"):  # the port has what the call uses
        assert [stub_lacks(port, n) for n in needs if stub_lacks(port, n)] == []
    elif verdict == "absent":  # the stub does not claim it
        assert [n for n in needs if stub_lacks(port, n, strict=True)] != []
    number = CONSTANT.fullmatch(cell)
    if number is not None:
        entry = stubs(port)[needs[0][0]][needs[0][1]]
        if entry[1].startswith("Final"):
            assert entry[2] == int(number.group(1))


def final_ints(entries):
    return {k: e[2] for k, e in entries.items()
            if e[0] == "var" and e[1].startswith("Final") and isinstance(e[2], int)}


@pytest.mark.parametrize("port", PORTS)
def test_the_fakes_constants_are_the_stubs(port):
    module = PORTS[port][0]
    machine = stubs(port)["machine"]
    compared = 0
    for name, value in final_ints(machine).items():
        if hasattr(module, name):
            assert getattr(module, name) == value, name
            compared += 1
    for cls in ("Pin", "ADC", "Timer"):
        for name, value in final_ints(machine[cls][1]).items():
            if hasattr(getattr(module, cls), name):
                assert getattr(getattr(module, cls), name) == value, cls + "." + name
                compared += 1
    assert compared >= 8


def test_the_stub_check_catches_a_name_the_port_lacks():
    assert stub_lacks("rp2", ("machine", "ADC", "read_uv")) is not None
    assert stub_lacks("esp32", ("machine", "ADC", "read_uv")) is None
    assert stub_lacks("rp2", ("machine", "Timer", "init", "periodd")) is not None


# --- the fakes' behaviour -------------------------------------------------------------------
def armed(module, timer_id, period_ms, **kwargs):
    seen = []
    timer = module.Timer(timer_id)
    timer.init(mode=module.Timer.ONE_SHOT, period=period_ms,
               callback=lambda t: seen.append(machine_fake.device.t_us), **kwargs)
    return seen


def test_the_esp32_fake_raises_on_hard_timers_exactly_as_the_port_does():
    machine_esp32.power_on(esp32s3)
    for timer_id in (-1, 0, 3):
        with pytest.raises(ValueError) as e:
            armed(machine_esp32, timer_id, 5, hard=True)
        assert str(e.value) == "hard Timers are not implemented"
    with pytest.raises(ValueError, match="^hard Timers are not implemented$"):
        machine_esp32.Timer(0, mode=0, period=5, callback=print, hard=True)
    armed(machine_esp32, 0, 5, hard=False)  # the keyword itself exists


def test_soft_callbacks_run_only_when_the_vm_checks_for_pending_work():
    chip = machine_esp32.power_on(esp32s3)
    seen = armed(machine_esp32, 0, 5)
    chip.clock.hang(20, "c")  # due at 5 ms, but the CPU is inside a C call
    assert seen == [] and len(chip.pending) == 1
    chip.clock.sleep_ms(1)
    assert seen == [20000]
    seen = armed(machine_esp32, 0, 5)
    state = machine_esp32.disable_irq()
    chip.clock.hang(20, "c")
    assert chip.pending == []  # masked: the interrupt itself waits
    machine_esp32.enable_irq(state)
    assert seen == [] and len(chip.pending) == 1  # queued at unmasking
    chip.clock.advance(1)  # Python runs again: the VM runs it
    assert len(seen) == 1


def test_hard_callbacks_run_on_time_unless_interrupts_are_masked():
    chip = machine_rp2.power_on(pico)
    seen = armed(machine_rp2, -1, 5, hard=True)
    chip.clock.hang(20, "c")
    assert seen == [5000]
    seen = armed(machine_rp2, -1, 5, hard=True)
    state = machine_rp2.disable_irq()
    chip.clock.sleep_us(900)
    chip.clock.hang(20, "c")
    assert seen == []
    machine_rp2.enable_irq(state)
    assert seen == [chip.t_us]  # taken the moment interrupts came back


def test_a_full_scheduler_queue_drops_soft_callbacks():
    chip = machine_esp32.power_on(esp32s3)
    seen = []
    timers = [machine_esp32.Timer(-1) for _ in range(machine_fake.SCHED_DEPTH + 2)]
    for t in timers:
        t.init(mode=machine_esp32.Timer.ONE_SHOT, period=5, callback=seen.append)
    chip.clock.hang(10, "c")
    chip.clock.sleep_ms(1)
    assert len(seen) == machine_fake.SCHED_DEPTH and chip.lost == 2


@pytest.mark.parametrize("module, board, us, polls", [
    (machine_rp2, pico, 1000, False), (machine_rp2, pico, 1001, True),
    (machine_esp32, esp32s3, 155, False), (machine_esp32, esp32s3, 156, True)])
def test_sleep_us_runs_pending_callbacks_where_the_port_polls(module, board, us, polls):
    chip = module.power_on(board)
    seen = []
    chip.schedule(seen.append, 1)
    chip.clock.sleep_us(us)
    assert (seen == [1]) is polls


def test_no_port_can_sleep_with_interrupts_masked_but_both_can_wait_in_c():
    for module, board in PORTS.values():
        chip = module.power_on(board)
        state = module.disable_irq()
        with pytest.raises(machine_fake.WouldHang):
            chip.clock.sleep_ms(1)
        if module is machine_rp2:
            with pytest.raises(machine_fake.WouldHang):
                chip.clock.sleep_us(2000)  # through mp_hal_delay_ms
        else:
            chip.clock.sleep_us(2000)  # a busy loop
        chip.clock.sleep_us(900)
        module.time_pulse_us(module.Pin(board.TRIGGER_PIN, module.Pin.IN), 0, 50000)
        module.enable_irq(state)
        assert not chip.irq_masked


def test_time_pulse_us_returns_as_extmod_machine_pulse_does():
    chip = machine_rp2.power_on(pico)
    pin = machine_rp2.Pin(pico.TRIGGER_PIN, machine_rp2.Pin.IN, machine_rp2.Pin.PULL_UP)
    assert machine_rp2.time_pulse_us(pin, 0, 3000) == -2  # the level never came
    chip.at(chip.clock.t + 1, lambda: chip.set_input(pico.TRIGGER_PIN, 0))
    chip.at(chip.clock.t + 5, lambda: chip.set_input(pico.TRIGGER_PIN, 1))
    assert machine_rp2.time_pulse_us(pin, 0, 10000) == 4000  # from the fall to the rise
    chip.at(chip.clock.t + 1, lambda: chip.set_input(pico.TRIGGER_PIN, 0))
    assert machine_rp2.time_pulse_us(pin, 0, 3000) == -1  # it came and never ended


def test_the_monostable_triggers_on_rising_edges_and_is_retriggerable():
    chip = machine_rp2.power_on(pico)
    keepalive = machine_rp2.Pin(pico.KEEPALIVE_PIN, machine_rp2.Pin.OUT, value=0)
    sense = machine_rp2.Pin(pico.ENABLE_SENSE_PIN, machine_rp2.Pin.IN)
    hold = pico.ENABLE_HOLD_MS
    assert sense.value() == 0  # low from power-on
    keepalive.value(1)
    chip.clock.advance(hold - 10)
    keepalive.value(0)  # a falling edge does not re-trigger
    chip.clock.advance(10)
    assert sense.value() == 0
    keepalive.value(1)
    chip.clock.advance(hold - 1)
    keepalive.value(0)
    keepalive.value(1)  # re-triggered before it fell
    chip.clock.advance(hold - 1)
    assert sense.value() == 1
    chip.clock.advance(1)
    assert sense.value() == 0


def test_the_fakes_refuse_what_the_ports_refuse():
    for module, board in PORTS.values():
        module.power_on(board)
        with pytest.raises(TypeError):
            module.Pin(board.LED_PIN, module.Pin.OUT, valu=0)  # a misspelt keyword
        with pytest.raises(AttributeError):
            module.Timer(board.BACKSTOP_TIMER_ID).start()  # no such method
        with pytest.raises(ValueError):
            module.ADC(module.Pin(board.ENABLE_SENSE_PIN))  # no ADC on that pin
        with pytest.raises(ValueError):
            module.Pin(99)
    machine_rp2.power_on(pico)
    with pytest.raises(ValueError):  # rp2's read_u16 never raises: nothing to inject
        machine_fake.device.set_adc(pico.THERMISTOR_PIN, OSError(5))
    with pytest.raises(ValueError):
        machine_rp2.mem32[0x4005801A]  # not aligned
    machine_esp32.power_on(esp32s3)
    with pytest.raises(ValueError, match="Timer period is too short"):
        machine_esp32.Timer(0).init(mode=0, period=0, callback=print)
    with pytest.raises(ValueError):
        machine_esp32.Pin(22)  # no GPIO 22 on the S3
