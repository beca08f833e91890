"""Architecture: the engine side never imports textual (DESIGN.md, STYLE.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Everything in kiosk/ is engine side except the UI (and the CLI that starts it).
UI_SIDE = {"app", "graphics", "messages", "cli", "__main__", "__init__"}
ENGINE_SIDE = sorted(p.stem for p in (REPO / "kiosk").glob("*.py") if p.stem not in UI_SIDE)


def engine_files() -> list[Path]:
    return [REPO / "kiosk" / f"{m}.py" for m in ENGINE_SIDE] + sorted(
        (REPO / "scoring").rglob("*.py")
    )


def test_engine_side_source_has_no_textual_import() -> None:
    for path in engine_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not [n for n in names if n.split(".")[0] in ("textual", "textual_image")], (
                f"{path.name} imports {names}"
            )


def test_engine_side_does_not_load_textual_at_run_time() -> None:
    modules = [f"kiosk.{m}" for m in ENGINE_SIDE] + ["scoring", "scoring.judge"]
    code = (
        f"import sys\nfor m in {modules!r}: __import__(m)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'textual_image')]\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
