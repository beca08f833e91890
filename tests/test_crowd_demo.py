"""The crowd rehearsal headless (examples/crowd.tsv through the real demo, in process):
every prompt ends drawn or refused with the right reason."""

from __future__ import annotations

import io
import json
from pathlib import Path

from builders import REPO
from engine_fixtures import demo_engine

from kiosk.core.config import load_settings
from kiosk.ml.tiny import with_tiny_models
from kiosk.ops.demo import run_demo


def test_the_crowd_rehearsal_plays_headless(data_dir: Path) -> None:
    out = io.StringIO()
    settings = with_tiny_models(load_settings(REPO / "kiosk.toml", data_dir=data_dir))
    # As in the tmux rehearsal: a script plays at machine speed, so a visitor's bursts
    # would ask a human check (tested on its own); the rate limit still applies.
    limits = settings.limits.model_copy(
        update={"burst_prompts": 20, "rate_per_minute": 30.0, "rate_burst": 10}
    )
    settings = settings.model_copy(update={"limits": limits})
    assert (
        run_demo(settings, REPO / "examples" / "crowd.tsv", demo_engine, as_json=True, out=out) == 0
    )
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    drawn = [(e["nickname"], e["prompt"], e["dedup"]) for e in events if e["event"] == "done"]
    refused = [(e["nickname"], e["kind"]) for e in events if e["event"] == "refused"]
    assert refused == [("mina", "code")]  # the wrong code, and only that line
    assert len(drawn) == 10, drawn  # 11 prompt lines, one refused
    assert ("bo", "a duck on a pond", True) in drawn  # mina's drawing, ranked after her
    assert ("pat", "a duck in the snow", False) in drawn  # saved while paused, drawn after
    staff = [(e["action"], e["ok"]) for e in events if e["event"] == "staff"]
    assert staff == [("pause", True), ("resume", True)]
    resumed = next(i for i, e in enumerate(events) if e.get("action") == "resume")
    pats = [i for i, e in enumerate(events) if e["event"] == "done" and e["nickname"] == "pat"]
    assert len(pats) == 2 and min(pats) > resumed  # saved while paused, drawn after
    (raffle,) = [e for e in events if e["event"] == "raffle"]
    assert len(raffle["winners"]) == 2
    board = events[-1]
    assert {r["nickname"] for r in board["rows"]} == {"mina", "jun", "ola", "pat", "bo"}
