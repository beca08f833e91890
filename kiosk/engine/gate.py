"""Fair play at submit: the flood guard, the blocklist and player codes, in one place.

The engine asks the gate in the caller's thread, in this order: the pace (rate limit
and human check, on every prompt, dedup hits too), the words (nickname and prompt), and,
after the ban check, the player code. Refusals are PolicyErrors written for the visitor;
`refusal` turns one into the `challenge` and `refused` events the screens and the demo
show. State that must outlive a restart is in the store: pauses after failed checks or
wrong player codes, code hashes, staff's word changes (their version in `meta`, so a
change made by `kiosk staff` in another process is picked up at the next prompt).
"""

from __future__ import annotations

import logging
import time

from kiosk.core import codes as player_codes
from kiosk.core import policy
from kiosk.core.api import KEYBOARD
from kiosk.core.blocklist import Blocklist
from kiosk.core.commands import WORDS_KEY
from kiosk.core.config import Settings
from kiosk.core.events import CheckAsked, Event, Refused
from kiosk.core.floods import (
    CheckPaused,
    CheckRequired,
    CodesPaused,
    FloodGuard,
    NicknamesLimited,
    RateLimited,
)
from kiosk.core.i18n import N_
from kiosk.core.ports import StoreAPI

log = logging.getLogger(__name__)
_FRIENDLY = {
    "nickname": N_("Let's keep it friendly: try another nickname."),
    "prompt": N_("Let's keep it friendly: try another prompt."),
}


class WordsRefused(policy.PolicyError):
    """A nickname or prompt with a blocked word (the visitor is told neutrally)."""


class Gate:
    """Who may submit what, for one engine."""

    def __init__(self, settings: Settings, store: StoreAPI, *, codes: bool) -> None:
        self.settings = settings
        self.store = store
        self.codes = codes
        """Player codes asked and given (the booth); the headless demo checks only the
        codes its script gives."""
        policy.player_key("")  # builds the lookalike table (0.2 s) now, not on a visitor's key
        self.floods = FloodGuard(
            settings.limits, [(t.title, settings.target_image(t)) for t in settings.targets]
        )
        now = time.time()
        for key, until in store.players.paused(now):
            self.floods.restore_pause(key, until, now)
        self._words_version: str | None = None
        self.words = self._load_words()

    # -- the checks, in the engine's order --------------------------------------------------

    def check_pace(self, pkey: str, typing_cps: float | None, source: str) -> None:
        """The rate limits and the human check, of the player and of their phone (raises
        RateLimited, CheckRequired, CheckPaused, NicknamesLimited); a prompt let through
        spends a token."""
        self.floods.check(pkey, time.time(), typing_cps, source)

    def check_words(self, nick: str, text: str) -> None:
        """Blocked words in the nickname or the prompt: a neutral refusal, audited."""
        if self.store.meta.get(WORDS_KEY) != self._words_version:
            self.words = self._load_words()
        for what, value in (("nickname", nick), ("prompt", text)):
            word = self.words.match(value)
            if word is not None:
                try:
                    self.store.moderation.record(
                        "blocked", nick, f"{what} matched {word!r}", actor="policy"
                    )
                except Exception:
                    log.exception("could not audit a blocked word")
                raise WordsRefused(_FRIENDLY[what])

    def check_code(self, pkey: str, nick: str, code: str | None) -> str | None:
        """Refuse a claimed nickname without its code; the code to give a new player (the
        one they typed, in the demo) when it is theirs to claim, else None."""
        if not self.codes and code is None:
            return None
        stored = self.store.players.code_hash(pkey)
        if stored:
            if code is None or not code.strip():
                raise policy.CodeRequired(
                    N_("{nick} is taken: type its player code, or choose another nickname."),
                    nick=nick,
                )
            if not player_codes.verify_code(code, stored):
                self._wrong_code(pkey, nick)
                raise policy.CodeRequired(
                    N_(
                        "That is not the player code of {nick}. Try again, or choose"
                        " another nickname (the staff can help)."
                    ),
                    nick=nick,
                )
            self.floods.right_code(pkey)
            return None
        if code is not None and code.strip():
            return code.strip() if code.strip().isdigit() else None
        return player_codes.new_code(self.settings.players.code_digits)

    def _wrong_code(self, pkey: str, nick: str) -> None:
        """Count a wrong code; at `[players] code_failures` in a row the nickname is paused
        (kept across a restart) and CodesPaused says so."""
        now = time.time()
        until = self.floods.wrong_code(pkey, now, self.settings.players.code_failures)
        if until is None:
            return
        self._keep_pause(pkey, until)
        try:
            self.store.moderation.record(
                "paused", nick, "too many wrong player codes", actor="policy"
            )
        except Exception:
            log.exception("could not audit a pause")
        raise CodesPaused(nick, until, until - now)

    def claim(self, pkey: str, code: str) -> bool:
        """Keep a new player's code (hashed); False when it could not be saved (the
        prompt is in; the code is simply asked for again next time)."""
        try:
            self.store.players.set_code_hash(pkey, player_codes.hash_code(code))
        except Exception:
            log.exception("could not save a player code")
            return False
        return True

    # -- questions from the screens -------------------------------------------------------------

    def needs_code(self, nickname: str) -> bool:
        """Whether this nickname is claimed (the booth asks for its code)."""
        if not self.codes:
            return False
        try:
            nick = policy.clean_nickname(nickname, self.settings.limits.nickname_max)
        except policy.PolicyError:
            return False
        return bool(self.store.players.code_hash(policy.player_key(nick)))

    def is_code(self, nickname: str, code: str) -> bool:
        """Whether `code` is the player code of `nickname` (staff check a raffle winner)."""
        stored = self.store.players.code_hash(policy.player_key(policy.sanitise(nickname)))
        return bool(stored) and player_codes.verify_code(code, stored or "")

    def answer_check(
        self, nickname: str, challenge_id: str, answer: str, source: str = KEYBOARD
    ) -> bool:
        """The visitor's answer to a human check. Too many wrong answers pause the
        nickname (kept across a restart), and on a phone the device too."""
        pkey = policy.player_key(policy.sanitise(nickname))
        now = time.time()
        ok = self.floods.answer(pkey, challenge_id, answer, now, source)
        if not ok:
            until = self.floods.paused_until(pkey, now)
            if until is not None:
                self._keep_pause(pkey, until)
        return ok

    def _keep_pause(self, pkey: str, until: float) -> None:
        """Store a pause, so that it outlives a restart."""
        try:
            self.store.players.pause(pkey, until)
        except Exception:  # the pause holds in memory anyway
            log.exception("could not save a pause")

    def lift_pause(self, nickname: str) -> None:
        """Staff let a paused player play again (the store's pause is cleared by staff)."""
        self.floods.lift_pause(policy.player_key(nickname))

    # -- refusals ----------------------------------------------------------------------------

    def refusal(self, nickname: object, prompt: object, exc: policy.PolicyError) -> list[Event]:
        """Count a refusal (for the event and the player) and the events that say it."""
        nick = policy.sanitise(nickname)[:100] if isinstance(nickname, str) else ""
        text = policy.sanitise(prompt)[:400] if isinstance(prompt, str) else ""
        try:
            self.store.moderation.count_refusal(policy.player_key(nick) if nick else None)
        except Exception:  # counting must never turn a refusal into a crash
            log.exception("could not count a refusal")
        events: list[Event] = []
        if isinstance(exc, CheckRequired):
            c = exc.challenge
            events.append(
                CheckAsked(
                    nickname=nick,
                    challenge_id=c.id,
                    question=c.question,
                    choices=len(c.choices),
                    subject=c.subject,
                    pictures=tuple(choice.id for choice in c.choices),
                )
            )
        timed = RateLimited | CheckPaused | NicknamesLimited
        retry = exc.retry_in_s if isinstance(exc, timed) else None
        events.append(
            Refused(nickname=nick, prompt=text, reason=str(exc), kind=refusal_kind(exc),
                    retry_in_s=retry)
        )  # fmt: skip
        return events

    def _load_words(self) -> Blocklist:
        """The booth's list, better-profanity's and staff's changes."""
        self._words_version = self.store.meta.get(WORDS_KEY)
        return Blocklist.load(
            self.settings.blocklist_path,
            profanity=self.settings.words.profanity,
            changes=self.store.words.changes(),
        )


def refusal_kind(exc: policy.PolicyError) -> str:
    """A refusal's kind for the `refused` event (see events.Refused)."""
    kinds: list[tuple[type[policy.PolicyError], str]] = [
        (RateLimited, "rate"),
        (CheckRequired, "check"),
        (CheckPaused, "paused"),
        (NicknamesLimited, "nicknames"),
        (policy.Busy, "busy"),
        (WordsRefused, "words"),
        (policy.CodeRequired, "code"),
        (policy.QueueFullError, "queue"),
        (policy.Banned, "banned"),
        (policy.HiddenPrompt, "hidden"),
    ]
    return next((k for cls, k in kinds if isinstance(exc, cls)), "policy")
