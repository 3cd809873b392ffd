"""info.json: required fields, limits, sizes/tiles, id from the request, negotiation, caching."""
import json

import pytest

LD = 'application/ld+json;profile="http://iiif.io/api/image/3/context.json"'
FEATURES = {"baseUriRedirect", "canonicalLinkHeader", "cors", "jsonldMediaType", "mirroring",
            "profileLinkHeader", "regionByPct", "regionByPx", "regionSquare", "rotationArbitrary",
            "rotationBy90s", "sizeByConfinedWh", "sizeByH", "sizeByPct", "sizeByW", "sizeByWh", "sizeUpscaling"}


@pytest.mark.parametrize("ident,native_tile", [
    ("grid.png", None), ("grid_pyr_deflate.tif", 256), ("grid.jp2", 512), ("grid.jpg", None),
    ("grid.webp", None), ("grid_subifd.tif", 128), ("grid_strip_lzw.tif", None),
])
def test_required_fields(server, ident, native_tile):
    status, headers, body = server.request(f"/{ident}/info.json")
    assert status == 200
    # IIIF 3.0 §5.2: plain JSON unless JSON-LD is asked for, the context in a Link header.
    assert headers["content-type"] == "application/json"
    assert '<http://iiif.io/api/image/3/context.json>;rel="http://www.w3.org/ns/json-ld#context"' in headers["link"]
    assert body.startswith(b'{"@context":"http://iiif.io/api/image/3/context.json"')
    info = json.loads(body)
    assert info["id"] == f"http://127.0.0.1:{server.port}/{ident}"
    assert info["type"] == "ImageService3"
    assert info["protocol"] == "http://iiif.io/api/image"
    assert info["profile"] == "level2"
    assert (info["width"], info["height"]) == (1600, 1200)
    assert (info["maxWidth"], info["maxHeight"], info["maxArea"]) == (4000, 3000, 6000000)
    tile = info["tiles"][0]
    assert tile["width"] == (native_tile or 512)
    factors = [1]
    while -(-1600 // factors[-1]) > tile["width"] or -(-1200 // factors[-1]) > tile["height"]:
        factors.append(factors[-1] * 2)
    assert tile["scaleFactors"] == factors
    sizes = [(s["width"], s["height"]) for s in info["sizes"]]
    assert sizes == sorted(sizes) and sizes[-1] == (1600, 1200)
    for f, (w, h) in zip(reversed(tile["scaleFactors"]), sizes):
        assert (w, h) == (-(-1600 // f), -(-1200 // f))
    assert info["extraQualities"] == ["color", "gray", "bitonal"]
    assert set(info["extraFormats"]) == {"webp", "tif", "jp2", "gif", "pdf"}
    assert info["preferredFormats"] == ["jpg", "tif", "jp2", "png"]  # SIPI's list and order
    assert set(info["extraFeatures"]) == FEATURES
    for key in ("@id", "license", "attribution", "logo"):
        assert key not in info


def test_id_follows_forwarded_headers(server):
    info, _ = server.get_json("/sub/prefixed.png/info.json",
                              headers={"X-Forwarded-Host": "images.example.org", "X-Forwarded-Proto": "https"})
    assert info["id"] == "https://images.example.org/sub/prefixed.png"
    info, _ = server.get_json("/sub%2Fdeeper%2Fnested.png/info.json", headers={"Host": "example.net:8182"})
    assert info["id"] == "http://example.net:8182/sub%2Fdeeper%2Fnested.png"
    # A forged host with characters that do not belong in a host is ignored.
    info, _ = server.get_json("/grid.png/info.json", headers={"X-Forwarded-Host": "evil.org/<script>"})
    assert info["id"] == f"http://127.0.0.1:{server.port}/grid.png"


def test_json_ld_negotiation(server):
    for accept in ["application/json", "*/*", "text/html", None]:
        status, headers, body = server.request("/grid.png/info.json", headers={"Accept": accept})
        assert headers["content-type"] == "application/json", accept
        assert 'rel="http://www.w3.org/ns/json-ld#context"' in headers["link"]
    for accept in ["application/ld+json", 'application/ld+json;profile="http://iiif.io/api/image/3/context.json"',
                   "application/json, application/ld+json;q=0.9"]:
        status, headers, _ = server.request("/grid.png/info.json", headers={"Accept": accept})
        assert headers["content-type"] == LD, accept
        assert "json-ld#context" not in headers["link"]
    assert "accept" in headers["vary"].lower()


def test_cors_and_profile_link(server):
    _, headers, _ = server.request("/grid.png/info.json", headers={"Origin": "https://viewer.example"})
    assert headers["access-control-allow-origin"] == "*"
    assert '<http://iiif.io/api/image/3/level2.json>;rel="profile"' in headers["link"]


def test_etag_and_304(server):
    status, headers, body = server.request("/grid.png/info.json")
    etag, lm = headers["etag"], headers["last-modified"]
    assert etag.startswith('"') and etag.endswith('"')
    status, headers, body = server.request("/grid.png/info.json", headers={"If-None-Match": etag})
    assert status == 304 and body == b""
    status, _, _ = server.request("/grid.png/info.json", headers={"If-Modified-Since": lm})
    assert status == 304
    status, _, _ = server.request("/grid.png/info.json", headers={"If-None-Match": '"other"'})
    assert status == 200


def test_head_info(server):
    _, get_headers, body = server.request("/grid.png/info.json")
    status, headers, head_body = server.request("/grid.png/info.json", method="HEAD")
    assert status == 200 and head_body == b""
    assert int(headers["content-length"]) == len(body)
    assert headers["etag"] == get_headers["etag"]


def test_base_uri_redirects_to_info(server):
    status, headers, _ = server.request("/sub/prefixed.png")
    assert status == 303
    assert headers["location"] == f"http://127.0.0.1:{server.port}/sub/prefixed.png/info.json"
    status, headers, _ = server.request("/grid.png", headers={"X-Forwarded-Proto": "https", "Host": "h.example"})
    assert headers["location"] == "https://h.example/grid.png/info.json"


def test_base_uri_of_identifier_named_like_a_quality(server):
    status, headers, _ = server.request("/gray.png")
    assert status == 303
    assert headers["location"].endswith("/gray.png/info.json")


def test_unknown_identifier_is_404(server):
    assert server.request("/nothing-here.png/info.json")[0] == 404
    assert server.request("/nothing-here.png/full/max/0/default.jpg")[0] == 404


def test_info_for_every_sample_format_matches_image(server):
    for ident in ["cmyk.jpg", "cmyk.tif", "adobe.png", "grid16.png", "gray.png", "rgba.png", "grid_bigtiff.tif",
                  "grid_untiled.j2k", "marked.tif"]:
        info, _ = server.get_json(f"/{ident}/info.json")
        assert info["width"] > 0 and info["height"] > 0, ident


@pytest.mark.parametrize("trusted,honoured", [("10.0.0.0/8, fd00::/8", False), ("10.0.0.0/8, 127.0.0.1", True)])
def test_forwarded_headers_count_only_from_trusted_proxies(tmp_path, imgroot, trusted, honoured):
    from conftest import start_server, stop_server
    srv = start_server(str(tmp_path), imgroot, extra=f"trusted_proxies = '{trusted}',")
    try:
        info, _ = srv.get_json("/grid.png/info.json", headers={"X-Forwarded-Host": "spoofed.example.org",
                                                               "X-Forwarded-Proto": "https"})
        want = "https://spoofed.example.org/grid.png" if honoured else f"http://127.0.0.1:{srv.port}/grid.png"
        assert info["id"] == want
    finally:
        stop_server(srv)


@pytest.mark.parametrize("prefix,mount", [
    ("/images", "/images"), ("/a/b-c_d.e~f/", "/a/b-c_d.e~f"), ("/images, /other", "/images"), ("/", ""),
    # not a plain path: ignored, never copied into the ids viewers follow
    ("images", ""), ("/a/../b", ""), ("/a//b", ""), ("//evil.example", ""), ("/a?b", ""), ("/a#b", ""),
    ("/a%2fb", ""), ("/<script>", ""), ("/" + "a" * 300, "")])
def test_forwarded_prefix_mounts_ids_under_a_path(server, prefix, mount):
    # A proxy that serves sipi under https://h.example/images/ strips /images and says so.
    fwd = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "h.example", "X-Forwarded-Prefix": prefix}
    info, _ = server.get_json("/grid.png/info.json", headers=fwd)
    assert info["id"] == f"https://h.example{mount}/grid.png"
    status, headers, _ = server.request("/grid.png", headers=fwd)
    assert status == 303 and headers["location"] == f"https://h.example{mount}/grid.png/info.json"
    status, headers, _ = server.request("/grid.png/full/max/0/default.jpg", headers=fwd)
    assert status == 200 and headers["link"].startswith(f"<https://h.example{mount}/grid.png/full/max/0/default.jpg>")


def test_forwarded_prefix_counts_only_from_trusted_proxies(tmp_path, imgroot):
    from conftest import start_server, stop_server
    srv = start_server(str(tmp_path), imgroot, extra="trusted_proxies = '10.0.0.0/8',")
    try:
        info, _ = srv.get_json("/grid.png/info.json", headers={"X-Forwarded-Prefix": "/elsewhere"})
        assert info["id"] == f"http://127.0.0.1:{srv.port}/grid.png"
    finally:
        stop_server(srv)


def test_bad_trusted_proxies_stop_startup(tmp_path, imgroot):
    from conftest import start_server
    with pytest.raises(RuntimeError, match="trusted_proxies"):
        start_server(str(tmp_path), imgroot, extra="trusted_proxies = 'localhost',")
