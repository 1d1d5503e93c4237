"""A browser gets errors as a page in Chinese with a way back; the API, and
any client that does not ask for HTML, keeps its JSON (issue 19)."""

from fastapi.testclient import TestClient
from test_pages_auth import csrf, hall, login, seeded_home  # noqa: F401  (fixtures)

from hostd.web.app import create_app

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}  # as a browser sends it


def browser(ctx, **kwargs):
    client = TestClient(create_app(ctx), follow_redirects=False, **kwargs)
    client.headers.update(HTML)
    return client


def message(page):
    return page.split('id="error-message">')[1].split("</p>")[0]


def test_a_page_the_role_may_not_open(hall):  # noqa: F811
    ctx, _made = hall
    client = browser(ctx)
    login(client, "li")  # 窗口工作人员
    page = client.get("/fleet")
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "无权访问" in page.text and message(page.text) == "您的账号（窗口工作人员）无权访问此页面"
    assert "返回上一页" in page.text and 'href="/"' in page.text


def test_not_found_bad_id_and_forged_form(hall):  # noqa: F811
    ctx, _made = hall
    client = browser(ctx)
    login(client, "zhao")
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "页面不存在" in missing.text and "Not Found" not in missing.text
    bad = client.get("/workorders/abc")
    assert bad.status_code == 422 and "提交的内容有误" in bad.text and "int_parsing" not in bad.text
    forged = client.post("/workorders/1/move", data={"to_state": "contacted", "csrf": "forged"})
    assert forged.status_code == 403 and "CSRF" in message(forged.text) and "刷新页面" in forged.text


def test_the_api_and_other_clients_keep_json(hall):  # noqa: F811
    ctx, _made = hall
    client = browser(ctx)
    api = client.get("/api/v1/sessions/s-none")  # no token
    assert api.status_code == 401 and api.headers["content-type"] == "application/json"
    plain = TestClient(create_app(ctx), follow_redirects=False)  # Accept: */*
    login(plain, "li")
    denied = plain.get("/fleet")
    assert denied.status_code == 403 and denied.json() == {"detail": "您的账号（窗口工作人员）无权访问此页面"}
    assert browser(ctx).get("/dashboard").status_code == 303  # to the login page, as before


def test_an_unhandled_error_is_a_page_with_a_reference_in_the_log(hall, caplog):  # noqa: F811
    ctx, _made = hall
    app = create_app(ctx)

    def boom():
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    client = TestClient(app, raise_server_exceptions=False)
    page = client.get("/boom", headers=HTML)
    assert page.status_code == 500 and "服务器内部错误" in page.text and "a bug" not in page.text
    reference = page.text.split("错误编号 ")[1].split("：")[0]
    assert any(reference in r.getMessage() and r.exc_info for r in caplog.records)
    plain = client.get("/boom")
    assert plain.status_code == 500 and plain.json()["detail"]["error"] == "internal"
