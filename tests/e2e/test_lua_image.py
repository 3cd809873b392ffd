"""SipiImage in routes, and the shipped upload example: upload → JP2 in imgroot → served by IIIF."""
import json
import os
import shutil

import pytest

from conftest import start_server, stop_server
from fixtures import CELL, cell_colour, grid_image
from imgutil import assert_pixel, decode
from test_lua_uploads import multipart, post

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "lua")

IMAGE_LUA = """
local op = server.get.op
local ok, img = SipiImage.new(config.imgroot .. '/grid.png', { region = server.get.region, size = server.get.size })
if not ok then server.sendStatus(404); server.print(img); return end
if op == 'rotate' then img:rotate(90) end
if op == 'mirror' then img:rotate(0, true) end
if op == 'wm' then img:watermark(config.imgroot .. '/white.png') end
if op == 'dims' then
  local _, d = img:dims(); local _, d2 = SipiImage.dims(config.imgroot .. '/grid.png')
  server.print(d.nx, 'x', d.ny, ' ', d2.nx, 'x', d2.ny, ' ', tostring(img):sub(1, 9)); return
end
if op == 'bad' then local ok2, err = img:crop('nonsense'); server.print(tostring(ok2)); return end
if op == 'exif' then
  local _, j = SipiImage.new(config.imgroot .. '/tagged.jpg')
  local _, make = j:exif('Make'); local _, orient = j:exif('Orientation'); local ok3 = j:exif('Nonexistent')
  local _, c1 = img:mimetype_consistency('image/png', 'scan.png')
  local _, c2 = img:mimetype_consistency('image/jpeg', 'scan.jpg')
  local _, c3 = img:mimetype_consistency('image/png', 'scan.tif')
  server.print(make, ' ', math.type(orient), orient, ' ', tostring(ok3), ' ', tostring(c1), tostring(c2), tostring(c3))
  return
end
if op == 'service' then
  img:scale('100,')
  local ok6, err6 = img:write(server.get.out, { file_role = 'service-file', origname = 'orig.png', mimetype = 'image/png' })
  server.print(tostring(ok6), ' ', tostring(err6))
  return
end
if op == 'ht' then
  local ok7, err7 = img:write(server.get.out, { Cmodes = 'HT' })
  local ok8, err8 = img:write(server.get.out .. '.sf.jp2', { Cmodes = 'HT', file_role = 'service-file', origname = 'o.png', mimetype = 'image/png' })
  local ok9, err9 = img:write(server.get.out .. '.bad.jp2', { Cmodes = 'BYPASS' })
  server.print(tostring(ok7), ' ', tostring(ok8), ' ', tostring(ok9), ' ', err9)
  return
end
if op == 'jp2' then
  local ok4, err4 = img:write(server.get.out, { Clevels = '3', Stiles = '{128,128}', Corder = 'LRCP' })
  local ok5, err5 = img:write(server.get.out .. '.x.jp2', { Cfancy = 'yes' })
  server.print(tostring(ok4), ' ', tostring(ok5), ' ', err5)
  return
end
img:write('HTTP.png')
"""


@pytest.fixture(scope="module")
def img_server(tmp_path_factory):
    work = tmp_path_factory.mktemp("sipiimage")
    images = work / "images"
    images.mkdir()
    grid_image(400, 300).save(images / "grid.png")
    from PIL import Image
    Image.new("L", (50, 50), 255).save(images / "white.png")
    grid_image(80, 60).save(images / "tagged.jpg")
    import subprocess
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-Make=SipiCam", "-Orientation#=6",
                    str(images / "tagged.jpg")], check=True)
    scripts = work / "scripts"
    scripts.mkdir()
    (scripts / "image.lua").write_text(IMAGE_LUA)
    shutil.copy(os.path.join(EXAMPLES, "upload.lua"), scripts / "upload.lua")
    (work / "tmp").mkdir()
    extra = f"""scriptdir = '{scripts}', tmpdir = '{work / "tmp"}', max_post_size = '20M',
}}
routes = {{
  {{ method = 'GET', route = '/image', script = 'image.lua' }},
  {{ method = 'POST', route = '/api/upload', script = 'upload.lua' }},"""
    srv = start_server(str(work), str(images), extra=extra)
    srv.images = images
    yield srv
    stop_server(srv)


def test_region_and_size_on_load(img_server):
    status, headers, body = img_server.request("/image?region=100,100,200,100&size=100,")
    assert status == 200 and headers["content-type"] == "image/png"
    im = decode(body)
    assert im.size == (100, 50)
    assert_pixel(im, (25, 25), cell_colour(1, 1), 2)


def test_rotate_mirror_watermark(img_server):
    im = decode(img_server.request("/image?op=rotate")[2])
    assert im.size == (300, 400)
    assert_pixel(im, (300 - 50, 50), cell_colour(0, 0), 0)
    im = decode(img_server.request("/image?op=mirror")[2])
    assert_pixel(im, (400 - 50, 50), cell_colour(0, 0), 0)
    im = decode(img_server.request("/image?op=wm")[2]).convert("RGB")
    r, g, b = cell_colour(2, 1)
    got = im.getpixel((200, 150))
    assert abs(got[0] - (r * 0.2 + 204)) <= 3  # white mark at 80 % in the centre


def test_dims_and_errors(img_server):
    assert img_server.request("/image?op=dims")[2] == b"400x300 400x300 SipiImage"
    assert img_server.request("/image?op=bad")[2] == b"false"


def test_upload_example_makes_a_servable_jp2(img_server):
    src = grid_image(640, 480)
    import io
    buf = io.BytesIO()
    src.save(buf, format="TIFF")
    body, ctype = multipart([("file", "scan.tif", "image/tiff", buf.getvalue())])
    status, data = post(img_server, "/api/upload", body, ctype)
    assert status == 201, data
    out = json.loads(data)
    assert out["width"] == 640 and out["height"] == 480 and out["origname"] == "scan.tif"
    assert out["identifier"].endswith(".jp2")
    # Served by the same server through IIIF, from the lossless JP2 it wrote.
    info = json.loads(img_server.request(f"/{out['identifier']}/info.json")[2])
    assert (info["width"], info["height"]) == (640, 480)
    im = decode(img_server.request(f"/{out['identifier']}/{5 * CELL},{3 * CELL},{CELL},{CELL}/max/0/default.png")[2])
    assert_pixel(im, (50, 50), cell_colour(5, 3), 0)
    assert os.listdir(img_server.images.parent / "tmp") == []
    # It is a service file: the packet names the upload, and its pixel digest checks out.
    import subprocess
    from conftest import SIPI_BIN
    r = subprocess.run([SIPI_BIN, "verify", "service-file", str(img_server.images / out["identifier"])],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "scan.tif, image/tiff" in r.stdout, r.stdout + r.stderr


def test_upload_of_a_non_image_is_refused(img_server):
    body, ctype = multipart([("file", "notes.txt", "text/plain", b"hello")])
    status, data = post(img_server, "/api/upload", body, ctype)
    assert status == 415


def test_exif_and_mimetype_consistency(img_server):
    assert img_server.request("/image?op=exif")[2] == b"SipiCam integer6 false truefalsefalse"


def test_write_with_jpeg2000_parameters(img_server, tmp_path):
    import subprocess
    out = tmp_path / "p.jp2"
    body = img_server.request(f"/image?op=jp2&out={out}")[2]
    assert body == b"true false unknown write parameter: Cfancy"
    dump = subprocess.run(["opj_dump", "-i", str(out)], capture_output=True, text=True).stdout
    assert "numresolutions=4" in dump and "tdx=128, tdy=128" in dump and "prg=0" in dump


def test_write_htj2k_access_and_service_files(img_server, tmp_path):
    import subprocess
    from conftest import SIPI_BIN
    out = tmp_path / "h.jp2"
    body = img_server.request(f"/image?op=ht&out={out}")[2]
    assert body == b"true true false unknown write parameter: Cmodes BYPASS", body
    for f in [out, tmp_path / "h.jp2.sf.jp2"]:
        dump = subprocess.run(["opj_dump", "-i", str(f)], capture_output=True, text=True).stdout
        assert "cblksty=0x40" in dump, f  # HT code-blocks
        r = subprocess.run([SIPI_BIN, "compare", str(img_server.images / "grid.png"), str(f)], capture_output=True, text=True)
        assert r.returncode == 0 and "Files identical!" in r.stderr, r.stderr
    r = subprocess.run([SIPI_BIN, "verify", "service-file", str(tmp_path / "h.jp2.sf.jp2")], capture_output=True, text=True)
    assert r.returncode == 0 and "o.png, image/png" in r.stdout, r.stdout + r.stderr


def test_service_file_from_a_transformed_image(img_server, tmp_path):
    import subprocess
    from conftest import SIPI_BIN
    out = tmp_path / "sf.jp2"
    body = img_server.request(f"/image?op=service&out={out}")[2]
    assert body.startswith(b"true"), body
    r = subprocess.run([SIPI_BIN, "verify", "service-file", str(out)], capture_output=True, text=True)
    assert r.returncode == 0 and "orig.png, image/png" in r.stdout, r.stdout + r.stderr
    q = json.loads(subprocess.run([SIPI_BIN, "query", "--json", str(out)], capture_output=True, text=True).stdout)
    assert q["image"]["width"] == 100
    assert not any(p.name.endswith(".src.tif") for p in tmp_path.iterdir())
