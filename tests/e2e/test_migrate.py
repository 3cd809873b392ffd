"""`sipi convert --recursive SRC DST`: a directory tree of masters converted to HTJ2K side by side
(the archive migration), exact where lossless (read back with OpenJPEG's opj_decompress, not with
sipi), one JSON line per file, a damaged file reported without stopping the others, resumed by
running again (finished outputs skipped, changed sources redone), and bad arguments refused in
one line."""
import json
import os
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import SIPI_BIN


def sipi(*args, cwd=None):
    return subprocess.run([SIPI_BIN, *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd)


def picture(h, w, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * 3 + y) % 256, (x * y // 31) % 256, (2 * x + 5 * y) % 256], axis=-1)
    return np.clip(base + rng.integers(-15, 16, base.shape), 0, 255).astype(np.uint8)


def opj_pixels(path, tmp):
    """The pixels of a JPEG 2000 file as OpenJPEG decodes them (independent of sipi)."""
    out = tmp / (path.name + ".ppm")
    subprocess.run(["opj_decompress", "-i", str(path), "-o", str(out)], check=True, capture_output=True)
    return np.asarray(Image.open(out))


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / "masters"
    (src / "a" / "b").mkdir(parents=True)
    (src / ".hidden").mkdir()
    (src / "broken").mkdir()
    pixels = {"a/b/x.tif": picture(300, 420, 1), "z.jpg": None}
    Image.fromarray(pixels["a/b/x.tif"]).save(src / "a" / "b" / "x.tif")
    Image.fromarray(picture(260, 200, 2)).save(src / "z.jpg", quality=90)
    pixels["z.jpg"] = np.asarray(Image.open(src / "z.jpg").convert("RGB"))  # what the JPEG decodes to
    Image.fromarray(picture(333, 517, 3)).save(tmp_path / "y.ppm")
    subprocess.run(["opj_compress", "-i", str(tmp_path / "y.ppm"), "-o", str(src / "y.jp2"), "-t", "256,256"],
                   check=True, capture_output=True)
    pixels["y.jp2"] = np.asarray(Image.open(tmp_path / "y.ppm"))
    (src / "notes.txt").write_text("not an image\n")
    Image.fromarray(picture(10, 10, 4)).save(src / ".hidden" / "q.png")
    data = (src / "y.jp2").read_bytes()
    (src / "broken" / "cut.jp2").write_bytes(data[: len(data) // 3])
    return src, tmp_path / "access", pixels


def lines(stdout):
    return [json.loads(l) for l in stdout.splitlines() if l.strip()]


def test_tree_to_htj2k_exact_with_json_lines_and_verify(tree, tmp_path):
    src, dst, pixels = tree
    r = sipi("convert", "--recursive", src, dst, "--htj2k", "--json", "--verify", "--jobs", "2")
    assert r.returncode == 1, r.stderr  # the damaged file
    docs = lines(r.stdout)
    by_input = {os.path.relpath(d["input_file"], src): d for d in docs if "input_file" in d}
    assert set(by_input) == {"a/b/x.tif", "y.jp2", "z.jpg", "broken/cut.jp2"}  # no .txt, nothing hidden
    for rel, want in pixels.items():
        d = by_input[rel]
        assert d["status"] == "ok" and d["verified"] is True, d
        out = dst / (os.path.splitext(rel)[0] + ".jp2")
        assert d["output_file"] == str(out)
        assert d["image"]["width"] == want.shape[1] and d["image"]["height"] == want.shape[0]
        codestream = out.read_bytes()
        assert b"\xff\x50" in codestream[:4096], "no CAP marker: not HTJ2K"
        assert np.array_equal(opj_pixels(out, tmp_path), want), rel
    bad = by_input["broken/cut.jp2"]
    assert bad["status"] == "error" and bad["error_message"]
    assert not (dst / "broken" / "cut.jp2").exists()
    summary = docs[-1]
    assert summary["status"] == "error"
    assert (summary["files"], summary["converted"], summary["skipped"], summary["failed"]) == (4, 3, 0, 1)
    leftovers = [p for p in dst.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers


def test_a_second_run_skips_what_is_done_and_redoes_what_changed(tree):
    src, dst, _ = tree
    (src / "broken" / "cut.jp2").unlink()
    r = sipi("convert", "--recursive", src, dst, "--htj2k")
    assert r.returncode == 0, r.stderr
    assert "3 images: 3 converted, 0 up to date, 0 failed" in r.stderr
    before = {p: p.stat().st_mtime_ns for p in dst.rglob("*.jp2")}
    assert len(before) == 3
    r = sipi("convert", "--recursive", src, dst, "--htj2k", "--json")
    assert r.returncode == 0
    assert [d["status"] for d in lines(r.stdout)[:-1]] == ["skipped"] * 3
    assert {p: p.stat().st_mtime_ns for p in dst.rglob("*.jp2")} == before
    os.utime(src / "z.jpg")  # a replaced master
    r = sipi("convert", "--recursive", src, dst, "--htj2k", "--json")
    docs = lines(r.stdout)
    assert {os.path.basename(d["input_file"]): d["status"] for d in docs[:-1]} == {"x.tif": "skipped", "y.jp2": "skipped", "z.jpg": "ok"}
    assert (docs[-1]["converted"], docs[-1]["skipped"]) == (1, 2)


def test_a_run_removes_what_an_interrupted_one_left(tree):
    # An interrupted run (Ctrl-C, kill -9, a power cut) leaves an output only under its
    # temporary name, never its own; the next run removes such files: this host's once their
    # process is gone and they are ten minutes old, another host's (shared storage) once a day
    # old. A name whose pid is not a number sipi writes is left alone.
    src, dst, _ = tree
    (src / "broken" / "cut.jp2").unlink()
    host = subprocess.run(["hostname"], capture_output=True, text=True).stdout.strip()
    tag = "".join(c if c.isalnum() or c in "-." else "_" for c in host)
    gone = subprocess.Popen(["true"])
    gone.wait()
    (dst / "a" / "b").mkdir(parents=True)
    dead = dst / "a" / "b" / f".x.jp2.sipi-{tag}-{gone.pid}.tmp"
    alive = dst / f".y.jp2.sipi-{tag}-{os.getpid()}.tmp"  # a writer still at work
    old_foreign = dst / ".z.jp2.sipi-other-host-1234.tmp"
    new_foreign = dst / ".y.jp2.sipi-other-host-5678.tmp"
    fresh_dead = dst / f".z.jp2.sipi-{tag}-{gone.pid}.tmp"  # maybe another container's writer
    bad_pid = dst / f".y.jp2.sipi-{tag}-99999999999999999999.tmp"
    for f in (dead, alive, old_foreign, new_foreign, fresh_dead, bad_pid):
        f.write_bytes(b"half an image")
    for f, age in ((old_foreign, 2 * 86400), (dead, 3600), (alive, 3600), (bad_pid, 3600)):
        t = os.path.getmtime(f) - age
        os.utime(f, (t, t))
    r = sipi("convert", "--recursive", src, dst, "--htj2k")
    assert r.returncode == 0, r.stderr
    assert "removed 2 temporary files left by an interrupted run" in r.stderr
    assert not dead.exists() and not old_foreign.exists()
    assert alive.exists() and new_foreign.exists() and fresh_dead.exists() and bad_pid.exists()
    assert sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*.jp2")) == ["a/b/x.jp2", "y.jp2", "z.jp2"]


@pytest.mark.parametrize("args,message", [
    (["--recursive", "{src}", "{dst}"], "--recursive needs --format (or --htj2k)"),
    (["--recursive", "{src}", "{src}/inner", "--htj2k"], "must not be inside the input directory"),
    (["--recursive", "{src}/z.jpg", "{dst}", "--htj2k"], "--recursive needs an input directory"),
    (["--recursive", "{src}", "{dst}", "--htj2k", "--verify", "--topleft"], "cannot be combined with --topleft"),
    (["{src}/z.jpg", "{dst}/z.jp2", "--verify"], "--jobs and --verify go with --recursive"),
])
def test_bad_arguments_are_one_line(tree, args, message):
    src, dst, _ = tree
    r = sipi("convert", *[a.format(src=src, dst=dst) for a in args])
    assert r.returncode == 1
    assert r.stderr.strip() == f"Error in arguments: {message}" or message in r.stderr.strip().splitlines()[0], r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not dst.exists() or not any(dst.rglob("*.jp2"))


def test_relative_directories_and_verify(tree):
    # Directories given relative to the working directory; --verify compares in a scratch
    # directory of its own, so the paths it hands over must not depend on where it runs.
    src, dst, _ = tree
    (src / "broken" / "cut.jp2").unlink()
    r = sipi("convert", "--recursive", src.name, dst.name, "--htj2k", "--verify", "--json", cwd=src.parent)
    assert r.returncode == 0, r.stdout + r.stderr
    docs = lines(r.stdout)
    assert [d["status"] for d in docs[:-1]] == ["ok"] * 3 and all(d["verified"] for d in docs[:-1])
    assert all(os.path.isabs(d["output_file"]) for d in docs[:-1])
