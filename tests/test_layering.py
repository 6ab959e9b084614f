"""The house's import rules, checked on the source (not by importing it).

views → state → store/photos/mobile.hqclient → sync.protocol → enforcement; hq → sync.protocol → enforcement.
Views never import each other: a view module imports only mobile.views.common (a module of the new-case
package also its sibling step modules); the shell is handed the screen registry (mobile.views.screens).
On the phone side one module owns each outside library: sqlite3 and sqlite_utils only in the store
(mobile/store.py and its parts, mobile/store_*.py), PIL only in the photo pipeline (mobile/photos.py, its
resize jobs mobile/photoresize.py, its decode plan mobile/photodecode.py with its PNG rows in pieces
mobile/photopngrows.py, which only photodecode.py imports, and its WebP/HEIC decoding
mobile/photowhole.py, which only photos.py imports, and its colour-profile conversion mobile/photocolour.py,
no littlecms; pillow_heif only in photowhole.py, ctypes only in the libwebp
binding mobile/photowebp.py and the libheif tile binding mobile/photoheif.py, which import no PIL), httpx
only in the HQ client (mobile/hqclient/). sync/ is what phone and HQ share: it imports neither. At HQ the
database drivers (sqlite3, psycopg) stay in hq/storage/, which hands its callers its own errors; boto3 only
in hq/blobs/s3.py. No module imports itself round a circle, counting imports inside functions too: an
import moved into a function to dodge a circle is still a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
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


#: The phone store: mobile/store.py and its parts, the only phone-side modules that touch SQLite.
STORE_MODULES = {"mobile/store.py"} | {
    path.relative_to(ROOT).as_posix() for path in (ROOT / "mobile").glob("store_*.py")
}


def offenders(package: str, forbidden: set[str], allow: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Imports of ``forbidden`` in ``package``; ``allow`` names files, or folders ending in "/"."""
    bad = []
    for path in files(package):
        rel = path.relative_to(ROOT).as_posix()
        if rel in allow or any(a.endswith("/") and rel.startswith(a) for a in allow):
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
    assert (
        offenders("mobile/views", {"sqlite_utils", "sqlite3", "httpx", "PIL", "hq", "mobile.hqclient"}) == []
    )


@pytest.mark.parametrize(
    ("library", "owners"),
    [
        ("sqlite_utils", STORE_MODULES),
        ("sqlite3", STORE_MODULES),
        (
            "PIL",
            {
                "mobile/photos.py",
                "mobile/photoresize.py",
                "mobile/photodecode.py",
                "mobile/photopngrows.py",
                "mobile/photowhole.py",
                "mobile/photocolour.py",
            },
        ),
        ("pillow_heif", {"mobile/photowhole.py"}),
        # libwebp's decoder (through Pillow's extension) and libheif's tile decoding (pillow-heif's libheif)
        ("ctypes", {"mobile/photowebp.py", "mobile/photoheif.py"}),
        ("httpx", {"mobile/hqclient/"}),
    ],
)
def test_one_module_owns_each_phone_library(library: str, owners: set[str]) -> None:
    bad = offenders("mobile", {library}, allow=owners) + offenders("sync", {library}, allow=owners)
    assert bad == []


def test_only_the_s3_store_imports_boto3() -> None:
    """boto3 (and its botocore) belong to hq/blobs/s3.py: the rest of HQ sees the BlobStore contract only,
    and the phone and the shared protocol never reach an AWS library."""
    libraries = {"boto3", "botocore", "s3transfer"}
    bad = offenders("hq", libraries, allow={"hq/blobs/s3.py"})
    bad += offenders("mobile", libraries) + offenders("sync", libraries) + offenders("enforcement", libraries)
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
    """mobile/photoresize.py and mobile/photodecode.py are part of the photo pipeline: nothing else reaches
    PIL through them."""
    pipeline = {
        "mobile/photos.py",
        "mobile/photoresize.py",
        "mobile/photodecode.py",
        "mobile/photopngrows.py",
        "mobile/photowhole.py",
        "mobile/photowebp.py",
        "mobile/photoheif.py",
        "mobile/photocolour.py",
    }
    parts = (
        "mobile.photoresize",
        "mobile.photodecode",
        "mobile.photopngrows",
        "mobile.photowhole",
        "mobile.photowebp",
        "mobile.photoheif",
        "mobile.photocolour",
    )
    for part in parts:
        users = [
            path.relative_to(ROOT).as_posix()
            for package in ("mobile", "sync")
            for path in files(package)
            if part in modules_imported(path) and path.relative_to(ROOT).as_posix() not in pipeline
        ]
        assert users == []
    for part in ("mobile.photoresize", "mobile.photodecode", "mobile.photowhole", "mobile.photocolour"):
        assert part in modules_imported(ROOT / "mobile" / "photos.py")
    # colour profiles are converted without littlecms, which Flet's Android Pillow lacks
    assert not any("ImageCms" in name for name in modules_imported(ROOT / "mobile" / "photocolour.py"))
    assert "mobile.photopngrows" in modules_imported(ROOT / "mobile" / "photodecode.py")
    for binding in ("photowebp", "photoheif"):
        assert f"mobile.{binding}" in modules_imported(ROOT / "mobile" / "photowhole.py")
        assert "PIL" not in imported_roots(ROOT / "mobile" / f"{binding}.py")  # ctypes and the stdlib only


def test_sync_protocol_has_no_io() -> None:
    path = ROOT / "sync" / "protocol.py"
    if path.exists():
        forbidden = {"httpx", "sqlite3", "sqlite_utils", "socket", "mobile", "hq", "fastapi"}
        assert not {n for n in imported_roots(path) if n.split(".")[0] in forbidden}


def test_phone_side_never_imports_hq() -> None:
    assert offenders("mobile", {"hq", "fastapi", "psycopg", "argon2"}) == []
    assert offenders("sync", {"hq", "fastapi", "psycopg"}) == []


def test_hq_never_imports_phone_code() -> None:
    assert offenders("hq", {"mobile", "flet"}) == []


def test_sync_is_only_what_phone_and_hq_share() -> None:
    """sync/ holds the wire protocol both sides use; the phone's HQ client lives in mobile/hqclient/."""
    assert offenders("sync", {"mobile", "flet", "httpx"}) == []
    assert not (ROOT / "sync" / "client.py").exists()


def test_hq_wings_point_down() -> None:
    """HQ's wings: storage/ and blobs/ are the floor (they import no other wing); ingest/ writes through
    storage and never reaches a router, a page or the command line; the dashboard (dash/) is wired only by
    hq.app and the command line, the API's work-order list excepted (it shows the desk's page's list:
    ``hq.dash.figures.listed_orders``); nothing outside cli/ imports the command line."""
    wings = {"hq.ingest", "hq.dash", "hq.cli", "hq.api", "hq.blobs"}
    assert offenders("hq/storage", wings) == []
    assert offenders("hq/blobs", wings - {"hq.blobs"}) == []
    assert offenders("hq/ingest", {"hq.dash", "hq.cli", "hq.api"}) == []
    allow_dash = {"hq/app.py", "hq/cli/", "hq/dash/", "hq/api/workorder_routes.py"}
    assert offenders("hq", {"hq.dash"}, allow=allow_dash) == []
    assert offenders("hq", {"hq.cli"}, allow={"hq/cli/"}) == []


def test_database_drivers_stay_in_hq_storage() -> None:
    """The app and everything else at HQ see ``hq.storage``'s errors (e.g. ``StorageUnavailable``), never a
    driver's: the backends translate at the boundary."""
    storage = {path.relative_to(ROOT).as_posix() for path in files("hq/storage")}
    assert offenders("hq", {"sqlite3", "psycopg", "psycopg_pool"}, allow=storage) == []


PROJECT_PACKAGES = ("enforcement", "patrollog", "mobile", "sync", "hq")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that runs (at module level or in a function), not ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            for other in node.orelse:
                yield from _runtime_imports(ast.Module(body=[other], type_ignores=[]))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _runtime_imports(node)


def import_graph(packages: tuple[str, ...] = PROJECT_PACKAGES) -> dict[str, set[str]]:
    """Module → the modules of ``packages`` it imports (``from package import module`` as the module)."""
    paths = {module_name(path): path for package in packages for path in files(package)}

    def known(name: str) -> str:
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        targets: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(known(alias.name) for alias in node.names)
                continue
            base = node.module or ""
            if node.level:
                package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.add(full if full in paths else known(base))
        graph[name] = {target for target in targets if target and target != name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(component)
    return cycles


def test_no_import_cycles_at_hq() -> None:
    """hq.app → the routers → hq.auth → hq.api.errors …: every HQ module imports only what is below it."""
    graph = import_graph()
    hq_only = {m: {t for t in ts if t.split(".")[0] == "hq"} for m, ts in graph.items() if m.startswith("hq")}
    assert import_cycles(hq_only) == []


def test_no_import_cycles_in_the_project() -> None:
    """No circle anywhere: the views' ring (shell ↔ screens) ended when the shell was handed the screen
    registry."""
    assert import_cycles(import_graph()) == []


def test_the_cycle_check_sees_a_circle_dodged_inside_a_function(tmp_path: Path) -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [{"a", "b", "c"}]
    assert import_cycles({"a": {"b"}, "b": set()}) == []
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import hq.app\n"
        "def f():\n    from hq import cli\n",
        encoding="utf-8",
    )
    found = [ast.unparse(node) for node in _runtime_imports(ast.parse(probe.read_text(encoding="utf-8")))]
    assert found == ["from typing import TYPE_CHECKING", "from hq import cli"]


def test_the_rules_catch_a_violation(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import sqlite_utils\nfrom PIL import Image\n", encoding="utf-8")
    assert imported_roots(probe) == {"sqlite_utils", "PIL"}
    probe.write_text("from mobile import photoresize\n", encoding="utf-8")
    assert "mobile.photoresize" in modules_imported(probe)
    probe.write_text("from mobile.views.squad import PAGE\n", encoding="utf-8")
    assert "mobile.views.squad" not in view_imports_allowed("mobile/views/review.py")
    assert "mobile.views.squad" in imported_roots(probe)


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
