"""Day-one commands for hall staff (issue 19): units, a staff member who
leaves, the staff-number check, and `session show` in words."""

from hostd_support import hostd, make_home

from hostd.db.store import open_database
from hostd.rules import staff


def one_line_error(result, *words):
    assert result.exit_code != 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output, (
        result.output
    )
    for word in words:
        assert word in lines[0], lines[0]


def test_units_are_added_listed_renamed_and_required(tmp_path):
    home = make_home(tmp_path / "home")
    one_line_error(
        hostd(home, "staff", "add", "s1", "--name", "张三", "--staff-no", "0042", "--unit", "u-gaj"),
        "未知单位 u-gaj",
        "hostd unit add u-gaj --name",
    )
    one_line_error(hostd(home, "window", "add", "07", "--unit", "u-gaj"), "hostd unit add u-gaj")
    assert hostd(home, "unit", "list").output.startswith("no units yet")
    added = hostd(home, "unit", "add", "u-gaj", "--name", "公安局")
    assert added.exit_code == 0, added.output
    assert (
        hostd(home, "staff", "add", "s1", "--name", "张三", "--staff-no", "0042", "--unit", "u-gaj").exit_code
        == 0
    )
    assert hostd(home, "window", "add", "07", "--unit", "u-gaj").exit_code == 0
    assert "u-gaj        公安局" in hostd(home, "unit", "list").output
    assert "staff 1, windows 1" in hostd(home, "unit", "list").output
    renamed = hostd(home, "unit", "rename", "u-gaj", "--name", "市公安局")
    assert renamed.exit_code == 0 and "市公安局" in renamed.output
    one_line_error(hostd(home, "unit", "rename", "u-none", "--name", "x"), "未知单位 u-none")
    db = open_database(home.db_path)
    assert staff.get_staff(db, "s1")["unit_id"] == "u-gaj"


def test_a_staff_number_is_letters_digits_and_dashes(tmp_path):
    home = make_home(tmp_path / "home")
    for bad in ("<b>1", "00 42", "工号1", "a;b"):
        one_line_error(
            hostd(home, "staff", "add", "s1", "--name", "张三", "--staff-no", bad), "工号只能是字母、数字或 -"
        )
    assert hostd(home, "staff", "add", "s1", "--name", "张三", "--staff-no", "A-0042").exit_code == 0


def test_a_staff_member_who_leaves_is_kept_and_never_on_duty_again(tmp_path):
    home = make_home(tmp_path / "home")
    assert hostd(home, "staff", "add", "s1", "--name", "张三", "--staff-no", "0042").exit_code == 0
    left = hostd(home, "staff", "leave", "s1")
    assert left.exit_code == 0 and "has left" in left.output, left.output
    one_line_error(hostd(home, "staff", "leave", "s1"), "已离职")
    one_line_error(hostd(home, "staff", "leave", "nobody"), "未知工作人员 nobody")
    db = open_database(home.db_path)
    assert staff.get_staff(db, "s1")["left_at"] is not None  # kept for the record
    with db.conn:
        staff.add_window(db, "h1", "07")
    try:
        staff.on_duty(db, "h1", "07", "s1", 0)
    except staff.UnknownStaff as exc:
        assert "已离职" in str(exc)
    else:
        raise AssertionError("a staff member who left went on duty")


def test_leaving_takes_them_off_duty(tmp_path):
    home = make_home(tmp_path / "home")
    db = open_database(home.db_path)
    with db.conn:
        staff.add_staff(db, "s1", "张三", "0042", 0)
        staff.add_window(db, "h1", "07")
        staff.on_duty(db, "h1", "07", "s1", 10)
        changed = staff.leave(db, "h1", "s1", 20, actor="test")
    assert changed == ["07"]
    assert staff.get_window(db, "h1", "07")["staff_id"] is None
    log = db.conn.execute("SELECT action FROM duty_log WHERE staff_id = 's1' ORDER BY id").fetchall()
    assert [c for (c,) in log] == ["on", "off"]


def test_session_show_names_the_level_and_the_channel(tmp_path):
    from pages_seed import seed

    home = make_home(tmp_path / "home")
    db = open_database(home.db_path)
    with db.conn:
        seed(db)
    level = db.conn.execute("SELECT level FROM ratings WHERE session_id = 'sess-1'").fetchone()[0]
    shown = hostd(home, "session", "show", "sess-1")
    assert shown.exit_code == 0, shown.output
    names = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
    assert "rated %s (书面评价)" % names[level] in shown.output, shown.output


def test_a_second_run_on_the_same_home_says_one_is_running(tmp_path):
    from hostd_helpers import HostdProcess

    home = make_home(tmp_path / "home")
    daemon = HostdProcess(home)
    try:
        second = hostd(home, "run")
        one_line_error(second, "hostd is already running on", "(pid %d)" % daemon.proc.pid)
    finally:
        daemon.stop()
    assert "hostd ready" not in second.output


def test_the_ranking_says_who_it_leaves_out(tmp_path):
    from pages_seed import seed

    from hostd.reporting import periods

    home = make_home(tmp_path / "home")
    text = home.config_path.read_text()
    assert "min_ratings = 10" in text
    home.config_path.write_text(text.replace("min_ratings = 10", "min_ratings = 4"))
    db = open_database(home.db_path)
    with db.conn:
        seed(db)  # 张伟 4 ratings, 李娜 3, this quarter
    quarter = periods.quarter_of(int(__import__("time").time()))
    ranked = hostd(home, "ranking", "--quarter", quarter, "--by", "staff")
    assert ranked.exit_code == 0, ranked.output
    assert "张伟" in ranked.output.splitlines()[2]  # the table's first row
    assert ranked.output.strip().splitlines()[-1] == (
        "not ranked, fewer than 4 ratings in %s (ranking.min_ratings): 李娜（0012） (3)" % quarter
    )


def test_session_cancel_needs_the_daemon_and_show_tells_a_cancelled_one(tmp_path):
    from hostd.base import config as config_schema
    from hostd.rules import sessions

    home = make_home(tmp_path / "home")
    assert hostd(home, "device", "add", "w07-a", "--window", "07").exit_code == 0
    one_line_error(hostd(home, "session", "cancel", "s-x", "--reason", "录入错误"), "not running", "hostd")
    db = open_database(home.db_path)
    with db.conn:
        staff.add_staff(db, "s1", "张三", "0042", 0)
        made = sessions.create(db, config_schema.defaults(), "h1", "07", "A001", "户口迁移", "s1", (), 100)
        sessions.cancel(db, made["session_id"], "办件信息录入错误", "api", 200)
    shown = hostd(home, "session", "show", made["session_id"])
    assert shown.exit_code == 0, shown.output
    assert "已取消" in shown.output and "cancelled: 办件信息录入错误 (by api)" in shown.output
