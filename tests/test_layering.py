"""The house's import rules, checked on the source (not by importing it).

views → state → store/photos/sync.client → sync.protocol → enforcement; hq → sync.protocol → enforcement.
Views never import each other: a view module imports only mobile.views.common (a module of the new-case
package also its sibling step modules); the shell is handed the screen registry (mobile.views.screens).
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


def view_imports_allowed(rel: str) -> set[str]:
    """The view modules ``rel`` (a path under mobile/views) may import."""
    allowed = {"mobile.views.common"}
    if rel.startswith("mobile/views/new_case/"):
        allowed |= {
            "mobile.views.new_case." + path.stem for path in (ROOT / "mobile/views/new_case").glob("*.py")
        }
    return allowed


def test_views_never_import_another_screen() -> None:
    """Shared widgets live in mobile/views/common.py; only the registry (screens.py) imports the screens,
    and the shell gets it from mobile/app.py."""
    bad = []
    for path in files("mobile/views"):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "mobile/views/screens.py":
            continue
        own = rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        allowed = view_imports_allowed(rel) | {own}
        for name in imported_roots(path):
            if name.startswith("mobile.views") and name not in allowed:
                bad.append(f"{rel} imports {name}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "mobile.views":
                bad.append(f"{rel} imports from mobile.views")
    assert bad == []
    assert "mobile.views.screens" in modules_imported(ROOT / "mobile" / "app.py")


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
    probe.write_text("from mobile.views.squad import PAGE\n", encoding="utf-8")
    assert "mobile.views.squad" not in view_imports_allowed("mobile/views/review.py")
    assert "mobile.views.squad" in imported_roots(probe)
