"""The house's import rules, checked on the source (not by importing it).

views → state → store/photos/sync.client → sync.protocol → enforcement; hq → sync.protocol → enforcement.
On the phone side one module owns each outside library: sqlite_utils only in mobile/store.py, PIL only in
the photo pipeline (mobile/photos.py and its resize jobs, mobile/photoresize.py, which only photos.py
imports), httpx only in sync/client.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def offenders(package: str, forbidden: set[str], allow: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    bad = []
    for path in files(package):
        rel = path.relative_to(ROOT).as_posix()
        if rel in allow:
            continue
        for name in imported_roots(path):
            if (
                name in forbidden
                or name.split(".")[0] in forbidden
                or any(name.startswith(f + ".") for f in forbidden)
            ):
                bad.append(f"{rel} imports {name}")
    return bad


def test_enforcement_imports_nothing_of_ours_or_io_libraries() -> None:
    forbidden = {"mobile", "sync", "hq", "flet", "sqlite_utils", "httpx", "PIL", "sqlite3"}
    assert offenders("enforcement", forbidden) == []


def test_views_talk_only_to_state() -> None:
    assert offenders("mobile/views", {"sqlite_utils", "sqlite3", "httpx", "PIL", "hq", "sync.client"}) == []


@pytest.mark.parametrize(
    ("library", "owners"),
    [
        ("sqlite_utils", {"mobile/store.py"}),
        ("PIL", {"mobile/photos.py", "mobile/photoresize.py"}),
        ("httpx", {"sync/client.py"}),
    ],
)
def test_one_module_owns_each_phone_library(library: str, owners: set[str]) -> None:
    bad = offenders("mobile", {library}, allow=owners) + offenders("sync", {library}, allow=owners)
    assert bad == []


def modules_imported(path: Path) -> set[str]:
    """Every module ``path`` imports, ``from package import module`` included (as package.module)."""
    names = imported_roots(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_resize_jobs_belong_to_the_photo_pipeline() -> None:
    """mobile/photoresize.py is part of the photo pipeline: nothing else reaches PIL through it."""
    pipeline = {"mobile/photos.py", "mobile/photoresize.py"}
    users = [
        path.relative_to(ROOT).as_posix()
        for package in ("mobile", "sync")
        for path in files(package)
        if "mobile.photoresize" in modules_imported(path)
        and path.relative_to(ROOT).as_posix() not in pipeline
    ]
    assert users == []
    assert "mobile.photoresize" in modules_imported(ROOT / "mobile" / "photos.py")


def test_sync_protocol_has_no_io() -> None:
    path = ROOT / "sync" / "protocol.py"
    if path.exists():
        forbidden = {"httpx", "sqlite3", "sqlite_utils", "socket", "mobile", "hq", "fastapi"}
        assert not {n for n in imported_roots(path) if n.split(".")[0] in forbidden}


def test_phone_side_never_imports_hq() -> None:
    assert offenders("mobile", {"hq", "fastapi", "psycopg", "argon2"}) == []
    assert offenders("sync", {"hq", "fastapi", "psycopg"}) == []


def test_hq_never_imports_phone_code() -> None:
    assert offenders("hq", {"mobile", "flet", "sync.client"}) == []


def test_the_rules_catch_a_violation(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import sqlite_utils\nfrom PIL import Image\n", encoding="utf-8")
    assert imported_roots(probe) == {"sqlite_utils", "PIL"}
    probe.write_text("from mobile import photoresize\n", encoding="utf-8")
    assert "mobile.photoresize" in modules_imported(probe)


def test_tests_and_benches_share_only_testkit() -> None:
    """bench/ never imports tests/, tests/ never import bench/ (what both need is in testkit/), testkit/
    imports neither, and no product package imports any of the three."""
    assert offenders("bench", {"tests"}) == []
    assert offenders("tests", {"bench"}) == []
    assert offenders("testkit", {"tests", "bench"}) == []
    for package in ("enforcement", "patrollog", "mobile", "sync", "hq"):
        assert offenders(package, {"testkit", "tests", "bench"}) == []
    assert (ROOT / "main.py").exists()
    kits = {"testkit", "tests", "bench"}
    assert not {n for n in imported_roots(ROOT / "main.py") if n.split(".")[0] in kits}
