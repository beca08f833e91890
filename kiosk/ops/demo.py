"""Headless scripted mode: drive the engine from a script, print events and the board.

Human output uses rich (a progress bar, one line per result, the final table);
`--json` prints one JSON object per event per line instead.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
)
from rich.text import Text

from kiosk.core.api import BoardRow, HeadlessEngine, StoreError
from kiosk.core.blocklist import Blocklist
from kiosk.core.commands import StaffError, parse_command
from kiosk.core.config import Settings
from kiosk.core.events import (
    CheckAsked,
    Done,
    Event,
    Failed,
    Flagged,
    ModelsFailed,
    ModelsLoading,
    Notice,
    Queued,
    RaffleDrawn,
    Refused,
    Retrying,
    StaffActed,
    Started,
)
from kiosk.core.numbers import decimal_number, whole_number
from kiosk.core.policy import PolicyError, QueueFullError, format_percent
from kiosk.ops.report import board_rows, board_table


class ScriptError(Exception):
    """The demo script cannot be read or has a malformed line."""


@dataclass(frozen=True, kw_only=True)
class Line:
    """One scripted submission, or (`staff` set) a staff action: the words after `!`."""

    number: int
    nickname: str = ""
    prompt: str = ""
    code: str | None = None
    """A player code in a third column: it claims an unclaimed nickname, else it is checked
    (the demo rehearses the game, not identity: lines without one are never asked)."""
    staff: str = ""


def read_script(path: Path) -> list[Line]:
    """One `nickname<TAB>prompt[<TAB>code]` per line, or `!` and a staff action (`!hide bo
    --reason spam`, `!raffle --winners 2 --among 10`); blank lines and `#` comments are
    skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(f"cannot read demo script {path}: {exc}") from None
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if raw.lstrip().startswith("!"):
            lines.append(Line(number=number, staff=raw.strip()[1:].strip()))
            continue
        nickname, tab, rest = raw.partition("\t")
        prompt, _, code = rest.partition("\t")
        if not tab or not nickname.strip() or not prompt.strip():
            raise ScriptError(f"{path}:{number}: expected nickname<TAB>prompt, got {raw!r}")
        lines.append(
            Line(number=number, nickname=nickname, prompt=prompt, code=code.strip() or None)
        )
    return lines


EngineFactory = Callable[[Settings], HeadlessEngine]


class Demo:
    """One headless run over a script."""

    def __init__(
        self,
        settings: Settings,
        make_engine: EngineFactory,
        *,
        as_json: bool,
        out: TextIO = sys.stdout,
    ) -> None:
        self.make_engine = make_engine
        self.settings = settings
        self.as_json = as_json
        self.out = out
        self.console = Console(file=out, highlight=False)
        self.lock = threading.Lock()
        self.failed = 0
        self.done = 0
        self.progress: Progress | None = None
        self.task = TaskID(0)

    def emit(self, obj: dict[str, object]) -> None:
        with self.lock:
            self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
            self.out.flush()

    def on_event(self, event: Event) -> None:
        if isinstance(event, Failed):
            self.failed += 1
        if (isinstance(event, Done) and event.job_id is not None) or isinstance(event, Failed):
            self.done += 1
        if self.as_json:
            self.emit(event.to_dict())
        else:
            self.show(event)

    def show(self, event: Event) -> None:
        """One human line per interesting event; the bar shows the rest."""
        p = self.progress
        if p is None:
            return
        if isinstance(event, ModelsLoading):
            p.update(self.task, description=f"{escape(event.stage)}...")
        elif isinstance(event, Started):
            p.update(self.task, description=f"drawing for {escape(event.nickname)}")
        elif isinstance(event, Queued):
            p.update(self.task, total=(p.tasks[0].total or 0) + 1)
        elif isinstance(event, Done):
            if event.job_id is not None:
                p.advance(self.task)
            tag = " (same prompt as before: the original drawing)" if event.dedup else ""
            p.console.print(
                _said(
                    ("✔ ", "green"),
                    event.nickname,
                    "  ",
                    (format_percent(event.score), "bold cyan"),
                    f"  rank {event.rank}  ",
                    (event.prompt, "italic"),
                    (tag, "dim"),
                )
            )
        elif isinstance(event, Failed):
            p.advance(self.task)
            p.console.print(
                _said(
                    ("✘ ", "red"),
                    event.nickname,
                    "  ",
                    (event.prompt, "italic"),
                    f"  {event.reason}",
                )
            )
        elif isinstance(event, Retrying):
            p.console.print(
                _said(("↻ ", "yellow"), event.nickname, f"  {event.reason}; trying once more")
            )
        elif isinstance(event, Notice):
            p.console.print(Text(event.message, style="bold yellow"))
        elif isinstance(event, StaffActed):
            mark = ("⚑ ", "magenta") if event.ok else ("✘ ", "red")
            p.console.print(Text.assemble(mark, ("staff ", "bold"), event.message))
        elif isinstance(event, RaffleDrawn):
            p.console.print(
                Text.assemble(
                    ("★ ", "yellow"),
                    (f"raffle {event.raffle_id} on {event.target} ", "bold"),
                    f"({event.rule}, {event.eligible} eligible, seed {event.seed}): ",
                    (", ".join(event.winners), "bold yellow"),
                )
            )
        elif isinstance(event, ModelsFailed):
            p.console.print(Text(event.reason, style="red"))
        elif isinstance(event, CheckAsked):
            p.console.print(
                _said(
                    ("? ", "yellow"),
                    event.nickname,
                    "  burst: a human check is asked (a script cannot answer it)",
                )
            )
        elif isinstance(event, Refused):
            p.console.print(
                _said(
                    ("✋ ", "yellow"),
                    event.nickname,
                    "  ",
                    (event.prompt, "italic"),
                    f"  refused ({event.kind}): {event.reason}",
                )
            )
        elif isinstance(event, Flagged):
            p.console.print(
                _said(
                    ("⚑ ", "red"),
                    event.nickname,
                    f"  drawing {event.submission_id} held for staff review ({event.flags})",
                )
            )

    def notice(self, message: str, kind: str = "notice") -> None:
        if self.as_json:
            self.emit({"event": kind, "message": message})
        else:
            style = "bold yellow" if kind == "notice" else "red"
            (self.progress.console if self.progress else self.console).print(
                Text(message, style=style)
            )

    def run(self, lines: list[Line]) -> int:
        if not self.as_json:
            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=self.console,
                transient=True,
            )
            self.task = self.progress.add_task("starting...", total=0)
            self.progress.start()
        try:
            return self._run(lines)
        finally:
            if self.progress:
                self.progress.stop()

    def _run(self, lines: list[Line]) -> int:
        engine = self.make_engine(self.settings)
        engine.subscribe(self.on_event)
        engine.start()
        try:
            if not engine.wait_ready():
                if self.as_json:
                    print(engine.load_error, file=sys.stderr)
                return 2
            engine.wait_idle()  # first finish what a previous run left pending
            for line in lines:
                if line.staff:
                    engine.wait_idle()  # a timeline: the prompts above are drawn first
                    self._staff(engine, line)
                else:
                    self._submit(engine, line)
            engine.wait_idle()
            board = engine.leaderboard(limit=20)
        finally:
            engine.stop()
        self._board(board, engine.target_id)
        return 1 if self.failed else 0

    def _submit(self, engine: HeadlessEngine, line: Line) -> None:
        for attempt in (1, 2):
            try:
                engine.submit(line.nickname, line.prompt, code=line.code)
                return
            except QueueFullError:
                if attempt == 1:
                    engine.wait_idle()
                    continue
                raise
            except PolicyError:
                return  # the engine published it as a `refused` event
            except StoreError as exc:
                self.notice(f"line {line.number}: {exc}", "rejected")
                return

    def _staff(self, engine: HeadlessEngine, line: Line) -> None:
        """A `!` line: a staff action as the words after `kiosk staff`, or a raffle."""
        try:
            if line.staff.split()[:1] == ["raffle"]:
                engine.raffle(**raffle_options(line.staff))
            else:
                engine.staff(parse_command(line.staff))
        except (StaffError, StoreError) as exc:
            self.notice(f"line {line.number}: {exc}", "rejected")

    def _board(self, rows: list[BoardRow], target: str) -> None:
        if self.as_json:
            self.emit({"event": "leaderboard", "target": target, "rows": board_rows(rows)})
            return
        title = f"Leaderboard - {target}"
        if self.settings.tiny:
            title += " (tiny demo models: scores mean nothing)"
        self.console.print(board_table(rows, title))


def _number(parse: Callable[[str], float]) -> Callable[[str], float]:
    """An argparse type from a kiosk.core.numbers rule: its sentence, when refused."""

    def number(text: str) -> float:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return number


def raffle_options(text: str) -> dict[str, Any]:
    """`raffle --winners 2 --among 10 [--above P] [--target ID] [--seed S]` as keywords;
    numbers as the CLI takes them (ASCII digits, within what SQLite stores)."""
    parser = argparse.ArgumentParser(prog="!raffle", add_help=False, exit_on_error=False)
    parser.add_argument(
        "--winners", type=_number(lambda t: whole_number(t, 1, 1000)), required=True
    )
    parser.add_argument("--among", type=_number(lambda t: whole_number(t, 1)))
    parser.add_argument("--above", type=_number(lambda t: decimal_number(t, 0, 100)))
    parser.add_argument("--target")
    parser.add_argument("--seed", type=_number(whole_number))
    try:
        args = parser.parse_args(shlex.split(text)[1:])
    except (argparse.ArgumentError, ValueError) as exc:
        raise StaffError(f"cannot read {text!r}: {exc}") from None
    return vars(args)


def run_demo(
    settings: Settings,
    script: Path,
    make_engine: EngineFactory,
    *,
    as_json: bool,
    out: TextIO = sys.stdout,
) -> int:
    """Exit status: 0 when every job is done, 1 if some failed, 2 if models did not load.
    A word list that cannot be read is a BlocklistError (a ConfigError) that names it.
    `make_engine` builds the engine (the CLI passes the real one, checking only the
    player codes the script gives)."""
    lines = read_script(script)
    # As `kiosk run`'s preflight: checked before the engine opens the data dir.
    Blocklist.load(settings.blocklist_path, profanity=settings.words.profanity)
    return Demo(settings, make_engine, as_json=as_json, out=out).run(lines)


def _said(mark: tuple[str, str], nickname: str, *rest: str | tuple[str, str]) -> Text:
    """One line of the demo about a visitor: a coloured mark, the nickname, the rest."""
    return Text.assemble(mark, (nickname, "bold"), *rest)
