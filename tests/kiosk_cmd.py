"""Run the real `kiosk` command in a subprocess, as a person at a shell would."""

from __future__ import annotations

import subprocess
import sys

from builders import REPO


def kiosk(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m kiosk ARGS` from the repo root; output captured as text (`input`: piped
    to its standard input)."""
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=REPO,
    )
