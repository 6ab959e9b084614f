"""Zones at HQ on both backends: versions, all-or-nothing imports, the change fan-out, CLI and API."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hq.cli.main import run_to_string
from hq.demo_zones import demo_zones
from hq.storage.base import ChangeKind, Storage
from hq.storage.sqlite import SqliteStorage
from hq.zones import ZonesRefused, export_zones, import_zones
from sync.protocol import ZONE_VERSION_KEY, Errno, ZoneData
from testkit.hqkit import HQ_USER, OFFICER, Hq, sign_in

AT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def encoded(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def zone_changes(storage: Storage) -> dict[str, ZoneData]:
    with storage.transaction(readonly=True) as tx:
        page = tx.changes_after(None, district="金水区", badge="1023", limit=1000)
    return {c.key: ZoneData.model_validate(c.data) for c in page.changes if c.kind is ChangeKind.ZONE}


def test_versions_number_up_and_store_the_whole_set(storage: Storage) -> None:
    with storage.transaction() as tx:
        assert tx.zone_version() is None
        assert (
            tx.add_zone_version({"type": "FeatureCollection", "features": [{"id": "a"}]}, at=AT, by="9001")
            == 1
        )
        assert tx.add_zone_version({"type": "FeatureCollection", "features": []}, at=AT, by="cli") == 2
    with storage.transaction(readonly=True) as tx:
        current = tx.zone_version()
        first = tx.zone_version(1)
        assert tx.zone_version(3) is None
    assert current is not None
    assert current.version == 2
    assert current.features == 0
    assert first is not None
    assert first.data["features"] == [{"id": "a"}]
    assert first.imported_by == "9001"
    assert first.imported_at == AT


def test_a_failed_transaction_leaves_no_version(storage: Storage) -> None:
    def failing() -> None:
        with storage.transaction() as tx:
            tx.add_zone_version({"type": "FeatureCollection", "features": []}, at=AT, by="cli")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing()
    with storage.transaction(readonly=True) as tx:
        assert tx.zone_version() is None


def test_import_fans_out_only_what_changed(storage: Storage) -> None:
    doc = demo_zones()
    first = import_zones(storage, encoded(doc), by="9001", at=AT)
    assert (first.version, first.added, first.changed, first.removed) == (1, len(doc["features"]), 0, 0)
    changes = zone_changes(storage)
    assert changes[ZONE_VERSION_KEY].version == 1
    assert changes[ZONE_VERSION_KEY].total == len(doc["features"])
    assert changes["st-renmin"].feature is not None
    assert changes["st-renmin"].version == 1

    later = copy.deepcopy(doc)
    later["features"] = [f for f in later["features"] if f["id"] != "sp-huayuan-morning"]
    later["features"][0]["properties"]["class"] = "regulated"  # 人民路 becomes 规范街
    second = import_zones(storage, encoded(later), by="9001", at=AT)
    assert (second.version, second.added, second.changed, second.removed) == (2, 0, 1, 1)
    changes = zone_changes(storage)
    assert changes["st-renmin"].version == 2
    assert changes["st-renmin"].feature is not None
    assert changes["st-renmin"].feature["properties"]["class"] == "regulated"
    assert changes["sp-huayuan-morning"].feature is None
    assert changes["sp-huayuan-morning"].version == 2
    assert changes["st-nongye"].version == 1  # unchanged: not sent again
    exported = export_zones(storage)
    assert exported["properties"]["version"] == 2
    assert len(exported["features"]) == len(later["features"])


def test_a_bad_file_is_refused_whole(storage: Storage) -> None:
    doc = demo_zones()
    doc["features"][3]["geometry"] = {"type": "Point", "coordinates": [113.6, 34.7]}
    doc["features"][5]["properties"]["class"] = "nice"
    with pytest.raises(ZonesRefused) as refused:
        import_zones(storage, encoded(doc), by="9001", at=AT)
    assert [p.index for p in refused.value.problems] == [3, 5]
    with storage.transaction(readonly=True) as tx:
        assert tx.zone_version() is None
    assert zone_changes(storage) == {}


def test_cli_import_and_export(tmp_path: Path) -> None:
    db = tmp_path / "hq.db"
    assert run_to_string(["init", "--db", str(db)])[0] == 0
    good = tmp_path / "zones.geojson"
    good.write_text(json.dumps(demo_zones(), ensure_ascii=False), encoding="utf-8")
    code, text = run_to_string(["zones", "import", str(good), "--db", str(db)])
    assert code == 0
    assert "区域版本 1" in text
    assert "zone version 1" in text
    out = tmp_path / "out.geojson"
    assert run_to_string(["zones", "export", "--db", str(db), "--out", str(out)])[0] == 0
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported["properties"]["version"] == 1
    assert [f["id"] for f in exported["features"]] == [f["id"] for f in demo_zones()["features"]]


def test_cli_reports_every_bad_feature_and_imports_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "hq.db"
    run_to_string(["init", "--db", str(db)])
    doc = demo_zones()
    doc["features"][0]["properties"]["buffer_m"] = 0
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    code, _ = run_to_string(["zones", "import", str(bad), "--db", str(db)])
    err = capsys.readouterr().err
    assert code == 1
    assert "第 0 个要素" in err
    assert "feature 0" in err
    assert "nothing imported" in err
    storage = SqliteStorage(db)
    try:
        with storage.transaction(readonly=True) as tx:
            assert tx.zone_version() is None
    finally:
        storage.close()


def test_api_only_hq_imports_and_every_officer_reads(hq: Hq) -> None:
    with hq.client() as client:
        officer = sign_in(client, OFFICER)
        chief = sign_in(client, HQ_USER)
        body = encoded(demo_zones())
        refused = client.put("/v1/zones", content=body, headers=officer)
        assert refused.status_code == 403, refused.text
        assert refused.json()["errno"] == Errno.FORBIDDEN
        done = client.put("/v1/zones", content=body, headers=chief)
        assert done.status_code == 200, done.text
        assert done.json()["version"] == 1
        read = client.get("/v1/zones", headers=officer)
        assert read.status_code == 200
        assert len(read.json()["features"]) == len(demo_zones()["features"])
        bad = demo_zones()
        bad["features"][2]["geometry"]["coordinates"] = "x"
        answer = client.put("/v1/zones", content=encoded(bad), headers=chief)
        assert answer.status_code == 422
        assert answer.json()["errno"] == Errno.ZONES_INVALID
        assert answer.json()["detail"]["problems"][0]["index"] == 2
        huge = client.put("/v1/zones", content=b" " * (9 * 2**20), headers=chief)
        assert huge.status_code == 413
        assert huge.json()["errno"] == Errno.ZONES_TOO_LARGE
        pulled = client.get("/v1/changes", params={"limit": 1000}, headers=officer).json()["changes"]
        assert any(c["kind"] == "zone" and c["id"] == ZONE_VERSION_KEY for c in pulled)
