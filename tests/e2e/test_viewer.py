"""The shipped default (config/sipi.config.lua, images/, server/) shown in OpenSeadragon by a
real headless Chromium: the page loads, fetches info.json and tiles, and draws the image."""
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import SIPI_BIN, free_port
from imgutil import decode

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHROMIUM = shutil.which("chromium")


@pytest.fixture()
def default_server():
    port = free_port()
    log_path = tempfile.mktemp(prefix="sipi-viewer-", suffix=".log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen([SIPI_BIN, "server", "--config", "config/sipi.config.lua", "--serverport", str(port),
                                 "--bind", "127.0.0.1"], cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    import socket
    import time
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port, log_path
    proc.terminate()
    proc.wait(timeout=15)
    os.remove(log_path)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is installed by ./dev test (scripts/setup.sh --test)")
@pytest.mark.parametrize("sample,index", [("samples/fractal.tif", 0), ("samples/chart.jp2", 1)])
def test_openseadragon_shows_sample(default_server, tmp_path, sample, index):
    port, log_path = default_server
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,800",
                    "--virtual-time-budget=15000", f"--screenshot={shot}",
                    f"http://127.0.0.1:{port}/server/?i={index}"],
                   capture_output=True, timeout=120)
    log = open(log_path).read()
    assert f'"path":"/{sample}/info.json","status":200' in log
    tiles = [l for l in log.splitlines() if f'"path":"/{sample}/' in l and "default.jpg" in l]
    assert tiles and all('"status":200' in l for l in tiles), tiles[:3]
    img = decode(shot.read_bytes()).convert("RGB")
    # The viewer is the dark box right of the sample list; count pixels that are neither its
    # #111 background nor the page's near-white: the drawn image.
    box = img.crop((340, 100, 1180, 700))
    drawn = sum(1 for p in box.getdata() if max(p) > 40 and min(p) < 235)
    assert drawn > 0.3 * box.width * box.height, drawn
