"""The export page (issue 19): what a supervisor exports, under Chinese
names with Chinese column headers; internal tables for admins only, under
技术数据."""

import csv
import io
import re

from test_pages_auth import client_for, hall, login, seeded_home  # noqa: F401  (fixtures)

from hostd.web.pages import export_names


def test_a_supervisor_sees_chinese_names_and_no_internal_table(hall):  # noqa: F811
    ctx, _made = hall
    client = client_for(ctx)
    login(client, "zhao")
    page = client.get("/export").text
    shown = re.findall(r"<tr><td>([^<]+)</td><td>\d+</td>", page)
    assert shown == [label for _name, label in export_names.SUPERVISOR_TABLES]
    assert "技术数据" not in page and "registry_version" not in page and "_outbox" not in page
    assert client.get("/export/upstream_outbox.csv").status_code == 404
    rows = list(csv.reader(io.StringIO(client.get("/export/work_orders.csv").text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["工单编号", "评价编号", "服务记录"] and len(rows) == 3


def test_an_admin_also_gets_the_technical_tables(hall):  # noqa: F811
    ctx, _made = hall
    client = client_for(ctx)
    login(client, "admin")
    page = client.get("/export").text
    technical = page.split("技术数据")[1]
    assert "<code>device_status</code>" in technical and "<code>upstream_outbox</code>" in technical
    assert "<code>ratings</code>" not in technical  # under its Chinese name above
    text = client.get("/export/registry_version.csv").text
    assert text.startswith("\ufeffid,generation")


def test_every_column_of_a_supervisor_table_has_a_chinese_name(hall):  # noqa: F811
    ctx, _made = hall
    with ctx.store.read() as db:
        for table, _label in export_names.SUPERVISOR_TABLES:
            columns = [r[1] for r in db.execute("PRAGMA table_info([%s])" % table)]
            missing = [c for c in columns if c not in export_names.COLUMNS.get(table, {})]
            missing = [c for c in missing if c not in ("key_hex", "previous_key_hex", "wire")]
            assert not missing, (table, missing)
