"""The Debian package, installed the way DSP's image build and an operator install it.

Builds the .deb (scripts/package.sh), makes a minimal Debian 12 root with debootstrap (kept in
<build>/deb-chroot/base between runs, copied afresh for each run), and inside it, in a private
mount namespace: `apt-get install ./sipi_*.deb` (dependencies resolved from the package's own
Depends, from the Debian mirror the host uses), `sipi --version` via /usr/bin and /sbin, a
lossless `sipi convert` whose pixels are compared with the source on the host, the shipped
/etc/sipi configuration served on a loopback port, and `apt-get purge`.

Needs root, debootstrap and unshare (scripts/setup.sh --test installs debootstrap); ./dev test
runs it as root. Network: the Debian mirror only (the host's apt cache is reused).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import numpy as np
import pytest
from PIL import Image

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(os.environ.get("BUILD_DIR", os.path.join(REPO, "build")))
SIPI_BIN = os.path.join(BUILD, "sipi")
MIRROR = "http://deb.debian.org/debian"
SOURCES = f"""deb {MIRROR} bookworm main
deb {MIRROR} bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
"""

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("debootstrap") or not shutil.which("unshare"),
    reason="needs root, debootstrap and unshare (./dev test runs as root on Debian 12)")


def run(cmd, timeout=600, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    assert r.returncode == 0, f"{cmd}\nstdout: {r.stdout[-3000:]}\nstderr: {r.stderr[-3000:]}"
    return r.stdout


class Chroot:
    """A Debian 12 root; commands run in a private mount namespace with /proc mounted and the
    host's apt archive cache bound over the root's, so nothing is mounted on the host."""

    def __init__(self, root):
        self.root = root

    def sh(self, script, timeout=600, check=True, background=False):
        r = self.root
        inner = ("mount -t proc proc {r}/proc && mount --bind /dev {r}/dev && "
                 "mount --bind /var/cache/apt/archives {r}/var/cache/apt/archives && "
                 "exec chroot {r} /bin/sh -c \"$0\"").format(r=r)
        cmd = ["unshare", "--mount", "--fork", "/bin/sh", "-c", inner, script]
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
               "LANG": "C.UTF-8"}
        if background:
            return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, start_new_session=True)
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        if check:
            assert p.returncode == 0, f"{script}\nstdout: {p.stdout[-3000:]}\nstderr: {p.stderr[-3000:]}"
        return p

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))


@pytest.fixture(scope="module")
def deb():
    out = run(["bash", os.path.join(REPO, "scripts", "package.sh"), BUILD], timeout=900).split()
    assert len(out) == 1 and out[0].endswith("_amd64.deb"), out
    return out[0]


@pytest.fixture(scope="module")
def chroot(tmp_path_factory):
    base = os.path.join(BUILD, "deb-chroot", "base")
    if not os.path.exists(os.path.join(base, ".complete")):
        shutil.rmtree(base, ignore_errors=True)
        os.makedirs(os.path.dirname(base), exist_ok=True)
        run(["debootstrap", "--variant=minbase", "--cache-dir=/var/cache/apt/archives",
             "bookworm", base, MIRROR], timeout=900)
        with open(os.path.join(base, "etc", "apt", "sources.list"), "w") as f:
            f.write(SOURCES)
        open(os.path.join(base, ".complete"), "w").close()
    root = str(tmp_path_factory.mktemp("deb") / "root")
    run(["cp", "-a", base, root])
    shutil.copy("/etc/resolv.conf", os.path.join(root, "etc", "resolv.conf"))
    yield Chroot(root)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def installed(deb, chroot):
    shutil.copy(deb, chroot.path("/tmp/"))
    name = os.path.basename(deb)
    chroot.sh(f"apt-get update -qq && apt-get install -y -qq --no-install-recommends /tmp/{name}",
              timeout=900)
    return chroot


def test_control_declares_runtime_dependencies(deb):
    depends = run(["dpkg-deb", "-f", deb, "Depends"])
    # From dpkg-shlibdeps over what the binary links, plus the CA bundle server.http() verifies with.
    for lib in ("libvips42", "libopenjp2-7", "libtiff6", "libexiv2-27", "liblcms2-2",
                "liblua5.4-0", "libcairo2", "libcurl4", "libsqlite3-0", "ca-certificates"):
        assert lib in depends, (lib, depends)
    assert run(["dpkg-deb", "-f", deb, "Package", "Architecture"]).split() == \
        ["Package:", "sipi", "Architecture:", "amd64"]


def test_version_from_both_paths(installed):
    want = run([SIPI_BIN, "--version"]).strip()
    assert want.startswith("sipi ")
    assert installed.sh("sipi --version").stdout.strip() == want
    # DSP's images and probes call /sbin/sipi (/sbin is /usr/sbin on Debian 12).
    assert installed.sh("/sbin/sipi --version").stdout.strip() == want
    assert os.readlink(installed.path("/usr/sbin/sipi")) == "../bin/sipi"


def test_installed_files_and_conffile(installed):
    for p in ("/usr/lib/systemd/system/sipi.service", "/etc/sipi/sipi.config.lua",
              "/usr/share/doc/sipi/operator-guide.md", "/usr/share/doc/sipi/user-guide.md",
              "/usr/share/doc/sipi/copyright", "/srv/sipi/images"):
        assert os.path.exists(installed.path(p)), p
    unit = open(installed.path("/usr/lib/systemd/system/sipi.service")).read()
    assert "ExecStart=/usr/bin/sipi server --config /etc/sipi/sipi.config.lua" in unit
    assert "/usr/local" not in unit
    status = installed.sh("dpkg-query -W -f='${Status}|${Conffiles}' sipi").stdout
    assert status.startswith("install ok installed|"), status
    assert "/etc/sipi/sipi.config.lua" in status


def test_convert_inside_the_chroot_is_lossless(installed):
    rng = np.random.default_rng(7)
    src = rng.integers(0, 256, size=(300, 410, 3), dtype=np.uint8)
    Image.fromarray(src).save(installed.path("/tmp/in.tif"))
    out = installed.sh("sipi convert /tmp/in.tif /tmp/out.jp2 --json --format jpx").stdout
    report = json.loads(out)
    assert report["status"] == "ok" and report["output_format"] == "jpx", report
    assert (report["image"]["width"], report["image"]["height"]) == (410, 300)
    # Decoded on the host by another program (libvips' OpenJPEG loader): exact.
    png = os.path.join(os.path.dirname(installed.root), "out.png")
    run(["vips", "copy", installed.path("/tmp/out.jp2"), png])
    assert np.array_equal(np.asarray(Image.open(png).convert("RGB")), src)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_shipped_config_serves_images(installed):
    Image.new("RGB", (640, 480), (200, 30, 60)).save(installed.path("/srv/sipi/images/red.tif"))
    port = free_port()
    proc = installed.sh(f"SIPI_SERVERPORT={port} SIPI_BIND_ADDRESS=127.0.0.1 "
                        "SIPI_CACHE_DIR=/var/cache/sipi "
                        "exec sipi server --config /etc/sipi/sipi.config.lua", background=True)
    try:
        deadline, info = time.time() + 30, None
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/red.tif/info.json", timeout=5) as r:
                    info = json.load(r)
                break
            except OSError:
                time.sleep(0.2)
        assert info is not None, proc.stdout.read() if proc.poll() is not None else "no answer in 30 s"
        assert (info["width"], info["height"]) == (640, 480)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/red.tif/full/64,/0/default.png", timeout=10) as r:
            img = Image.open(r).convert("RGB")
        assert img.size == (64, 48) and img.getpixel((10, 10)) == (200, 30, 60)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=40) == 0


def test_purge_removes_package_files(installed):
    installed.sh("apt-get purge -y -qq sipi")
    for p in ("/usr/bin/sipi", "/usr/sbin/sipi", "/etc/sipi/sipi.config.lua",
              "/usr/lib/systemd/system/sipi.service", "/var/cache/sipi"):
        assert not os.path.lexists(installed.path(p)), p
    # The images are the archive's: never removed with the package.
    assert os.path.exists(installed.path("/srv/sipi/images/red.tif"))
