"""Code tables: our channels and reasons -> a province's pf and evalDetail,
what the shipped tables cover, and the one-line errors of a table or
adapter that cannot work."""

import logging

import pytest
from hostd_support import hostd, make_home

from hostd.base.config import defaults, validate
from hostd.base.errors import ConfigError
from hostd.sync import codetable, wire
from hostd.sync.service import check
from hostd.upstream import records


@pytest.mark.parametrize("name", ["own.toml", "epoint-example.toml"])
def test_shipped_tables_cover_every_channel_and_reason(name):
    table = codetable.load(codetable.shipped(name))
    assert table.missing() == []
    assert set(records.CHANNELS) <= set(table.pf) and set(records.REASONS) <= set(table.eval_detail)
    assert {"sms", "paper"} <= set(table.pf) and {"convenience", "not_given"} <= set(table.eval_detail)


def test_the_epoint_example_says_it_is_an_example_and_where_its_codes_come_from():
    text = open(codetable.shipped("epoint-example.toml"), encoding="utf-8").read()
    assert codetable.load(codetable.shipped("epoint-example.toml")).example
    assert "510,517" in text and "Epoint" in text and "not published" in text
    assert not codetable.load(codetable.shipped("own.toml")).example


def write_table(tmp_path, drop):
    text = open(codetable.shipped("own.toml"), encoding="utf-8").read()
    lines = [line for line in text.splitlines() if not line.startswith(drop + " ")]
    path = tmp_path / "province.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_a_table_missing_a_code_names_it_in_one_line(tmp_path):
    with pytest.raises(ConfigError) as caught:
        codetable.load(write_table(tmp_path, "sms"))
    message = str(caught.value)
    assert "pf.sms" in message and "\n" not in message
    with pytest.raises(ConfigError, match="evalDetail.convenience"):
        codetable.load(write_table(tmp_path, "convenience"))


def test_epoint_needs_a_province_table(tmp_path):
    up = dict(defaults()["upstream"], url="http://127.0.0.1:1", adapter="epoint")
    with pytest.raises(ConfigError, match="epoint-example.toml"):
        codetable.for_config(up)


def test_hostd_run_stops_in_one_line_on_a_table_that_cannot_work(tmp_path):
    home = make_home(tmp_path / "home")
    home.set("upstream", "url", "http://127.0.0.1:9")
    home.set("upstream", "code_table", write_table(tmp_path, "not_given"))
    result = hostd(home, "run")
    assert result.exit_code != 0
    assert "evalDetail.not_given" in result.output and result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_an_unknown_adapter_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        validate({"upstream": {"adapter": "gtmap"}})
    message = str(caught.value)
    assert "upstream.adapter" in message and "epoint" in message and "\n" not in message


def test_an_example_table_is_a_warning_at_start(caplog):
    config = defaults()
    config["upstream"].update(url="http://127.0.0.1:9", adapter="epoint")
    config["upstream"]["code_table"] = codetable.shipped("epoint-example.toml")
    with caplog.at_level(logging.WARNING, logger="hostd.upstream"):
        assert check(config).example
    assert any("EXAMPLE" in r.getMessage() for r in caplog.records)


def translator(**settings):
    up = dict(defaults()["upstream"], **settings)
    return wire.Translator(codetable.for_config(up), up)


def rating(**fields):
    body = {"projectNo": "C1", "serviceNumber": 1, "assessNumber": 1, "channel": "device", "satisfaction": 2}
    body.update(reasons=["attitude", "quality"], writingEvaluation="", deptCode="", areaCode="")
    body.update(fields)
    return body


def test_the_translator_maps_channels_and_reasons_and_fills_the_halls_codes():
    sent = translator(dept_code="11330100MB0000001X", area_code="330100000000").to_wire("rating", rating())
    assert sent["pf"] == 4 and sent["evalDetail"] == "1001,1003"
    assert "channel" not in sent and "reasons" not in sent
    assert sent["deptCode"] == "11330100MB0000001X" and sent["areaCode"] == "330100000000"
    epoint = translator(adapter="epoint", code_table=codetable.shipped("epoint-example.toml"))
    assert epoint.to_wire("rating", rating(channel="qr"))["pf"] == "3"


def test_a_reason_not_given_goes_up_with_the_configured_code_and_text():
    body = rating(reasons=[], reasonNotGiven=True)
    sent = translator().to_wire("rating", body)
    assert sent["evalDetail"] == "1090" and sent["writingEvaluation"] == "评价人未选择具体原因（系统补充）"
    assert "reasonNotGiven" not in sent
    sent = translator(no_reason_code="1099", no_reason_text="未选原因").to_wire("rating", body)
    assert (sent["evalDetail"], sent["writingEvaluation"]) == ("1099", "未选原因")


def test_same_compares_only_what_was_sent_and_code_lists_in_any_order():
    sent = {"projectNo": "C1", "serviceNumber": 1, "evalDetail": "1001,1003", "satisfaction": 2}
    stored = {
        "projectNo": "C1",
        "serviceNumber": "1",
        "evalDetail": "1003,1001",
        "satisfaction": 2,
        "extra": 1,
    }
    assert wire.same(sent, stored)
    assert not wire.same(sent, dict(stored, satisfaction=3))
    assert wire.differences(sent, dict(stored, satisfaction=3)) == {"satisfaction": (2, 3)}
    assert not wire.same(sent, None)
