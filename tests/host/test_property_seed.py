"""The valve-invariant property test (tests/host/test_valve_invariants.py) searches
anew every run: a fresh seed each time, printed, replayable, and a database that
keeps failing sequences and tries them first."""
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from firmware import pen as pen_mod, states
from tests.host import test_valve_invariants as prop

ROOT = prop.ROOT


def _seed_of_a_run(**env):
    run_env = {k: v for k, v in os.environ.items() if k != "CRYOPEN_SEED"}
    run_env.update(env)
    done = subprocess.run([sys.executable, "-c", "import tests.host.test_valve_invariants as m; "
                           "print(m.SEED)"], cwd=ROOT, env=run_env, capture_output=True,
                          text=True, timeout=60, check=True)
    return int(done.stdout)


def test_two_runs_draw_from_different_seeds():
    assert _seed_of_a_run() != _seed_of_a_run()


def test_a_seed_given_in_the_environment_is_the_run_seed():
    assert _seed_of_a_run(CRYOPEN_SEED="1234") == 1234


def test_the_property_test_is_seeded_by_the_run_seed_and_keeps_its_failures():
    used = prop._sequences._hypothesis_internal_use_settings
    assert not used.derandomize
    assert used.max_examples == prop.EXAMPLES
    assert prop._sequences._hypothesis_internal_use_seed == prop.SEED
    assert isinstance(used.database, DirectoryBasedExampleDatabase)
    assert os.path.dirname(prop.DATABASE) == os.path.join(ROOT, ".hypothesis")
    with open(os.path.join(ROOT, ".gitignore")) as f:
        assert ".hypothesis/" in f.read().split()


def _draws(run_seed, n=25):
    seen = []

    @seed(run_seed)
    @settings(max_examples=n, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(**prop.SEQUENCE)
    def draw(prof, codes, rate, start, watchdog):
        seen.append((sorted(vars(prof).items()), codes, rate, start, watchdog))

    draw()
    return seen


def test_the_same_seed_draws_the_same_sequences_and_another_seed_others():
    assert _draws(1234) == _draws(1234)
    assert _draws(1234) != _draws(4321)


def test_a_failing_sequence_is_kept_and_tried_first_in_the_next_run(tmp_path, monkeypatch):
    """A pen broken on purpose (both valves open in FAULT): the run finds it and keeps
    the sequence; the next run, from another seed, fails on its very first sequence."""
    real_tick = pen_mod.Pen.tick

    def broken(self, *args):
        out = real_tick(self, *args)
        if out.state == states.FAULT:
            out.valve = out.master = True
        return out

    monkeypatch.setattr(pen_mod.Pen, "tick", broken)
    database = DirectoryBasedExampleDatabase(str(tmp_path))
    calls = []
    first_failure = []

    def counted(prof, codes, rate, start, watchdog):
        calls.append(1)
        try:
            prop.check_sequence(prof, codes, rate, start, watchdog)
        except AssertionError:
            if not first_failure:
                first_failure.append(len(calls))
            raise

    def run(run_seed):
        calls.clear()
        first_failure.clear()
        test = settings(prop.SETTINGS, database=database, max_examples=3000,
                        phases=[Phase.reuse, Phase.generate])(
            seed(run_seed)(given(**prop.SEQUENCE)(counted)))
        with pytest.raises(AssertionError):
            test()
        return first_failure[0]

    run(1)
    assert any(p.is_file() for p in tmp_path.rglob("*")), "nothing kept"
    assert run(2) == 1
