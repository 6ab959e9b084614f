"""streetpatrol-hq: init, seed-demo (known PINs, history that makes 警告/处罚), export CSV, add-user,
serve."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from enforcement.model import Stage
from hq.auth import PinHasher
from hq.cli.main import run_to_string
from hq.demo import SUBJECTS, USERS
from hq.export import EXPORT_COLUMNS
from hq.settings import SettingsError, settings_from_env
from hq.storage.sqlite import SqliteStorage
from testkit.ports import free_port

ROOT = Path(__file__).resolve().parents[3]
CHEAP_PINS = {
    "STREETPATROL_PIN_TIME_COST": "1",
    "STREETPATROL_PIN_MEMORY_KIB": "1024",
    "STREETPATROL_PIN_PARALLELISM": "1",
}


@pytest.fixture(autouse=True)
def cheap_pin_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads the argon2 cost from the environment; tests use a cheap one."""
    for key, value in CHEAP_PINS.items():
        monkeypatch.setenv(key, value)


def test_init_creates_the_schema(tmp_path: Path) -> None:
    db = tmp_path / "hq.db"
    code, out = run_to_string(["init", "--db", str(db)])
    assert code == 0
    assert "database ready" in out
    storage = SqliteStorage(db)
    with storage.transaction(readonly=True) as tx:
        assert tx.list_users() == []
    storage.close()


def test_a_missing_database_option_is_one_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run_to_string(["init"])
    assert code == 1
    err = capsys.readouterr().err
    assert "--db" in err
    assert "错误" in err


def test_pin_cost_comes_from_the_environment() -> None:
    settings = settings_from_env()
    assert (settings.pin_hashing.time_cost, settings.pin_hashing.memory_cost) == (1, 1024)
    assert settings_from_env({}).pin_hashing.memory_cost == 65536
    assert settings_from_env({}).pin_hashing.concurrent is None  # one per core
    assert settings_from_env({"STREETPATROL_PIN_CONCURRENT": "3"}).pin_hashing.concurrent == 3


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("STREETPATROL_PIN_CONCURRENT", "abc"),
        ("STREETPATROL_PIN_CONCURRENT", "0"),
        ("STREETPATROL_PIN_MEMORY_KIB", "-5"),
        ("STREETPATROL_MAX_PHOTO_BYTES", "16MB"),
        ("STREETPATROL_TOKEN_TTL_HOURS", "nan"),
        ("STREETPATROL_TOKEN_TTL_HOURS", "inf"),
        ("STREETPATROL_TOKEN_TTL_HOURS", ""),
    ],
)
def test_a_bad_setting_in_the_environment_is_one_clear_error(
    key: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SettingsError) as err:
        settings_from_env({key: value})
    assert err.value.field == key
    assert key in err.value.zh
    assert "正数" in err.value.zh
    monkeypatch.setenv(key, value)
    code, _ = run_to_string(["serve", "--db", str(tmp_path / "hq.db"), "--blobs", str(tmp_path / "b")])
    assert code == 1  # refused before anything is served
    assert f"错误：环境变量 {key} 须为正数" in capsys.readouterr().err
    assert not (tmp_path / "hq.db").exists()


def test_seed_demo_prints_pins_that_sign_in_and_stages_that_escalate(tmp_path: Path) -> None:
    db = tmp_path / "hq.db"
    code, out = run_to_string(["seed-demo", "--db", str(db)])
    assert code == 0
    for user in USERS:
        assert f"{user.officer.badge} | {user.officer.name}" in out
        assert user.pin in out
    assert "第3次 → 处罚 / Penalty" in out
    assert "第2次 → 警告 / Warning" in out
    assert "5 新增 added" in out
    storage = SqliteStorage(db)
    pins = PinHasher(settings_from_env().pin_hashing)
    with storage.transaction(readonly=True) as tx:
        leaders = [u for u in tx.list_users() if u.officer.role.value == "leader"]
        assert {u.officer.squad_code for u in leaders} == {"ZD01", "ZD02"}
        user = tx.get_user(USERS[1].officer.badge)
        assert user is not None
        assert pins.verify(user.pin_hash, USERS[1].pin)
        history = tx.subject_history(SUBJECTS[0].id)
        assert [e.stage for e in history] == [Stage.PERSUASION, Stage.WARNING]
    storage.close()
    # a second run adds nothing
    code, out = run_to_string(["seed-demo", "--db", str(db)])
    assert "0 新增 added, 5 已存在 already there" in out


def test_export_writes_the_cases_as_csv(tmp_path: Path) -> None:
    db = tmp_path / "hq.db"
    run_to_string(["seed-demo", "--db", str(db)])
    out_file = tmp_path / "cases.csv"
    code, out = run_to_string(["export", "--db", str(db), "--out", str(out_file)])
    assert code == 0
    assert "exported 5 cases" in out
    text = out_file.read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert len(rows) == 5
    grills = [r for r in rows if r["violation_code"] == "0510"]
    assert [r["hq_stage"] for r in grills] == ["1", "2"]
    assert grills[0]["violation_name"] == "露天烧烤"
    code, out = run_to_string(["export", "--db", str(db), "--squad", "ZD02"])
    assert len(list(csv.DictReader(io.StringIO(out)))) == 2


def test_add_user_needs_a_known_squad_and_a_numeric_pin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "hq.db"
    run_to_string(["seed-demo", "--db", str(db)])
    base = ["add-user", "--db", str(db), "--badge", "1099", "--name", "新队员"]
    assert run_to_string([*base, "--squad", "ZD09", "--pin", "123456"])[0] == 1
    assert "ZD09" in capsys.readouterr().err
    assert run_to_string([*base, "--squad", "ZD01", "--pin", "12"])[0] == 1
    assert run_to_string([*base, "--squad", "ZD01", "--pin", "123456"])[0] == 0
    storage = SqliteStorage(db)
    with storage.transaction(readonly=True) as tx:
        user = tx.get_user("1099")
    storage.close()
    assert user is not None
    assert user.officer.squad_name == "人民路中队"


def _free_port() -> int:
    return free_port()


def test_serve_runs_the_service_and_a_demo_officer_signs_in(tmp_path: Path) -> None:
    db = tmp_path / "hq.db"
    run_to_string(["seed-demo", "--db", str(db)])
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hq.cli.main",
            "serve",
            "--db",
            str(db),
            "--blobs",
            str(tmp_path / "blobs"),
            "--port",
            str(port),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        assert health.json()["protocols"] == [1]
        officer = USERS[1]
        answer = httpx.post(
            f"http://127.0.0.1:{port}/v1/auth/sign-in",
            json={"badge": officer.officer.badge, "pin": officer.pin, "device_id": "demo-phone"},
            timeout=10,
        )
        assert answer.status_code == 200
        assert answer.json()["officer"]["name"] == officer.officer.name
    finally:
        process.terminate()
        process.communicate(timeout=10)


@pytest.mark.parametrize("pin", ["1234", "12345", "１２３４５６", "12345a", "١٢٣٤٥٦"])
def test_add_user_refuses_pins_under_six_digits_and_saves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pin: str
) -> None:
    db = tmp_path / "hq.db"
    run_to_string(["seed-demo", "--db", str(db)])
    capsys.readouterr()
    code, out = run_to_string(
        ["add-user", "--db", str(db), "--badge", "1098", "--name", "短密码", "--squad", "ZD01", "--pin", pin]
    )
    assert code != 0
    err = capsys.readouterr().err
    assert "至少6位数字" in err
    assert "at least 6 digits" in err
    assert "saved" not in out
    storage = SqliteStorage(db)
    with storage.transaction(readonly=True) as tx:
        assert tx.get_user("1098") is None
    storage.close()


def test_the_demo_users_have_six_digit_pins() -> None:
    from hq.demo import USERS

    assert all(len(u.pin) >= 6 and u.pin.isascii() and u.pin.isdigit() for u in USERS)
