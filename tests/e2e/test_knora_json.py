"""knora.json (DaSCH DSP): image shape, MIME types, the Essentials packet's original name, and
checksums from the .info sidecar; other files: size and original name."""
import json
import subprocess

import pytest

from conftest import SIPI_BIN, start_server, stop_server
from fixtures import grid_image


@pytest.fixture(scope="module")
def knora(tmp_path_factory):
    root = tmp_path_factory.mktemp("knora")
    proj = root / "0801"
    proj.mkdir()
    grid_image(320, 240).save(root / "master.tif")
    subprocess.run([SIPI_BIN, "convert", "service-file", str(root / "master.tif"), str(proj / "abc.jp2")], check=True)
    (proj / "abc.info").write_text(json.dumps({"checksumOriginal": "aa11", "checksumDerivative": "bb22"}))
    (proj / "table.csv").write_text("a,b\n1,2\n")
    (proj / "table.info").write_text(json.dumps({"originalFilename": "Table 1.csv"}))
    srv = start_server(str(root), str(root))
    yield srv
    stop_server(srv)


def test_service_file(knora):
    status, headers, body = knora.request("/0801/abc.jp2/knora.json", headers={"Origin": "https://app.dasch.swiss"})
    assert status == 200 and headers["content-type"] == "application/json"
    assert headers["access-control-allow-origin"] == "https://app.dasch.swiss"
    j = json.loads(body)
    assert j == {"@context": "http://sipi.io/api/file/3/context.json",
                 "id": f"http://127.0.0.1:{knora.port}/0801/abc.jp2",
                 "checksumOriginal": "aa11", "checksumDerivative": "bb22",
                 "width": 320, "height": 240, "internalMimeType": "image/jp2",
                 "originalMimeType": "image/tiff", "originalFilename": "master.tif"}


def test_other_file(knora):
    j = json.loads(knora.request("/0801/table.csv/knora.json")[2])
    assert j["internalMimeType"] == "text/csv; charset=utf-8"
    assert j["fileSize"] == 8 and j["originalFilename"] == "Table 1.csv"
    assert "width" not in j


def test_missing(knora):
    assert knora.request("/0801/none.jp2/knora.json")[0] == 404
    assert knora.request("/../etc/knora.json")[0] == 400
