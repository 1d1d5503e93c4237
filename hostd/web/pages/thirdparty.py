"""/thirdparty: 第三方评价, the results of 明察暗访, callback surveys and 体验官
visits imported from Excel or CSV (hostd/casework/thirdparty.py).

Managers see the quarter's 四个满意度 by window, beside the same windows'
device ratings (never mixed into them), and by staff member; a supervisor
imports a file, all of it or none: a bad row refuses the file and the page
lists every bad row with its reason. The template downloads as Excel or CSV.
"""

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from hostd.casework import thirdparty
from hostd.files import tables, uploads
from hostd.reporting import periods, stats
from hostd.web import auth
from hostd.web.pages.common import MANAGERS, now, quarter_spec, redirect_back, render
from hostd.web.pages.evidence import file_of

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _quarter(text):
    spec = (text or "").strip().upper() or quarter_spec()
    try:
        return spec, periods.period(spec)
    except periods.BadPeriod:
        raise HTTPException(400, "季度格式应为 2026Q4 / the quarter must look like 2026Q4")


def _page(request, user, quarter, errors=None, status_code=200):
    ctx = request.app.state.ctx
    spec, (start, end) = _quarter(quarter)
    with ctx.store.read() as db:
        by_window = thirdparty.summary(db, ctx.hall, start, end, "window")
        by_staff = thirdparty.summary(db, ctx.hall, start, end, "staff")
        devices = {r["key"]: r for r in stats.breakdown(db, "window", start, end, hall=ctx.hall)}
        hall_rates = stats.rates(db, start, end, hall=ctx.hall)
        names = dict(db.execute("SELECT staff_id, name FROM staff").fetchall())
        batches = thirdparty.batches(db)
    return render(
        request,
        "pages/thirdparty.html",
        user,
        "第三方评价",
        "/thirdparty",
        status_code=status_code,
        quarter=spec,
        by_window=by_window,
        by_staff=by_staff,
        devices=devices,
        hall_rates=hall_rates,
        staff_names=names,
        batches=batches,
        dimensions=thirdparty.DIMENSIONS,
        errors=errors,
        upload_max_kb=ctx.config["web"]["upload_max_kb"],
    )


@router.get("/thirdparty")
def page(request: Request, quarter: str = "", user=Depends(auth.require_role(*MANAGERS))):
    return _page(request, user, quarter)


@router.post("/thirdparty/import")
def import_file(
    request: Request, form=Depends(auth.require_csrf), user=Depends(auth.require_role("supervisor"))
):
    ctx = request.app.state.ctx
    data, name = file_of(form)
    if data is None:
        return redirect_back(request, "/thirdparty", err="请选择要导入的 Excel 或 CSV 文件")
    try:
        kind, rows = tables.read(data, ctx.config["web"]["upload_max_kb"])
        done = ctx.store.run(
            lambda db: thirdparty.import_table(db, ctx.hall, kind, data, rows, name, user["username"], now())
        )
    except uploads.UploadError as exc:
        return redirect_back(request, "/thirdparty", err=str(exc).split(" / ")[0])
    except thirdparty.ImportRefused as exc:
        errors = [str(exc).split(" / ")[0]] + exc.errors
        return _page(request, user, "", errors=errors, status_code=422)
    return redirect_back(
        request, "/thirdparty", ok="已导入 %d 条第三方评价（批次 %d）" % (done["rows"], done["batch_id"])
    )


@router.get("/thirdparty/template.{fmt}")
def template(fmt: str, user=Depends(auth.require_role(*MANAGERS))):
    try:
        body = thirdparty.template_file(fmt)
    except ValueError:
        raise HTTPException(404, "模板只有 xlsx 和 csv 两种")
    media = XLSX if fmt == "xlsx" else "text/csv; charset=utf-8"
    headers = {"Content-Disposition": 'attachment; filename="thirdparty-template.%s"' % fmt}
    return Response(body, media_type=media, headers=headers)
