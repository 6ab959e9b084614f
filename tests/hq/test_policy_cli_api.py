"""``streetpatrol-hq policy show / set`` and ``GET /v1/policy`` (HQ users only), and the ``policy`` change
in a pull (only to a phone that says which version it holds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hq.cli.main import run_to_string
from hq.policy import publish
from hq.storage.sqlite import SqliteStorage
from testkit.hqkit import HQ_USER, LEADER, OFFICER, make_hq, sign_in


def test_set_validates_versions_and_audits_and_show_lists_the_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "hq.db")
    code, out = run_to_string(["policy", "show", "--db", db])
    assert code == 0
    assert "内置规则（第 0 版）" in out
    assert "built-in rule (version 0)" in out
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"street_classes": {"示范街": {"scope": "city"}}}), encoding="utf-8")
    code, _ = run_to_string(["policy", "set", "--db", db, str(bad)])
    err = capsys.readouterr().err
    assert code == 1
    assert "street_classes.示范街.scope" in err
    assert "错误：政策设置" in err
    assert "error: policy setting" in err
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert run_to_string(["policy", "set", "--db", db, str(broken)])[0] == 1
    assert "不是有效的 JSON" in capsys.readouterr().err
    good = tmp_path / "policy.json"
    good.write_text(
        json.dumps({"window_days": 180, "note": "试行半年回溯"}, ensure_ascii=False), encoding="utf-8"
    )
    code, out = run_to_string(["policy", "set", "--db", db, str(good), "--by", "9001"])
    assert code == 0
    assert "第 1 版 / version 1: 9001" in out
    assert "回溯期 180 天" in out
    assert run_to_string(["policy", "set", "--db", db, str(good)])[0] == 0
    code, out = run_to_string(["policy", "show", "--db", db, "--history"])
    assert "第 2 版 / version 2: cli" in out
    assert "历次版本 / history:" in out
    assert "第 1 版 / version 1: 9001" in out
    code, out = run_to_string(["policy", "show", "--db", db, "--version", "1"])
    assert "第 1 版 / version 1: 9001" in out
    assert run_to_string(["policy", "show", "--db", db, "--version", "9"])[0] == 1
    storage = SqliteStorage(Path(db))
    with storage.transaction(readonly=True) as tx:
        sets = [e for e in tx.audit_events() if e.action == "policy_set"]
    storage.close()
    assert [(e.actor, e.detail["version"]) for e in sets] == [("9001", 1), ("cli", 2)]


def test_the_api_shows_the_policy_to_hq_only_and_phones_get_it_in_their_pull(tmp_path: Path) -> None:
    hq = make_hq(tmp_path)
    try:
        with hq.client() as client:
            hq_auth = sign_in(client, HQ_USER)
            empty = client.get("/v1/policy", headers=hq_auth).json()
            assert empty["current"] is None
            assert empty["history"] == []
            assert empty["builtin_zh"][0] == "内置规则（第 0 版）"
            with hq.storage.transaction() as tx:
                publish(tx, {"window_days": 90}, by=HQ_USER.badge, at=hq.clock())
            with hq.storage.transaction() as tx:
                publish(
                    tx, {"window_days": 120, "spot_exempts_vending": True}, by=HQ_USER.badge, at=hq.clock()
                )
            info = client.get("/v1/policy", headers=hq_auth).json()
            assert info["current"]["version"] == 2
            assert info["current"]["document"] == {"window_days": 120, "spot_exempts_vending": True}
            assert [v["version"] for v in info["history"]] == [2, 1]
            assert info["history"][1]["created_by"] == HQ_USER.badge
            assert "回溯期 90 天" in info["history"][1]["summary_zh"][1]
            for caller in (OFFICER, LEADER):
                denied = client.get("/v1/policy", headers=sign_in(client, caller))
                assert denied.status_code == 403
            officer = sign_in(client, OFFICER)
            plain = client.get("/v1/changes", headers=officer).json()
            assert "policy" not in [c["kind"] for c in plain["changes"]]  # an older phone: never
            fresh = client.get("/v1/changes", params={"policy": 0}, headers=officer).json()
            policies = [c for c in fresh["changes"] if c["kind"] == "policy"]
            assert [p["data"]["version"] for p in policies] == [2]
            # a phone whose cursor is past the feed's change but holds version 1 still gets version 2
            behind = client.get(
                "/v1/changes", params={"policy": 1, "cursor": plain["cursor"]}, headers=officer
            ).json()
            assert [c["data"]["version"] for c in behind["changes"] if c["kind"] == "policy"] == [2]
            current = client.get(
                "/v1/changes", params={"policy": 2, "cursor": plain["cursor"]}, headers=officer
            ).json()
            assert [c for c in current["changes"] if c["kind"] == "policy"] == []
    finally:
        hq.close()
