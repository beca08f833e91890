"""The intake: a visitor's prompt, from the caller's thread to a queued job.

Clean the input, ask the gate (in its order), answer a dedup hit at once, join a job
already waiting or being drawn, or queue a new one: fast, and persisted before the
`queued` event is published.
"""

from __future__ import annotations

import time
from dataclasses import replace

from kiosk.core import policy
from kiosk.core.api import KEYBOARD, Job, PlayerFlags, Submission, Waiter, is_phone
from kiosk.core.config import Settings
from kiosk.core.events import Done, Failed, LeaderboardChanged, Queued
from kiosk.core.i18n import N_
from kiosk.core.ports import StoreAPI
from kiosk.engine.batch import done_event, shown_relpath
from kiosk.engine.bus import Bus
from kiosk.engine.desk import StaffDesk
from kiosk.engine.drawer import Drawer
from kiosk.engine.gate import Gate
from kiosk.ml.identity import model_identity
from scoring.judge import judge_identity


class Intake:
    """Takes prompts for one engine and hands new jobs to its drawer."""

    def __init__(
        self,
        settings: Settings,
        store: StoreAPI,
        bus: Bus,
        *,
        gate: Gate,
        desk: StaffDesk,
        drawer: Drawer,
        target_id: str,
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.gate = gate
        self.desk = desk
        self.drawer = drawer
        self.target_id = target_id
        """The active target: new jobs are drawn for it."""
        self.joined: dict[int, tuple[Waiter, Job]] = {}
        """Prompts typed here that joined another booth's job, by waiter id: that booth
        commits them, and this one tells its visitor (settle_joined)."""
        self._targets = {
            t.id: policy.target_identity(t.id, settings.target_image(t).read_bytes())
            for t in settings.targets
        }
        g = settings.generator
        home = settings.data_path
        vae = g.vae if g.vae in ("full", "tiny") else model_identity(g.vae, home)
        self._generation = policy.generation_identity(
            model_identity(g.model, home), g.steps, g.guidance, g.width, g.height, vae
        )

    def dedup_key(self, norm_prompt: str, target_id: str | None = None) -> str:
        """The dedup key of a normalised prompt on a target (default: the active one)."""
        judge = self.drawer.judge
        j = self.settings.judge
        name = judge.name if judge else judge_identity(j.model, j.pretrained)
        return policy.dedup_key(
            norm_prompt,
            self._targets[target_id or self.target_id],
            self._generation,
            model_identity(name, self.settings.data_path),
        )

    def submit(
        self,
        nickname: str,
        prompt: str,
        code: str | None,
        typing_cps: float | None,
        source: str = KEYBOARD,
    ) -> Done | Queued:
        """Accept one prompt (see _submit). A refusal is counted (for the event stats and
        the player's own), and published as a `refused` event; a human check asked for is
        published as a `challenge` event first. `source` is the unit of fair play: the
        keyboard, or one phone."""
        try:
            return self._submit(nickname, prompt, code, typing_cps, source)
        except policy.PolicyError as exc:
            for event in self.gate.refusal(nickname, prompt, exc):
                self.bus.publish(event)
            raise

    def _submit(
        self, nickname: str, prompt: str, code: str | None, typing_cps: float | None, source: str
    ) -> Done | Queued:
        """Accept one prompt: a dedup hit is answered at once; a prompt already waiting or
        being drawn joins that job; anything else is queued.

        Raises policy.PolicyError with a message for the visitor when input is refused:
        in this order, bad input, too fast (the rate limit and the human check count
        every submission, dedup hits too), blocked words, a ban, a claimed nickname
        without its code, a hidden prompt, too many waiting (for the player, or their
        phone), the queue full (back-pressure: never for a dedup hit or a join).
        """
        nick = policy.clean_nickname(nickname, self.settings.limits.nickname_max)
        text = policy.clean_field(prompt, what="prompt", max_len=self.settings.limits.prompt_max)
        norm = policy.normalise_prompt(text)
        if not norm:
            raise policy.PolicyError(N_("Please describe a picture in words."))
        pkey = policy.player_key(nick)
        self.gate.check_pace(pkey, typing_cps, source)
        self.gate.check_words(nick, text)
        key = self.dedup_key(norm)
        flags = self.store.players.flags(pkey)
        if flags is not None and flags.banned:
            raise policy.Banned(N_("Sorry, this nickname cannot play right now."))
        claim = self.gate.check_code(pkey, nick, code)
        if self.store.jobs.hidden_original(key):
            raise policy.HiddenPrompt(N_("Sorry, that prompt cannot be drawn. Please try another."))
        self.desk.mark_known_staff(pkey, nick)
        accepted = self._accept(pkey, nick, prompt, text, norm, key, flags, source)
        if claim is None or not self.gate.claim(pkey, claim) or code is not None:
            return accepted
        return replace(accepted, player_code=claim)  # for this caller only, never published

    def _accept(
        self,
        pkey: str,
        nick: str,
        prompt: str,
        text: str,
        norm: str,
        key: str,
        flags: PlayerFlags | None,
        source: str,
    ) -> Done | Queued:
        drawer = self.drawer
        with self.bus.cond:
            drawer.load_queue()
            original = self.store.jobs.find_original(key)
            if original is not None:
                return self._answer_dedup(pkey, nick, prompt, text, norm, original)
            self._check_cap(flags.id if flags else None, source)
            joined = self.store.jobs.add_waiter(
                player_key=pkey, nickname=nick, dedup_key=key, raw_prompt=prompt, prompt=text
            )
            if joined is not None:
                waiter, job = joined
                # Another booth's job: it draws it, and only it knows where it stands.
                mine = job.booth == self.store.booth
                position, eta = drawer.place(job.id) if mine else (0, None)
                if not mine:
                    self.joined[waiter.id] = (waiter, job)
                queued = drawer.queued(job, position, eta, waiter=waiter)
            else:
                self._check_backlog()
                job = self.store.jobs.add(
                    player_key=pkey,
                    nickname=nick,
                    target_id=self.target_id,
                    raw_prompt=prompt,
                    prompt=text,
                    norm_prompt=norm,
                    dedup_key=key,
                    seed=policy.seed_for(key),
                    source=source,
                )
                drawer.push(job)
                position, eta = drawer.place(job.id)
                queued = drawer.queued(job, position, eta)
            return self.bus.publish(queued)

    def settle_joined(self) -> None:
        """Another booth committed: tell the visitors here whose prompt joined one of its
        jobs how it went, as its own followers are told (caller holds the bus lock)."""
        if not self.joined:
            return
        outcomes = self.store.booths.settled(
            [(w, job.dedup_key) for w, job in self.joined.values()]
        )
        for wid, outcome in outcomes.items():
            waiter, job = self.joined.pop(wid)
            if isinstance(outcome, str):
                failed = Failed(
                    job_id=job.id, nickname=waiter.nickname, prompt=waiter.prompt, reason=outcome
                )
                self.bus.publish(failed)
            else:
                self.bus.publish(self._done(job.id, outcome))

    def _done(self, job_id: int | None, sub: Submission) -> Done:
        """A `done` event for a drawing this booth may not have drawn: its picture is
        fetched into the data dir first (at once when it is there)."""
        self.store.pictures.fetch(self.settings.data_path, shown_relpath(sub))
        return done_event(self.settings.data_path, job_id, sub, True)

    def _check_cap(self, player_id: int | None, source: str) -> None:
        """The waiting prompts a player may have, and a phone whatever its nicknames."""
        limits = self.settings.limits
        cap = limits.queued_per_player
        if player_id is not None and self._waiting(player_id) >= cap:
            raise policy.QueueFullError(
                N_("You already have {cap} drawings waiting; please wait for one to finish."),
                cap=cap,
            )
        if is_phone(source) and self.drawer.held_by_source(source) >= limits.queued_per_device:
            raise policy.QueueFullError(
                N_("Your drawing is still on its way: send the next prompt when it is done.")
            )

    def _check_backlog(self) -> None:
        """Back-pressure: no new job while the queue holds more than `max_wait_s` of
        drawing (by measured drawing times; unknown before the first drawing)."""
        backlog = self.drawer.backlog_s()
        if backlog is not None and backlog > self.settings.limits.max_wait_s:
            raise policy.Busy(N_("The queue is full right now: please try again in a minute."))

    def _waiting(self, player_id: int) -> int:
        return self.drawer.held_by(player_id) + self.store.jobs.waiting_count(player_id)

    def _answer_dedup(
        self, pkey: str, nick: str, raw: str, text: str, norm: str, original: Submission
    ) -> Done:
        like = Job(
            id=0,
            player_id=0,
            nickname=nick,
            target_id=self.target_id,
            raw_prompt=raw,
            prompt=text,
            norm_prompt=norm,
            dedup_key=original.dedup_key,
            seed=original.seed,
            created_at=time.time(),
        )
        sub = self.store.jobs.add_dedup(
            player_key=pkey, nickname=nick, job_like=like, original=original
        )
        done = self.bus.publish(replace(self._done(None, sub), first_by=original.nickname))
        self.bus.publish(LeaderboardChanged(target=sub.target_id))
        return done
