"""What a phone reads, in its language: the page's words, and each engine event as the
JSON the page shows (with its text already said, in the booth's words where the booth
says the same thing)."""

from __future__ import annotations

from typing import Any

from kiosk.core import i18n
from kiosk.core.config import TINY_NOTICE
from kiosk.core.events import Done, Event, Failed, Progress, Queued, Retrying, Started
from kiosk.core.i18n import N_

PAGE = {
    "playing_as": N_("Playing as {nick}"),
    "nickname": N_("Nickname"),
    "nickname_hint": N_("your nickname"),
    "code": N_("Player code"),
    "code_hint": N_("the code you were given"),
    "prompt": N_("Prompt"),
    "prompt_hint": N_("e.g. a duck and a swan on a pond"),
    "how": N_("Describe the picture in words, then press Enter to draw it."),
    "draw": N_("Draw it"),
    "target": N_("The picture to describe"),
    "yours": N_("Your drawing"),
    "yours_empty": N_("Your drawing appears here."),
    "top": N_("Top 10"),
    "no_scores": N_("No scores yet: be the first!"),
    "player": N_("Player"),
    "score": N_("Score"),
    "save": N_("Save my drawing"),
    "change": N_("Not you? Play as someone else"),
    "check_title": N_("Quick check: are you a person?"),
    "check_tap": N_("Tap the picture of: {title}"),
    "not_quite": N_("Not quite."),
    "code_keep": N_(
        "Your player code: {code}. Keep it: you need it to play as {nick} at the booth or"
        " on another phone, and to claim a prize."
    ),
    "offline": N_("Connection lost: trying again..."),
    "tiny": TINY_NOTICE,
}
JOIN_STALE = N_("This join code is too old. Scan the QR code on the booth's screen again.")
JOIN_BUSY = N_("Too many phones joined from here just now. Please try again in a minute.")
JOIN_FIRST = N_("To play from your phone, scan the QR code on the booth's screen.")
WAITING = {  # (next in line, an ETA known), as the booth says it
    (True, True): N_("Waiting: you are next, ready in {eta}."),
    (True, False): N_("Waiting: you are next."),
    (False, True): N_("Waiting: position {n} in the queue, ready in {eta}."),
    (False, False): N_("Waiting: position {n} in the queue."),
}
PAUSED_JOB = N_(
    "Drawing is paused by the staff: your prompt is saved and will be drawn when it resumes."
)
JOINED = N_("That picture is already on its way: you get it too, no wait.")
DRAWING = N_("Drawing your picture...")
NO_NICKNAME = N_("Please type a nickname.")
NO_PROMPT = N_("Please type a prompt.")
TRY_AGAIN = N_("Sorry, that did not work; please try again.")
NOT_SAVED = N_("Sorry, the kiosk could not save that. Please tell the staff.")
OFFLINE = N_("The scoreboard is offline: staff are on it. Please try again in a minute.")


def page(lang: str) -> dict[str, str]:
    """The page's words in `lang` (placeholders left for the page to fill)."""
    tr = i18n.translator(lang)
    return {key: tr(msgid) for key, msgid in PAGE.items()}


def percent(value: float | None) -> str:
    """A score as everywhere: two decimals (ranked by full precision, shown like this)."""
    return "" if value is None else f"{value:.2f}%"


def said(event: Event, lang: str, *, eta: str = "") -> dict[str, Any]:
    """One job event as the phone shows it: `event`, `job` and `text`, and for a done
    drawing its score, rank, best and picture."""
    tr = i18n.translator(lang)
    if isinstance(event, Queued):
        return {"event": "queued", "job": event.job_id, "position": event.position,
                "text": waiting(lang, event.position, event.eta_s, event.paused, eta)}  # fmt: skip
    if isinstance(event, Started):
        return {"event": "started", "job": event.job_id, "text": tr(DRAWING)}
    if isinstance(event, Progress):
        text = tr(N_("Drawing your picture... (step {step} of {total})"), step=event.step,
                  total=event.total)  # fmt: skip
        return {"event": "progress", "jobs": list(event.job_ids), "text": text}
    if isinstance(event, Retrying):
        return {"event": "started", "job": event.job_id,
                "text": tr(N_("Drawing your picture... (trying again)"))}  # fmt: skip
    if isinstance(event, Failed):
        text = tr(N_("Sorry, that drawing failed: {reason}"), reason=event.reason)
        return {"event": "failed", "job": event.job_id, "text": text}
    if isinstance(event, Done):
        return done(event, lang)
    return {"event": event.name}


def waiting(lang: str, position: int, eta_s: float | None, paused: bool, eta: str = "") -> str:
    tr = i18n.translator(lang)
    if paused:
        return tr(PAUSED_JOB)
    if position <= 0:
        return tr(DRAWING)
    if not eta and eta_s is not None:
        eta = i18n.duration(lang, eta_s)
    return tr(WAITING[(position <= 1, bool(eta))], n=position, eta=eta)


def done(event: Done, lang: str) -> dict[str, Any]:
    tr = i18n.translator(lang)
    score = percent(event.score)
    if event.flagged:
        rank = tr(N_("Ranked after the check"))
    elif event.rank is not None:
        rank = tr(N_("Rank #{rank}"), rank=event.rank)
    else:
        rank = tr(N_("Not ranked"))
    notes = []
    if event.dedup:
        notes.append(
            tr(N_("Same prompt as before: here is your drawing again."))
            if not event.first_by or event.first_by == event.nickname
            else tr(
                N_(
                    "Someone already drew this prompt: you get the same drawing and score,"
                    " ranked after them."
                )
            )
        )
    if event.flagged:
        notes.append(tr(N_("This drawing is waiting for a quick check by the staff.")))
    if event.text_penalty:
        notes.append(tr(N_("(words in the picture: score lowered)")))
    return {
        "event": "done",
        "job": event.job_id,
        "submission": event.submission_id,
        "prompt": event.prompt,
        "score": score,
        "rank": rank,
        "best": tr(N_("Best: {best}"), best=percent(event.best)) if event.best is not None else "",
        "held": event.flagged,
        "image": f"/img/{event.submission_id}",
        "text": tr(N_("Done! {nick} scored {score}"), nick=event.nickname, score=score),
        "notes": notes,
    }
