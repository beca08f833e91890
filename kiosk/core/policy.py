"""Prompt and nickname policy: sanitise, limit, normalise, dedup key and seed.

Pure functions, no I/O: the engine calls them in the caller's thread.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Literal

from kiosk.core import i18n, identity
from kiosk.core.i18n import N_

# CSI / OSC / DCS / other escape sequences, and C1 controls written as single code points.
_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]            # CSI ... final byte
  | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)? # OSC ... BEL or ST
  | \x1b[PX^_][^\x1b]*(?:\x1b\\)?      # DCS, SOS, PM, APC ... ST
  | \x1b[ -/]*[0-~]?                   # two/three byte escapes (or a lone ESC)
  | \x9b[0-?]*[ -/]*[@-~]              # 8-bit CSI
  | \x9d[^\x07\x9c]*(?:\x07|\x9c)?     # 8-bit OSC
    """,
    re.VERBOSE,
)
_SPACES = re.compile(r"\s+")
_BLANKS_TO_SPACES = {ord(ch): " " for ch in identity.BLANKS}

MAX_MARKS = 2
"""Combining marks one character of a nickname may carry, counted decomposed (NFD):
Vietnamese "ệ" and pinyin "ǘ" need two; more pile up into "Zalgo" text that spills over
the lines around it."""


class PolicyError(ValueError):
    """Input refused; the message is written for the visitor: `msgid` (English, in the
    catalogs) with its `params`, translated where it is shown (`said`)."""

    def __init__(self, msgid: str, **params: object) -> None:
        self.msgid = msgid
        self.params = params
        super().__init__(i18n.translate(i18n.DEFAULT, msgid, **params))

    def said(self, lang: str) -> str:
        """The refusal in `lang`."""
        return i18n.translate(lang, self.msgid, **self.params)


class Banned(PolicyError):
    """Staff banned the nickname: its prompts are refused (neutrally)."""


class HiddenPrompt(PolicyError):
    """Staff hid the drawing of this prompt: it is not drawn again."""


class CodeRequired(PolicyError):
    """The nickname is claimed: its player code is needed to play as them."""


class QueueFullError(PolicyError):
    """The player (or their phone) already has as many drawings waiting as the limit allows."""


class Busy(PolicyError):
    """Back-pressure: the queue holds more drawing than `[limits] max_wait_s`; a new prompt
    is refused rather than queued where nobody reaches the end."""


def _drop_char(ch: str) -> bool:
    # Cc: controls (incl. NUL, C1), Cf: format (bidi overrides, zero-width), Cs/Co/Cn: junk;
    # and the invisible marks that are none of these (variation selectors, the grapheme
    # joiner: category Mn), which would make "ana" + U+FE0F a second "ana".
    return ch in identity.INVISIBLE or unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"}


def sanitise(text: str) -> str:
    """Remove escape sequences, control, format and default-ignorable characters (blank
    letters stay, for `clean_nickname` to show as spaces); collapse whitespace."""
    text = _ESCAPES.sub("", text)
    text = "".join(" " if ch in "\t\n\r\v\f" else ch for ch in text)
    text = "".join(ch for ch in text if not _drop_char(ch))
    return _SPACES.sub(" ", text).strip()


_MUST_BE_TEXT = {
    "nickname": N_("The nickname must be text."),
    "prompt": N_("The prompt must be text."),
}
_EMPTY = {"nickname": N_("Please type a nickname."), "prompt": N_("Please type a prompt.")}
_TOO_LONG = {
    "nickname": N_("The nickname is too long: at most {max_len} characters."),
    "prompt": N_("The prompt is too long: at most {max_len} characters."),
}


def clean_field(text: str, *, what: Literal["nickname", "prompt"], max_len: int) -> str:
    """Sanitise one input field and enforce its limits, or raise PolicyError."""
    if not isinstance(text, str):
        raise PolicyError(_MUST_BE_TEXT[what])
    # Refuse absurd input before any regex work on it.
    if len(text) > max_len * 8 + 64:
        raise PolicyError(_TOO_LONG[what], max_len=max_len)
    cleaned = sanitise(text)
    if not cleaned:
        raise PolicyError(_EMPTY[what])
    if len(cleaned) > max_len:
        raise PolicyError(_TOO_LONG[what], max_len=max_len)
    return cleaned


def clean_nickname(text: str, max_len: int) -> str:
    """A nickname as `clean_field` cleans it, refused unless someone can see who it is:
    at least one letter or digit that draws something, and no piles of combining marks."""
    nick = clean_field(text, what="nickname", max_len=max_len)
    # Blank-looking letters (Hangul fillers, the braille blank) show as spaces: say so.
    nick = _SPACES.sub(" ", nick.translate(_BLANKS_TO_SPACES)).strip()
    if not any(_visible_alnum(ch) for ch in nick):
        raise PolicyError(N_("Please use a nickname with at least one letter or digit."))
    if _max_marks_in_a_row(unicodedata.normalize("NFD", nick)) > MAX_MARKS:
        raise PolicyError(N_("Please use a nickname without piles of accents on one letter."))
    return nick


def _visible_alnum(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LN" and ch not in identity.BLANKS


def _max_marks_in_a_row(text: str) -> int:
    most = run = 0
    for ch in text:
        run = run + 1 if unicodedata.category(ch) in {"Mn", "Me"} else 0
        most = max(most, run)
    return most


def normalise_prompt(prompt: str) -> str:
    """Comparison form: NFKC, casefold, punctuation to spaces, spaces collapsed.

    "A Duck!!" and "a duck" normalise alike, so they share one drawing.
    """
    text = unicodedata.normalize("NFKC", sanitise(prompt)).casefold()
    text = "".join(" " if unicodedata.category(ch)[0] == "P" else ch for ch in text)
    return _SPACES.sub(" ", text).strip()


def player_key(nickname: str) -> str:
    """Identity of a player: nicknames differing only by case, width or lookalike letters
    are one player (see kiosk.core.identity)."""
    return identity.player_key(nickname)


def dedup_key(norm_prompt: str, target: str, generation: str, judge: str) -> str:
    """Stable key of one drawing: the same prompt, drawn the same way and judged against
    the same picture, gives the same result. `target` names the target and its picture's
    content; `generation` every setting that changes the drawing (`generation_identity`)."""
    payload = "\x1f".join([norm_prompt, target, generation, judge])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def generation_identity(
    model: str, steps: int, guidance: float, width: int, height: int, vae: str = "full"
) -> str:
    """Every generator setting that changes the picture, as one string for the dedup key."""
    decoder = "" if vae == "full" else f"|vae={vae}"  # keys drawn before the option stay
    return f"{model}|steps={steps}|guidance={guidance!r}|{width}x{height}{decoder}"


def target_identity(target_id: str, picture: bytes) -> str:
    """A target as the dedup key sees it: its id and a hash of its picture's content, so a
    replaced picture under the same id is judged afresh."""
    return f"{target_id}#{hashlib.sha256(picture).hexdigest()[:16]}"


def seed_for(key: str) -> int:
    """The generation seed for a dedup key, so a result can be reproduced."""
    return int.from_bytes(bytes.fromhex(key[:16]), "big") & (2**63 - 1)


def percent(cosine: float) -> float:
    """Score shown to players: 100 * max(cosine, 0), kept at full precision."""
    return 100.0 * max(float(cosine), 0.0)


def format_percent(value: float) -> str:
    """Always two decimals: ties at one decimal were common at the real booth."""
    return f"{value:.2f}%"
