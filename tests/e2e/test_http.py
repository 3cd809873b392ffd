"""HTTP behaviour: image headers, HEAD, conditional requests, CORS preflight, keep-alive."""
import socket

from imgutil import decode


def test_image_headers(server):
    status, headers, body = server.request("/grid.png/pct:10,10,20,20/pct:50/!90/gray.webp",
                                           headers={"Origin": "https://viewer.example"})
    assert status == 200
    assert headers["content-type"] == "image/webp"
    assert headers["link"] == (f'<http://127.0.0.1:{server.port}/grid.png/160,120,320,240/160,120/!90/gray.webp>;'
                               'rel="canonical", <http://iiif.io/api/image/3/level2.json>;rel="profile"')
    assert headers["access-control-allow-origin"] == "https://viewer.example"
    assert "etag" in headers and "last-modified" in headers
    assert int(headers["content-length"]) == len(body)


def test_canonical_full_max(server):
    _, headers, _ = server.request("/grid.png/0,0,1600,1200/1600,/0.0/default.jpg")
    assert headers["link"].startswith(f"<http://127.0.0.1:{server.port}/grid.png/full/max/0/default.jpg>")


def rendered(server):
    _, _, body = server.request("/metrics")
    for line in body.decode().splitlines():
        if line.startswith("sipi_images_rendered_total "):
            return int(float(line.split()[1]))
    raise AssertionError("no sipi_images_rendered_total in /metrics")


def test_head_image_does_not_decode(server):
    before = rendered(server)
    status, headers, body = server.request("/grid.png/full/max/0/default.png", method="HEAD")
    assert status == 200 and body == b""
    assert headers["content-type"] == "image/png"
    assert rendered(server) == before  # answered from the header alone
    # The counter does count: a GET of a URL never asked for before renders once.
    assert server.request("/grid.png/full/31,/0/default.png")[0] == 200
    assert rendered(server) == before + 1
    # HEAD validates like GET: a bad size is still a 400.
    assert server.request("/grid.png/full/9999,/0/default.png", method="HEAD")[0] == 400


def test_image_304(server):
    _, headers, _ = server.request("/grid.png/0,0,100,100/max/0/default.jpg")
    status, h2, body = server.request("/grid.png/0,0,100,100/max/0/default.jpg",
                                      headers={"If-None-Match": headers["etag"]})
    assert status == 304 and body == b""
    assert h2["etag"] == headers["etag"]
    # Another request on the same image has another ETag.
    _, other, _ = server.request("/grid.png/0,0,100,100/max/0/default.png")
    assert other["etag"] != headers["etag"]


def test_options_preflight(server):
    status, headers, body = server.request("/grid.png/full/max/0/default.jpg", method="OPTIONS",
                                           headers={"Origin": "https://v.example",
                                                    "Access-Control-Request-Method": "GET",
                                                    "Access-Control-Request-Headers": "authorization"})
    assert status == 204
    assert headers["access-control-allow-origin"] == "https://v.example"
    assert headers["access-control-allow-methods"] == "GET, POST, PUT, DELETE"  # SIPI's list
    assert headers["access-control-allow-headers"] == "authorization"


def test_method_not_allowed(server):
    status, headers, _ = server.request("/grid.png/info.json", method="DELETE")
    assert status == 405
    assert "GET" in headers["allow"]


def test_keep_alive_serves_several_requests_on_one_connection(server):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    for path in ["/grid.png/info.json", "/grid.png/0,0,10,10/max/0/default.png", "/health", "/grid.png/info.json"]:
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        assert r.status == 200
    conn.close()


def test_pipelined_requests(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        req = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
        s.sendall(req * 3)
        data = b""
        while data.count(b"HTTP/1.1 200") < 3:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        assert data.count(b"HTTP/1.1 200") == 3


def test_health(server):
    body, headers = server.get_json("/health")
    assert body["status"] == "ok"
    assert isinstance(body["uptime_seconds"], int)
    assert body["version"]


def test_error_bodies_do_not_leak_paths(server, imgroot):
    for path in ["/nothing.png/info.json", "/truncated.png/full/max/0/default.jpg", "/garbage.tif/info.json",
                 "/escape.png/info.json"]:
        status, headers, body = server.request(path)
        assert status >= 400
        assert imgroot.encode() not in body and b"/tmp" not in body, (path, body)
        assert headers["content-type"].startswith("text/plain")
        assert headers["access-control-allow-origin"] == "*"


def test_favicon_is_not_an_iiif_redirect(server):
    status, headers, body = server.request("/favicon.ico")
    assert status == 200 and headers["content-type"] == "image/x-icon"
    from PIL import Image
    import io
    assert Image.open(io.BytesIO(body)).size == (32, 32)  # a real icon (SIPI serves one too)
