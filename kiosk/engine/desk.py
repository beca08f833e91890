"""The staff desk: staff actions carried out on a store, for the booth's staff mode,
the CLI and the demo (the commands themselves are kiosk.core.commands).

Everything is soft (flags and audit rows, never deletes); each action has one handler,
found in one table.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from kiosk.core import codes, policy
from kiosk.core.api import Entrant, RaffleResult, Redraw, StoreError
from kiosk.core.blocklist import canonical
from kiosk.core.commands import (
    ACTIONS,
    EVENT_PAUSED_KEY,
    OLD_PAUSED_KEY,
    TARGET_KEY,
    WORDS_KEY,
    PauseScope,
    StaffAction,
    StaffCommand,
    StaffError,
    StaffOutcome,
    Subject,
    booth_paused_key,
    chosen_target,
    submission_id,
)
from kiosk.core.config import Settings, booth_name
from kiosk.core.ports import StoreAPI
from kiosk.core.raffle import draw_winners, redraw_candidates, replace_winner, replay_record


def active_target(store: StoreAPI, settings: Settings) -> str:
    """The target staff switched to (if still configured), else the config's: what every
    surface shows unless told another."""
    return chosen_target(store.meta.get(TARGET_KEY), settings)


def pause_scope(store: StoreAPI) -> PauseScope:
    """Whether drawing is paused at the store's booth, and why: the whole event's pause
    (it wins), this booth's own, or not ("")."""
    if store.meta.get(EVENT_PAUSED_KEY) == "1":
        return "event"
    own = store.meta.get(booth_paused_key(store.booth))
    if own is None:  # never set here: a pause an older kiosk kept still holds
        own = store.meta.get(OLD_PAUSED_KEY)
    return "booth" if own == "1" else ""


class StaffDesk:
    """Staff actions on a store for one booth's settings."""

    def __init__(self, store: StoreAPI, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.staff_keys = {policy.player_key(n) for n in settings.staff.nicknames}

    # -- state that outlives a restart ---------------------------------------------------

    def active_target(self) -> str:
        """The target staff switched to (if still configured), else the config's."""
        return active_target(self.store, self.settings)

    def paused(self) -> bool:
        return bool(self.pause_scope())

    def pause_scope(self) -> PauseScope:
        """Paused for the whole event, for this booth, or not ("")."""
        return pause_scope(self.store)

    def title(self, target_id: str) -> str:
        return next(t.title for t in self.settings.targets if t.id == target_id)

    # -- actions ---------------------------------------------------------------------------

    def run(self, cmd: StaffCommand, actor: str = "staff") -> StaffOutcome:
        """Carry out one action (with its audit row); a refusal is an outcome, not a crash."""
        handler = _HANDLERS[ACTIONS[cmd.action].subject]
        try:
            message = handler(self, cmd.action, cmd.subject, cmd.reason, actor)
        except (StoreError, StaffError) as exc:
            return StaffOutcome(action=cmd.action, subject=cmd.subject, ok=False, message=str(exc))
        return StaffOutcome(action=cmd.action, subject=cmd.subject, ok=True, message=message)

    def _player_action(self, a: StaffAction, who: str, why: str, actor: str) -> str:
        """hide, unhide, ban, unban, tag-staff, untag-staff, reset-code, unpause. A ban
        holds for a nickname that has not played yet: folded like every nickname,
        refused at its first prompt."""
        if a == "reset-code":
            return self._reset_code(policy.player_key(who), who, why, actor)
        if a == "unpause":
            key = policy.player_key(who)
            if self.store.players.flags(key) is None:
                raise StaffError(f"no player {who!r} has played yet")
            self.store.players.pause(key, 0.0)
            self.store.moderation.record("unpause", key, why, actor)
            return f"{who} may play again (no more waiting after failed checks or codes)"
        try:
            nick = policy.clean_nickname(who, self.settings.limits.nickname_max)
        except policy.PolicyError as exc:
            raise StaffError(f"{who!r} cannot be a nickname: {exc}") from None
        key = policy.player_key(nick)
        if a in ("hide", "unhide"):
            self.store.moderation.hide_player(key, a == "hide", reason=why, actor=actor)
        elif a in ("ban", "unban"):
            self.store.moderation.set_banned(
                key, a == "ban", nickname=nick, reason=why, actor=actor
            )
        else:
            self.store.moderation.set_staff(key, a == "tag-staff", reason=why, actor=actor)
        return f"{a} {who}: done"

    def _drawing_action(self, a: StaffAction, who: str, why: str, actor: str) -> str:
        """hide-submission, unhide-submission, approve."""
        sid = submission_id(a, who)
        if a == "approve":
            self.store.moderation.approve(sid, reason=why, actor=actor)
            return f"approved {who}: it ranks now, unblurred"
        hid = self.store.moderation.hide_submission(
            sid, a == "hide-submission", reason=why, actor=actor
        )
        n, still = hid.drawings, hid.hidden
        said = f"{a} {who}: {n} drawing{'s' if n != 1 else ''} (with its dedup copies)"
        if a == "unhide-submission" and still:
            said += f"; {still} stay hidden (with their player, or hidden on their own)"
        return said

    def _word_action(self, a: StaffAction, who: str, why: str, actor: str) -> str:
        """block-word, unblock-word: the words' version is bumped, so every gate reloads."""
        try:
            word = canonical(who)
        except ValueError:
            raise StaffError(f"{who!r} is not a word (it has no letters)") from None
        self.store.words.set(word, a == "block-word", actor=actor, reason=why)
        version = int(self.store.meta.get(WORDS_KEY) or 0) + 1
        self.store.meta.swap(WORDS_KEY, str(version))
        return f"{a} {who!r}: done (kept across restarts)"

    def _target(self, a: StaffAction, who: str, why: str, actor: str) -> str:
        ids = [t.id for t in self.settings.targets]
        if who not in ids:
            raise StaffError(f"unknown target {who!r}; configured: {', '.join(ids)}")
        self.store.meta.swap(TARGET_KEY, who)
        self.store.moderation.record("target", who, why, actor)
        return f"active target: {who} ({self.title(who)})"

    def _pause(self, a: StaffAction, _: str, why: str, actor: str) -> str:
        """pause, resume (this booth), pause-all, resume-all (the whole event). The two
        are separate switches: drawing goes on only when neither holds."""
        event = a in ("pause-all", "resume-all")
        booth = self.store.booth
        key = EVENT_PAUSED_KEY if event else booth_paused_key(booth)
        on = a in ("pause", "pause-all")
        self.store.meta.swap(key, "1" if on else "0")
        self.store.moderation.record(a, "event" if event else booth, why, actor)
        where = "at every booth" if event else f"at this booth ({booth})"
        if on:
            return f"drawing paused {where}: prompts are saved"
        still = self.pause_scope()
        if still == "event":
            return "this booth's pause is lifted, but the whole event is still paused (resume-all)"
        if still == "booth":
            return f"the event-wide pause is lifted; this booth ({booth}) stays paused (resume)"
        return f"drawing resumed {where}"

    def _adopt(self, _: StaffAction, who: str, why: str, actor: str) -> str:
        """Hand a dead booth's pending jobs to this booth, in one transaction."""
        try:
            dead = booth_name(who)
        except ValueError as exc:
            raise StaffError(f"{who!r} is not a booth name: {exc}") from None
        me = self.store.booth
        if dead == me:
            raise StaffError(f"{dead} is this booth: its pending jobs are already its own")
        if self.store.booth_running(dead):
            raise StaffError(
                f"booth {dead} is running (a kiosk holds its name on the store): stop it"
                " (or kill it) first; its jobs are adopted only from a dead booth"
            )
        moved = self.store.booths.adopt(dead, reason=why, actor=actor)
        if moved == 0:
            others = ", ".join(
                f"{b or '(unnamed)'}: {n}"
                for b, n in sorted(self.store.booths.pending_by_booth().items())
                if b != me
            )
            raise StaffError(
                f"booth {dead} has no pending jobs (pending elsewhere: {others or 'none'})"
            )
        return f"adopted {moved} pending job{'s' if moved != 1 else ''} of {dead}: {me} draws them"

    def _reset_code(self, key: str, who: str, why: str, actor: str) -> str:
        """A player forgot their code: a new one, shown to staff once, the old one gone.
        A pause after wrong codes is lifted with it: staff are standing with the owner."""
        if self.store.players.code_hash(key) is None:
            raise StaffError(f"no player {who!r} has played yet")
        code = codes.new_code(self.settings.players.code_digits)
        self.store.players.set_code_hash(key, codes.hash_code(code), actor=actor, reason=why)
        self.store.players.pause(key, 0.0)
        return f"new player code of {who}: {code} (tell them; the old one no longer works)"

    def mark_known_staff(self, key: str, nickname: str) -> None:
        """A nickname in `[staff] nicknames` is tagged staff when it first plays."""
        if key in self.staff_keys:
            if self.store.players.flags(key) is None:
                self.store.players.ensure(key, nickname)
            self._tag_config_staff(key)

    def apply_staff_nicknames(self) -> list[str]:
        """Tag staff every player `[staff] nicknames` names who is not tagged yet (a name
        added to the config after it played stops ranking now, not at its next prompt);
        audited once, by "config". Returns the nicknames tagged."""
        return [nick for key in sorted(self.staff_keys) if (nick := self._tag_config_staff(key))]

    def _tag_config_staff(self, key: str) -> str | None:
        flags = self.store.players.flags(key)
        if flags is None or flags.staff:
            return None
        self.store.moderation.set_staff(key, True, reason="[staff] nicknames", actor="config")
        return flags.nickname

    # -- raffles ---------------------------------------------------------------------------

    def raffle(
        self,
        *,
        target: str | None = None,
        winners: int,
        among: int | None = None,
        above: float | None = None,
        seed: int | None = None,
        actor: str = "staff",
    ) -> RaffleResult:
        """Draw winners among a target's eligible players: the top `among` by best score,
        or everyone at `above` percent or more; one entry per player. Recorded to replay."""
        target = target or self.active_target()
        if (among is None) == (above is None):
            raise StaffError("a raffle needs one of --among K or --above PERCENT")
        if winners < 1:
            raise StaffError("a raffle needs at least one winner")
        everyone = self.store.raffles.entrants(target)
        if among is not None:
            eligible, rule = everyone[:among], f"among the top {among}"
        else:
            assert above is not None
            eligible, rule = [e for e in everyone if e.percent >= above], f"above {above:g}%"
        if not eligible:
            raise StaffError(f"nobody is eligible on {target} ({rule})")
        seed = random.SystemRandom().randrange(2**53) if seed is None else seed
        won = draw_winners(eligible, winners, seed)
        rid = self.store.raffles.add(
            target_id=target,
            wanted=winners,
            rule=rule,
            seed=seed,
            eligible=eligible,
            winners=won,
            actor=actor,
        )
        return RaffleResult(
            raffle_id=rid, target=target, rule=rule, seed=seed, eligible=eligible, winners=won
        )

    def replay(self, rid: int) -> tuple[RaffleResult, bool]:
        """A recorded raffle drawn again from its seeds, eligible list and each redraw's
        candidates; True when every winner is the one recorded."""
        record = self._record(rid)
        winners, same = replay_record(record)
        return self._result(record, winners), same

    def redraw(
        self, rid: int, absent: str, actor: str = "staff", *, seed: int | None = None
    ) -> RaffleResult:
        """A winner who is not there is replaced by one drawn from the raffle's eligible
        players who may still win now, are not winners and were never declared absent.
        The seed (fresh unless given) and those candidates are recorded: a replay agrees."""
        record = self._record(rid)
        current, _ = replay_record(record)
        key = policy.player_key(absent)
        gone = next((w for w in current if policy.player_key(w.nickname) == key), None)
        if gone is None:
            raise StaffError(f"{absent!r} is not a winner of raffle {rid}")
        absentees = [*(r["replaced"] for r in record["redraws"]), gone.nickname]
        now = {e.player_id for e in self.store.raffles.entrants(record["target"])}
        pool = redraw_candidates(record["eligible"], current, absentees, now)
        seed = random.SystemRandom().randrange(2**53) if seed is None else seed
        winners, picked = replace_winner(current, gone.nickname, pool, seed)
        replacement = picked.nickname if picked else None
        self.store.raffles.add_redraw(rid, gone.nickname, replacement, seed, actor, candidates=pool)
        return self._result(record, winners)

    def _record(self, rid: int) -> dict[str, Any]:
        record = self.store.raffles.get(rid)
        if record is None:
            raise StaffError(f"no raffle {rid}")
        return record

    @staticmethod
    def _result(record: dict[str, Any], winners: list[Entrant]) -> RaffleResult:
        return RaffleResult(
            raffle_id=record["id"],
            target=record["target"],
            rule=record["rule"],
            seed=record["seed"],
            eligible=record["eligible"],
            winners=winners,
            redraws=tuple(
                Redraw(absent=str(r["replaced"]), winner=r["replacement"])
                for r in record["redraws"]
            ),
        )


_HANDLERS: dict[Subject, Callable[[StaffDesk, StaffAction, str, str, str], str]] = {
    "nickname": StaffDesk._player_action,
    "submission_id": StaffDesk._drawing_action,
    "word": StaffDesk._word_action,
    "target_id": StaffDesk._target,
    "booth": StaffDesk._adopt,
    "": StaffDesk._pause,
}
"""One handler for each kind of subject an action takes (kiosk.core.commands.ACTIONS)."""
