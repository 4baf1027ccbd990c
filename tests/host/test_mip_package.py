"""Each real board's package.json (mip) is the deploy file list, and up to date."""
import os

import pytest

from host_tools.pens import mip_package
from host_tools.pens.device_files import device_files

BOARDS = ("rp2040_pico", "esp32s3_devkit")


@pytest.mark.parametrize("name", BOARDS)
def test_package_json_is_current(name):
    with open(mip_package.path(name)) as f:
        assert f.read() == mip_package.text(name)


@pytest.mark.parametrize("name", BOARDS)
def test_every_url_points_at_a_deployed_file(name):
    board_dir = os.path.dirname(mip_package.path(name))
    urls = mip_package.package(name)["urls"]
    assert [dst for dst, _ in urls] == [dst for _, dst in device_files(name)]
    assert all(os.path.isfile(os.path.join(board_dir, src)) for _, src in urls)


@pytest.mark.parametrize("name", BOARDS)
def test_a_board_with_a_display_brings_its_driver(name):
    assert mip_package.package(name)["deps"] == [["ssd1306", "0.1.0"]]
