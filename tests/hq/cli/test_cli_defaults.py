"""Commands taking --db/--pg default to $STREETPATROL_PG, $STREETPATROL_DB, then scripts/run's
var/hq/hq.db; with none of them, one clear error in Chinese and English."""

from __future__ import annotations

from pathlib import Path

import pytest

from hq.cli import main as cli
from hq.cli import storage as clistorage
from hq.cli.main import run_to_string
from tests.hq.cli.test_cli import CHEAP_PINS


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(clistorage.DB_ENV, raising=False)
    monkeypatch.delenv(clistorage.PG_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(clistorage, "default_db_paths", lambda: (tmp_path / clistorage.DEFAULT_DB,))
    for key, value in CHEAP_PINS.items():
        monkeypatch.setenv(key, value)


def _seed(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert run_to_string(["seed-demo", "--db", str(path)])[0] == 0


def test_without_a_database_the_error_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in (["verify"], ["export"], ["report", "--squad", "ZD01", "--format", "csv"], ["init"]):
        code, _ = run_to_string(command)
        assert code == 1, command
        err = capsys.readouterr().err
        assert "错误：请指定 --db" in err
        assert "error: give --db PATH or --pg DSN (or set $STREETPATROL_DB / $STREETPATROL_PG)" in err
        assert str(tmp_path / "var" / "hq" / "hq.db") in err
    assert not (tmp_path / "var").exists()  # nothing was created


def test_scripts_run_database_is_the_default(tmp_path: Path) -> None:
    _seed(tmp_path / "var" / "hq" / "hq.db")
    code, out = run_to_string(["verify"])
    assert (code, "audit log intact" in out) == (0, True)
    code, out = run_to_string(["export"])
    assert code == 0
    assert out.startswith("case_no,")
    code, out = run_to_string(["report", "--squad", "ZD01", "--format", "csv"])
    assert code == 0
    assert out.startswith("中队巡查日志,")


def test_the_environment_names_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "elsewhere.db"
    monkeypatch.setenv(clistorage.DB_ENV, str(other))
    assert run_to_string(["verify"])[0] == 1  # named but missing: said so, not created
    assert "elsewhere.db" in capsys.readouterr().err
    assert not other.exists()
    _seed(other)
    code, out = run_to_string(["verify"])
    assert (code, "audit log intact" in out) == (0, True)


def test_a_postgresql_dsn_in_the_environment_comes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(tmp_path / "var" / "hq" / "hq.db")
    monkeypatch.setenv(clistorage.DB_ENV, str(tmp_path / "var" / "hq" / "hq.db"))
    monkeypatch.setenv(clistorage.PG_ENV, "postgresql://hq@127.0.0.1/streetpatrol")
    args = cli.build_parser().parse_args(["verify"])
    assert clistorage.storage_url(args) == "postgresql://hq@127.0.0.1/streetpatrol"
    args = cli.build_parser().parse_args(["verify", "--db", "given.db"])
    assert clistorage.storage_url(args) == "given.db"  # an option beats the environment


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@127.0.0.1:5432/db", True),
        ("postgres://u@h/db", True),
        ("host=127.0.0.1 port=5432 dbname=t_1 user=streetpatrol", True),
        ("dbname='my db' user=x", True),
        ("user=streetpatrol dbname=t_cede440fe8ec4af0 host=127.0.0.1 port=60449", True),
        ("hq.db", False),
        ("var/hq/hq.db", False),
        ("sqlite:///var/hq/hq.db", False),
        (":memory:", False),
        ("a=b.db", False),  # a file name with "=" in it names no server or database
        ("/tmp/dbname=x/hq.db", False),
    ],
)
def test_which_urls_name_postgresql(url: str, expected: bool) -> None:
    from hq.storage import is_postgres

    assert is_postgres(url) is expected


def test_pg_option_never_opens_a_sqlite_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--pg (or $STREETPATROL_PG) with something that is not a PostgreSQL DSN is refused, not taken for
    a SQLite file name (which once created a file named after a conninfo string in the working directory)."""
    code, _ = run_to_string(["verify", "--pg", "hq.db"])
    assert code == 1
    err = capsys.readouterr().err
    assert "错误：--pg 不是 PostgreSQL 连接串" in err
    assert "error: --pg is not a PostgreSQL DSN" in err
    assert list(tmp_path.iterdir()) == []
