"""One line of a checklist (`kiosk doctor`): what was checked, pass / warn / fail, what was
seen and the fix; and how lines are counted and reported."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

Status = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class CheckResult:
    """One line of the checklist: what was checked, how it went, what was seen, the fix."""

    name: str
    status: Status
    detail: str
    fix: str = ""
    note: str = ""
    """Worth knowing though it passed (e.g. the running kiosk holds the data dir)."""


def passed(name: str, detail: str, note: str = "") -> CheckResult:
    return CheckResult(name, "pass", detail, note=note)


def warned(name: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(name, "warn", detail, fix)


def failed(name: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(name, "fail", detail, fix)


def exit_code(results: Sequence[CheckResult]) -> int:
    """0 when nothing failed (warnings allowed), 1 otherwise."""
    return 1 if any(r.status == "fail" for r in results) else 0


def report(results: Sequence[CheckResult]) -> dict[str, Any]:
    """The checklist as one JSON-ready object: the checks and a summary."""
    counts = {s: sum(r.status == s for r in results) for s in ("pass", "warn", "fail")}
    return {
        "ok": exit_code(results) == 0,
        "summary": counts,
        "checks": [asdict(r) for r in results],
    }


def human_bytes(n: float) -> str:
    """Bytes in decimal units, as disks are sold: 4.8 GB, 400 KB."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            break
        n /= 1000
    return f"{n:.0f} {unit}" if unit == "B" or n == int(n) else f"{n:.1f} {unit}"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
