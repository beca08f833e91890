"""A crowd rehearsal: the real `kiosk run --profile tiny` in tmux at 120x40, keys at about
8 a second, a real staff PIN. Six visitors take turns at one keyboard, staff act in the
middle, and each screen is checked as the visitor would read it."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
import tomlkit
from builders import REPO, tiny_settings_in
from tmux_fixtures import STARTUP_S, Tmux, kiosk_run

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
PIN = "482193"
KEY_GAP_S = 0.125  # 8 keys a second
SITTING_IDLE_S = 10
CODE = re.compile(r"(?:Your player code|내 참가자 코드): (\d{4})")
DRAWN = r"Done! {nick} scored \d{{1,3}}\.\d\d%"


class Visitor:
    """One person at the keyboard: they type at a person's pace and read the screen."""

    def __init__(self, tmux: Tmux) -> None:
        self.tmux = tmux

    def type(self, text: str) -> None:
        for ch in text:
            self.tmux.type(ch)
            time.sleep(KEY_GAP_S)

    def press(self, *keys: str) -> None:
        for key in keys:
            self.tmux.keys(key)
            time.sleep(KEY_GAP_S)

    def sees(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        return self.tmux.wait(pattern, timeout)

    def nickname(self, nick: str) -> None:
        self.sees(r"Type your nickname|Next player: type|닉네임을 입력하고")
        self.type(nick)
        self.press("Enter")

    def prompt(self, text: str) -> None:
        self.type(text)
        self.press("Enter")

    def draws(self, nick: str, text: str) -> None:
        """One prompt, drawn: the code is never asked for."""
        self.prompt(text)
        screen = self.sees(DRAWN.format(nick=re.escape(nick)) + r"|is taken|Quick check").string
        assert "is taken" not in screen and "Quick check" not in screen, screen
        self.sees(rf"Prompt: {re.escape(text[:30])}", 10)

    def new_player_code(self) -> str:
        """The code box of a new player, then Enter: the code stays in the result pane."""
        self.sees(r"Your player code\s|내 참가자 코드\s")
        self.press("Enter")
        return self.sees(CODE.pattern).group(1)


def staff(visitor: Visitor, *keys: str) -> None:
    """Staff step in: F12, the PIN, the keys, then back to the booth."""
    visitor.press("F12")
    visitor.sees(r"Staff PIN")
    visitor.type(PIN)
    visitor.press("Enter")
    visitor.sees(r"STAFF MODE")
    visitor.press(*keys)


def start_booth(tmp_path: Path, tiny_models: Path, tmux: Tmux) -> Path:
    """The repo's booth config with a real PIN, a short sitting and no attract mode."""
    from kiosk.core.pin import hash_pin, write_pin_hash

    config = tmp_path / "kiosk.toml"
    doc = tomlkit.parse((REPO / "kiosk.toml").read_text(encoding="utf-8"))
    event, limits = doc["event"], doc["limits"]
    event["sitting_idle_s"] = SITTING_IDLE_S
    event["idle_timeout_s"] = 0
    # A crowd plays fast: the bursts of one visitor must not ask a human check here (the
    # check has its own end-to-end test); the rate limit still applies.
    limits["burst_prompts"] = 20
    limits["rate_per_minute"] = 30.0
    config.write_text(tomlkit.dumps(doc), encoding="utf-8")
    shutil.copytree(REPO / "assets", tmp_path / "assets")
    write_pin_hash(config, hash_pin(PIN))
    data = tmp_path / "data"
    tiny_settings_in(data, tiny_models)
    tmux.start(kiosk_run(config, data, "echo kiosk exited: $?; sleep 30"))
    tmux.wait(r"Leaderboard", STARTUP_S)
    return data


@pytest.mark.xdist_group("e2e")
def test_six_visitors_take_turns_with_staff_in_the_middle(
    tmp_path: Path, tiny_models: Path, tmux: Tmux
) -> None:
    start_booth(tmp_path, tiny_models, tmux)
    v = Visitor(tmux)

    # 1. mina: three prompts in one sitting, her code asked never, given once.
    v.nickname("mina")
    v.prompt("a duck on a pond")
    mina_code = v.new_player_code()
    v.sees(DRAWN.format(nick="mina"))
    v.draws("mina", "a swan at dusk")
    v.draws("mina", "two birds on a lake")
    third = tmux.screen()
    assert "is taken" not in third and f"Your player code: {mina_code}" in third, third
    v.press("F3")  # I'm done
    v.sees(r"Thanks for playing! Next player")
    cleared = tmux.screen()
    assert "mina" not in cleared.split("Leaderboard")[0], cleared  # the form is empty

    # 2. jun switches to Korean for his sitting; it ends with Ctrl+N, back in English.
    v.press("F2")
    v.sees(r"닉네임을 입력하고 Enter를 누르세요")
    v.nickname("jun")
    v.prompt("a white swan")
    v.new_player_code()
    v.sees(r"완성! jun 님 점수 \d{1,3}\.\d\d%")
    v.prompt("a small duck swimming")
    v.sees(r"접수! 다른 프롬프트를")
    v.sees(r"프롬프트: a small duck swimming")
    v.press("C-n")
    v.sees(r"Type your nickname, then press Enter")

    # 3. ola plays once and walks away: the next visitor finds an empty form.
    v.nickname("ola")
    v.prompt("a duck and a swan")
    v.new_player_code()
    v.sees(DRAWN.format(nick="ola"))
    time.sleep(SITTING_IDLE_S + 2)
    left = v.sees(r"Type your nickname, then press Enter").string
    assert "ola" not in left.split("Leaderboard")[0] and "Your player code" not in left, left

    # 4. Staff pause drawing; pat's prompts are saved and say so, with no ETA.
    staff(v, "F7")
    v.sees(r"drawing paused")
    v.press("F12")
    v.nickname("pat")
    v.prompt("a swan in the rain")
    v.new_player_code()
    paused = v.sees(r"Drawing is paused by the staff: your").string  # the visitor's job
    assert "Drawing is paused by the staff" in paused.splitlines()[0]  # the status line
    assert "staff: prompts are saved" in paused and "ready in" not in paused  # the queue
    v.prompt("a duck in the snow")
    v.sees(r"Got it! Type another prompt")
    staff(v, "F7")
    v.sees(r"drawing resumed")
    v.press("F12")
    v.sees(DRAWN.format(nick="pat"), 30)
    v.sees(r"Prompt: a duck in the snow", 30)
    v.press("F3")

    # 5. mina comes back: a new sitting asks her code once, then never again.
    v.nickname("mina")
    v.sees(r"mina is taken: type its player code")
    v.type(mina_code)
    v.press("Enter")
    v.draws("mina", "a swan and a duck at sunrise")
    v.draws("mina", "ducks on a pond")
    v.press("F3")

    # 6. bo types a prompt mina drew: the same drawing and score, ranked after her.
    v.nickname("bo")
    v.prompt("a duck on a pond")
    v.new_player_code()
    v.sees(r"Someone already drew this")
    v.press("F3")

    # Staff draw a raffle and redraw a winner who is not there, after a y/n.
    staff(v, "F8")
    v.sees(r"Winners \(how many\)")
    v.press("Enter")
    v.sees(r"RAFFLE")
    for _ in range(3):
        v.press("Enter")  # the next winner, one at a time
    asked = v.sees(r"Redraw winner 1, (\S+)\? y/n|1\. (\S+)")
    first = asked.group(1) or asked.group(2)
    v.press("1")
    v.sees(rf"Redraw winner 1, {re.escape(first)}\? y/n")
    v.press("y")
    after = v.sees(r"1\. (\S+)").group(1)
    deadline = time.monotonic() + 10
    while after == first and time.monotonic() < deadline:
        time.sleep(0.25)
        after = v.sees(r"1\. (\S+)").group(1)
    assert after != first
    v.press("Escape")
    v.press("F10")
    v.sees(r"y/n")
    v.press("y")
    v.sees(r"kiosk exited: 0", 30)
