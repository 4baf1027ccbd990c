"""`cryopen simulate --screens DIR`: the display's frames as PNGs named by their
time, read back and recognised by the state their bar names; and the output
paths it refuses before the simulation runs."""
import os
import re

import numpy as np
import pytest
from matplotlib import image

from firmware import screen, states
from host_tools import cli, paths
from host_tools.sim import screens

TOUR = str(paths.ROOT / "docs" / "screens" / "tour.json")


def bar_pixels(name):
    """The bar as firmware/screen.py draws it for a state, as rows of 0 and 1."""
    buf, fb = screen.new_frame()
    fb.fill_rect(0, 0, screen.WIDTH, 8, 1)
    fb.text(name, 1, 0, 0)
    return screens.pixels(bytes(buf))[:8, :1 + 8 * len(name)]


def state_of(png):
    """The state a frame's bar names, from the PNG as written (each pixel 4 x 4)."""
    img = image.imread(png)
    assert img.shape[:2] == (screen.HEIGHT * screens.SCALE, screen.WIDTH * screens.SCALE)
    pixels = (img[::screens.SCALE, ::screens.SCALE, 0] > 0.5).astype(np.uint8)
    for name in states.STATE_NAMES:
        want = bar_pixels(name)
        if (pixels[:8, :want.shape[1]] == want).all():
            return name
    return None  # no bar: the blank frame the driver's set-up leaves


def test_a_session_leaves_a_png_for_every_state(tmp_path, capsys):
    out = tmp_path / "screens"
    (tmp_path / "screens").mkdir()
    (out / "099.99s.png").write_bytes(b"an earlier run's frame")
    (out / "notes.txt").write_text("kept")
    assert cli.main(["simulate", TOUR, "--screens", str(out)]) == 0
    names = sorted(os.listdir(out))
    assert "notes.txt" in names and "099.99s.png" not in names
    pngs = [n for n in names if n.endswith(".png")]
    assert all(re.fullmatch(r"\d{3}\.\d\ds\.png", n) for n in pngs)
    assert len(pngs) >= 20
    assert "wrote %d screens to %s" % (len(pngs), out) in capsys.readouterr().out
    seen = [state_of(str(out / n)) for n in pngs]
    assert seen[0] is None and None not in seen[1:]
    order = [s for i, s in enumerate(seen) if s and s != seen[i - 1]]
    assert order == ["IDLE", "TREATING", "LOCKOUT", "IDLE", "TREATING", "LOCKOUT", "DONE",
                     "FAULT"]


@pytest.mark.parametrize("where, says", [
    ("file", "is a file: give a folder"),
    ("file/below", "is a file, not a folder"),
])
def test_a_folder_that_cannot_be_one_is_refused_before_the_run(tmp_path, capsys, where, says):
    (tmp_path / "file").write_text("x")
    assert cli.main(["simulate", TOUR, "--screens", str(tmp_path / where)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cryopen simulate: --screens ") and says in err


def test_a_folder_without_write_permission_is_refused(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(str(locked), os.W_OK):
            pytest.skip("running as a user that writes anywhere")
        assert cli.main(["simulate", TOUR, "--screens", str(locked / "frames")]) == 2
        assert "cannot write" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_frame_names_sort_by_time():
    assert screens.name(12340, 30) == "012.34s.png"
    assert screens.name(0, 30) == "000.00s.png"
    assert screens.name(1234560, 3600) == "1234.56s.png"
    assert screens.name(5000, 3600) == "0005.00s.png"
