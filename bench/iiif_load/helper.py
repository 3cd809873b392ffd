#!/usr/bin/python3
"""Helpers for bench/iiif_load.sh (stdlib only).

  helper.py port                                   a free TCP port on 127.0.0.1
  helper.py lists OUTDIR ID EXT W H NLINKS SEED    URL lists of every workload for one source
  helper.py check SIPI_BASE PEER_BASE LIST...      one request per list on both servers (PEER_BASE
                                                   '-' = sipi only): 200, right type, same size
  helper.py table RESULTS.tsv                      the markdown table of a run
"""
import json
import random
import socket
import sys
import urllib.error
import urllib.request

WORKLOADS = ["tile0", "tileN", "view", "region", "thumb", "down2000", "info"]
WORKLOAD_NAMES = {
    "tile0": "tiles 256² full res",
    "tileN": "tiles 256² reduced (s=2…)",
    "view": "viewer walk 256² (viewports)",
    "region": "random regions →≤512",
    "thumb": "thumb !200,200",
    "down2000": "full → 2000,",
    "info": "info.json",
}
TILE = 256


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def link_id(ident, ext, i):
    return f"{ident}-l{i:03d}{ext}"


def make_lists(outdir, ident, ext, width, height, nlinks, seed):
    """Writes OUTDIR/IDENT.WORKLOAD.txt; every line is an IIIF path below the prefix."""
    rnd = random.Random(f"{seed}-{width}x{height}")  # same lists for every variant of an image
    base = ident + ext
    lists = {}
    # Full-resolution tiles: every complete 256² tile, shuffled.
    tiles = [(x, y) for y in range(0, height - TILE + 1, TILE) for x in range(0, width - TILE + 1, TILE)]
    rnd.shuffle(tiles)
    lists["tile0"] = [f"{base}/{x},{y},{TILE},{TILE}/{TILE},/0/default.jpg" for x, y in tiles]
    # Reduced levels: regions of 256·s at a 256·s grid, delivered at 256 px.
    reduced = []
    s = 2
    while TILE * s <= min(width, height):
        step = TILE * s
        reduced += [(x, y, step) for y in range(0, height - step + 1, step) for x in range(0, width - step + 1, step)]
        s *= 2
    rnd.shuffle(reduced)
    lists["tileN"] = [f"{base}/{x},{y},{n},{n}/{TILE},/0/default.jpg" for x, y, n in reduced]
    # A viewer's walk: viewports of 4×3 tiles (a 1024×768 window) at full resolution or at s=2,
    # each viewport's tiles in a row, viewports in random order (as OpenSeadragon asks for what a
    # window shows, then the user pans or zooms elsewhere). Not every image tile is visited.
    view = []
    for _ in range(150):
        s = rnd.choice([1, 2])
        step = TILE * s
        cols, rows = (width // step), (height // step)
        if cols < 4 or rows < 3:
            continue
        c0, r0 = rnd.randint(0, cols - 4), rnd.randint(0, rows - 3)
        view += [(c * step, r * step, step) for r in range(r0, r0 + 3) for c in range(c0, c0 + 4)]
    lists["view"] = [f"{base}/{x},{y},{n},{n}/{TILE},/0/default.jpg" for x, y, n in view]
    # Random non-aligned regions: output ow×oh (64..512), scale 1..4, so `ow,` is exact for both.
    regions = []
    for _ in range(1000):
        scale = rnd.choice([1, 1, 2, 3, 4])
        ow, oh = rnd.randint(64, 512), rnd.randint(64, 512)
        rw, rh = ow * scale, oh * scale
        x, y = rnd.randint(0, width - rw), rnd.randint(0, height - rh)
        regions.append(f"{base}/{x},{y},{rw},{rh}/{ow},/0/default.jpg")
    lists["region"] = regions
    # Whole-image requests: one per hard link, so that every URL names a different image.
    ids = [link_id(ident, ext, i) for i in range(nlinks)]
    lists["thumb"] = [f"{i}/full/!200,200/0/default.jpg" for i in ids]
    lists["down2000"] = [f"{i}/full/2000,/0/default.jpg" for i in ids]
    lists["info"] = [f"{i}/info.json" for i in ids]
    for name, lines in lists.items():
        with open(f"{outdir}/{ident}.{name}.txt", "w") as f:
            f.write("\n".join(lines) + "\n")


def jpeg_size(data):
    """(width, height) from a JPEG's SOF marker, or None."""
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        i += 2 + length
    return None


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=300) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()
    except OSError as e:
        return 0, "", str(e).encode()


def describe(url):
    """(ok, summary, shape): shape is (w, h) of the JPEG or of info.json."""
    status, ctype, body = fetch(url)
    if status != 200:
        return False, f"HTTP {status} {ctype} {body[:200]!r}", None
    if url.endswith("info.json"):
        try:
            info = json.loads(body)
            return True, f"200 {ctype} {info['width']}x{info['height']}", (info["width"], info["height"])
        except (ValueError, KeyError) as e:
            return False, f"200 {ctype} but not an info.json ({e}): {body[:200]!r}", None
    shape = jpeg_size(body)
    if not ctype.startswith("image/jpeg") or shape is None:
        return False, f"200 {ctype}, not a JPEG: {body[:60]!r}", None
    return True, f"200 {ctype} {shape[0]}x{shape[1]}", shape


def check(sipi_base, peer_base, lists):
    failed = False
    for path in lists:
        with open(path) as f:
            line = f.readline().strip()
        ok_s, what_s, shape_s = describe(sipi_base + line)
        msg = f"  {line}\n    sipi: {what_s}"
        ok = ok_s
        if peer_base != "-":
            ok_p, what_p, shape_p = describe(peer_base + line)
            msg += f"\n    peer: {what_p}"
            # IIPImage 1.1 rounds some region sizes one pixel down (410 → 409): not a failure.
            near = shape_s and shape_p and all(abs(a - b) <= 1 for a, b in zip(shape_s, shape_p))
            ok = ok and ok_p and bool(near)
            if ok_s and ok_p and shape_s != shape_p:
                msg += "\n    sizes differ" + (" by one pixel (the peer's rounding)" if near else "")
        if not ok:
            failed = True
            print("FAILED" + msg[1:], file=sys.stderr)
        else:
            print("ok" + msg[1:].split("\n")[0] + f"  ({what_s.split(' ')[-1]})")
    return 1 if failed else 0


def fmt(v, digits=0):
    if v is None:
        return "n/a"
    return f"{v:,.{digits}f}".replace(",", " ") if digits == 0 else f"{v:.{digits}f}"


def table(path):
    rows = {}
    order = []
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        for line in f:
            r = dict(zip(head, line.rstrip("\n").split("\t")))
            key = (r["source"], r["workload"], r["conc"])
            if key not in rows:
                rows[key] = {}
                order.append(key)
            rows[key][r["server"]] = r
    out = ["| source | workload | conc | sipi rps | peer rps | ratio | sipi p50/p99 ms | peer p50/p99 ms "
           "| sipi CPU ms/req | peer CPU ms/req | sipi peak RSS MB (start) | errors sipi/peer |",
           "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]

    def num(r, k):
        return float(r[k]) if r and r.get(k, "") not in ("", "-") else None

    for key in order:
        s, p = rows[key].get("sipi"), rows[key].get("peer")
        rps_s, rps_p = num(s, "rps"), num(p, "rps")
        ratio = f"{rps_s / rps_p:.2f}" if rps_s is not None and rps_p else "n/a"

        def lat(r):
            return f"{num(r, 'p50_ms'):.1f} / {num(r, 'p99_ms'):.1f}" if r and num(r, "requests") else "n/a"

        def cpu(r):
            if not r:
                return "n/a"
            req, cpu_s = num(r, "requests"), num(r, "cpu_s")
            return f"{1000 * cpu_s / req:.1f}" if req and cpu_s is not None else "n/a"

        def errs(r):
            if not r:
                return "n/a"
            n = str(int(num(r, "non2xx") + num(r, "socket_errors")))
            return n + " + CRASH" if r.get("crash") else n

        rss, rss0 = num(s, "rss_kb"), num(s, "rss_start_kb")
        out.append("| " + " | ".join([
            key[0], WORKLOAD_NAMES.get(key[1], key[1]), key[2],
            fmt(rps_s, 1) if rps_s is not None else "n/a", fmt(rps_p, 1) if rps_p is not None else "n/a", ratio,
            lat(s), lat(p), cpu(s), cpu(p), (f"{rss / 1024:.0f}" + (f" ({rss0 / 1024:.0f})" if rss0 else "")) if rss else "n/a",
            f"{errs(s)} / {errs(p)}",
        ]) + " |")
    print("\n".join(out))
    print_targets(rows)


# Issue targets at c=8: (what, sipi source, workload, reference source, reference server, goal).
# The HTJ2K rows use the file `sipi convert --htj2k` writes by default (256² tiles).
HT, CLASSIC, TIFF = "10000×8000 HTJ2K sipi 256²", "10000×8000 JP2 lossless", "10000×8000 TIFF JPEG"
TARGETS = [
    ("HTJ2K 256² tiles vs IIPImage on classic lossless", HT, "tile0", CLASSIC, "peer", 20),
    ("HTJ2K random regions vs sipi on JPEG-tiled TIFF", HT, "region", TIFF, "sipi", 0.5),
    ("HTJ2K thumbnails vs IIPImage on classic lossless", HT, "thumb", CLASSIC, "peer", 5),
    ("HTJ2K `2000,` vs IIPImage on classic lossless", HT, "down2000", CLASSIC, "peer", 5),
    ("classic lossless tiles vs IIPImage", CLASSIC, "tile0", CLASSIC, "peer", 2.5),
    ("classic lossless thumbnails vs IIPImage", CLASSIC, "thumb", CLASSIC, "peer", 2),
    ("classic lossless `2000,` vs IIPImage", CLASSIC, "down2000", CLASSIC, "peer", 2),
]


def print_targets(rows, conc="8"):
    def rps(source, wl, server):
        r = rows.get((source, wl, conc), {}).get(server)
        return float(r["rps"]) if r and r.get("rps", "") not in ("", "-") else None

    out = []
    for what, src, wl, ref_src, ref_server, goal in TARGETS:
        a, b = rps(src, wl, "sipi"), rps(ref_src, wl, ref_server)
        if a is None or not b:
            continue
        ratio = a / b
        out.append(f"| {what} | {a:.1f} / {b:.1f} | {ratio:.2f}× | ≥ {goal}× | {'met' if ratio >= goal else 'not met'} |")
    p99 = rows.get((CLASSIC, "down2000", conc), {}).get("sipi")
    if p99 and p99.get("p99_ms", "") not in ("", "-"):
        v = float(p99["p99_ms"])
        out.append(f"| classic lossless `2000,` p99 | {v:.0f} ms | | < 2000 ms | {'met' if v < 2000 else 'not met'} |")
    if out:
        print(f"\nTargets (issue 12), c={conc}:\n")
        print("| target | rps (sipi / reference) | ratio | goal | |\n|---|--:|--:|--:|---|")
        print("\n".join(out))


def main(argv):
    if argv[1:2] == ["port"]:
        print(free_port())
    elif argv[1:2] == ["lists"] and len(argv) == 9:
        make_lists(argv[2], argv[3], argv[4], int(argv[5]), int(argv[6]), int(argv[7]), argv[8])
    elif argv[1:2] == ["check"] and len(argv) >= 5:
        return check(argv[2], argv[3], argv[4:])
    elif argv[1:2] == ["table"] and len(argv) == 3:
        table(argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
