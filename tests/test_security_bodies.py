"""Request bodies (issue 17, finding 6): the API token is checked before any
body is read, every route has a size cap, and an oversized form is a clean
413, never a 500 with a traceback. Against the real server (uvicorn), over
a raw socket, so what the server reads is what the test sends."""

import logging
import socket

import pytest
from hostd_support import hostd, make_home
from pages_seed import open_context

from conftest import free_port
from hostd.web.api import ensure_token
from hostd.web.app import create_app
from hostd.web.server import WebServer

MB = 1024 * 1024


@pytest.fixture
def server(tmp_path):
    home = make_home(tmp_path / "home")
    assert hostd(home, "device", "add", "w07-a", "--window", "07").exit_code == 0
    ctx = open_context(home)
    port = free_port()
    web = WebServer(create_app(ctx), "127.0.0.1", port).start()
    yield home, ("127.0.0.1", port)
    web.stop()
    ctx.store.close()


def post(address, path, length, first=b"", headers=b"Content-Type: application/json\r\n", chunked=False):
    """Send a request's head and `first` bytes of a body of `length` (or a
    chunked body); return the status line the server answers with, before
    the rest of the body is sent."""
    sock = socket.create_connection(address, timeout=10)
    try:
        head = b"POST %s HTTP/1.1\r\nHost: hall\r\n%s" % (path.encode(), headers)
        head += b"Transfer-Encoding: chunked\r\n\r\n" if chunked else b"Content-Length: %d\r\n\r\n" % length
        sock.sendall(head)
        if first:
            sock.sendall(b"%x\r\n%s\r\n" % (len(first), first) if chunked else first)
        answer = b""
        while b"\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
        return answer.split(b"\r\n", 1)[0].decode()
    finally:
        sock.close()


def test_no_token_no_body_read(server):
    home, address = server
    # 60 MB announced, nothing sent of it: the answer comes from the head alone
    assert post(address, "/api/v1/sessions", 60 * MB).endswith("401 Unauthorized")


def test_api_bodies_over_the_cap_are_413(server):
    home, address = server
    auth = b"Authorization: Bearer %s\r\nContent-Type: application/json\r\n" % ensure_token(home).encode()
    assert post(address, "/api/v1/sessions", 60 * MB, headers=auth).endswith("413 Request Entity Too Large")
    # chunked: no length to judge by, so it is counted as it comes and cut at 64 KB
    status = post(address, "/api/v1/sessions", 0, first=b" " * (100 * 1024), headers=auth, chunked=True)
    assert status.endswith("413 Request Entity Too Large")


def test_a_huge_form_is_a_clean_413_with_no_traceback(server, caplog):
    home, address = server
    form = b"Content-Type: application/x-www-form-urlencoded\r\n"
    with caplog.at_level(logging.WARNING):
        for path in ("/login", "/r/s123/rate", "/appeals/1/decide"):
            assert post(address, path, 40 * MB, headers=form).endswith("413 Request Entity Too Large"), path
            chunked = post(
                address, path, 0, first=b"comment=" + b"x" * (40 * 1024), headers=form, chunked=True
            )
            # (a rate-later link that is not one is refused before its body is read)
            expect = "400 Bad Request" if path.startswith("/r/") else "413 Request Entity Too Large"
            assert chunked.endswith(expect), path
    assert not [r for r in caplog.records if r.exc_info]


def test_forms_that_carry_a_file_are_capped_at_the_upload_limit(server):
    home, address = server
    form = b"Content-Type: multipart/form-data; boundary=x\r\n"
    limit_kb = home.config()["web"]["upload_max_kb"]
    token = b"Authorization: Bearer %s\r\n" % ensure_token(home).encode()
    for path in ("/paper", "/appeals", "/workorders/1/evidence", "/appeals/1/evidence", "/api/v1/paper"):
        head = form + (token if path.startswith("/api/") else b"")
        assert post(address, path, (limit_kb + 64) * 1024, headers=head).endswith(
            "413 Request Entity Too Large"
        )
    # a page form that carries no file keeps its 16 KB cap
    assert post(address, "/workorders/1/move", 40 * 1024, headers=form).endswith(
        "413 Request Entity Too Large"
    )
