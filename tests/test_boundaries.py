"""Architecture: the engine side never imports textual (DESIGN.md, STYLE.md).

The import-linter contracts in pyproject.toml check the imports in the source
(`lint-imports`, run by `make lint` and `make test`); this checks what actually
gets loaded when every engine-side module is imported, sub-packages included.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

from builders import REPO

ENGINE_PACKAGES = [
    "kiosk.core",
    "kiosk.engine",
    "kiosk.storage",
    "kiosk.ml",
    "kiosk.ops",
    "scoring",
]


def engine_modules() -> list[str]:
    """Every module of the engine-side packages, found on disk (a new one is covered)."""
    modules = []
    for package in ENGINE_PACKAGES:
        path = REPO.joinpath(*package.split("."))
        modules.append(package)
        for info in pkgutil.walk_packages([str(path)], prefix=f"{package}."):
            modules.append(info.name)
    return sorted(modules)


def test_engine_side_covers_every_sub_package() -> None:
    modules = engine_modules()
    for expected in (
        "kiosk.engine.engine",
        "kiosk.core.api",
        "kiosk.storage.store",
        "kiosk.ml.tiny",
    ):
        assert expected in modules
    assert not [m for m in modules if m.startswith(("kiosk.ui", "kiosk.cli"))]


def test_engine_side_does_not_load_textual_at_run_time() -> None:
    code = (
        f"import sys\nfor m in {engine_modules()!r}: __import__(m)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'textual_image')"
        " or m.startswith('kiosk.ui')]\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=180
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_phone_server_loads_neither_the_screen_nor_the_engine() -> None:
    """kiosk.web sees the engine only through kiosk.core's EngineAPI (the CLI hands the
    engine in), and `kiosk serve` runs without textual."""
    code = (
        "import sys\nimport kiosk.web.server, kiosk.web.headless\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'torch', 'scoring')"
        " or m.startswith(('kiosk.ui', 'kiosk.engine', 'kiosk.storage', 'kiosk.ml'))]\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=180
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_sqlite_booth_never_loads_psycopg() -> None:
    """PostgreSQL's driver and pool are imported only when a PostgreSQL store is opened:
    a single booth on SQLite starts as fast as before."""
    code = (
        "import sys\nfrom pathlib import Path\nimport tempfile\n"
        "import kiosk.engine.engine, kiosk.cli\nfrom kiosk.storage.store import open_store\n"
        "open_store('', Path(tempfile.mkdtemp()) / 'kiosk.db').close()\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('psycopg', 'psycopg_pool')]\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=180
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
