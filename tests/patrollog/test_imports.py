"""patrollog runs on the phone and at HQ: it imports enforcement (and fpdf2), nothing of either side."""

from tests.test_layering import offenders


def test_patrollog_imports_only_enforcement() -> None:
    forbidden = {
        "hq",
        "sync",
        "mobile",
        "flet",
        "httpx",
        "sqlite3",
        "sqlite_utils",
        "PIL",
        "fastapi",
        "psycopg",
    }
    assert offenders("patrollog", forbidden) == []


def test_the_rule_sees_patrollog_files() -> None:
    from tests.test_layering import files

    assert {p.name for p in files("patrollog")} >= {"daylog.py", "reviewing.py", "csvlog.py", "pdf.py"}
