"""kiosk.toml -> validated, typed settings.

An invalid file fails with the key path and the reason (`ConfigError`), before
anything starts. Relative paths are resolved against the config file's folder.
"""

from __future__ import annotations

import difflib
import os
import socket
import tomllib
from pathlib import Path
from typing import Annotated, Literal, get_args

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kiosk.core.i18n import N_

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_ENV = "KIOSK_CONFIG"
TINY_NOTICE = N_(
    "TINY DEMO MODELS: random weights - the images are noise and the scores mean nothing."
)


Preprocess = Literal["auto", "device", "pil"]
"""`[judge] preprocess`: where a drawing becomes the judge's input."""


class ConfigError(Exception):
    """The config file is missing or invalid; the message names the key path and reason."""


BOOTH_MAX = 32


def booth_name(text: str) -> str:
    """A booth's name as typed (config, `kiosk staff adopt`): up to BOOTH_MAX printable
    characters without spaces; ValueError saying why otherwise."""
    name = text.strip()
    if not name:
        raise ValueError("a booth needs a name (e.g. hall-a)")
    if len(name) > BOOTH_MAX:
        raise ValueError(f"a booth name has at most {BOOTH_MAX} characters, got {len(name)}")
    if not all(ch.isprintable() and not ch.isspace() for ch in name):
        raise ValueError(f"{name!r}: a booth name is printable characters without spaces")
    return name


def default_booth() -> str:
    """The host name (its first label), cut to a valid booth name; "booth" if none."""
    host = socket.gethostname().split(".")[0]
    cleaned = "".join(ch for ch in host if ch.isprintable() and not ch.isspace())
    return cleaned[:BOOTH_MAX] or "booth"


class _Section(BaseModel):
    """A config section: unknown keys are errors, values are read-only once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EventSettings(_Section):
    """`[event]`: the event itself, where its data lives, and the booth's behaviour."""

    name: str = "AI Drawing Judge"
    """Event name shown in titles."""
    data_dir: str = "data"
    """Where the database and images live; relative to the config file. Empty: the user data dir."""
    target: str = ""
    """Id of the active target; empty means the first [[targets]] entry."""
    offline: bool = True
    """Never touch the network while the kiosk runs (HF_HUB_OFFLINE)."""
    demo_script: str = "examples/demo.tsv"
    """Default script for `kiosk demo`: one nickname<TAB>prompt per line."""
    idle_timeout_s: Annotated[float, Field(ge=0, le=86400)] = 120.0
    """Seconds without a key press before the booth shows attract mode; 0 turns it off."""
    sitting_idle_s: Annotated[float, Field(ge=0, le=3600)] = 45.0
    """Seconds without a key that end a visitor's sitting: the form is cleared for the next
    person (a returning nickname is asked for its code again). 0: only Ctrl+N or "done"."""
    languages: Annotated[list[Literal["en", "ko"]], Field(min_length=1)] = ["en", "ko"]
    """Languages a visitor can choose (message catalogs); the first is the default."""
    booth: str = Field(default_factory=default_booth)
    """This booth's name among the event's booths (default: the host name). It owns the
    jobs accepted here, names the booth in the audit, the stats and the export, and is
    what `kiosk staff adopt BOOTH` hands over. Up to 32 printable characters, no spaces."""

    @field_validator("booth")
    @classmethod
    def _short_printable(cls, booth: str) -> str:
        return booth_name(booth)


class TargetSettings(_Section):
    """One `[[targets]]` entry: a picture the drawings are judged against."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
    """Short stable id, stored with every submission."""
    title: Annotated[str, Field(min_length=1, max_length=80)]
    """What visitors see."""
    image: str
    """Picture file the drawings are judged against; relative to the config file."""


class GeneratorSettings(_Section):
    """`[generator]`: the text-to-image model and every setting of how it draws."""

    model: str = "stabilityai/sd-turbo"
    """Hugging Face Hub id or a local folder holding a diffusers pipeline."""
    steps: Annotated[int, Field(ge=1, le=100)] = 1
    """Denoising steps (sd-turbo: 1)."""
    guidance: Annotated[float, Field(ge=0.0, le=30.0)] = 0.0
    """Classifier-free guidance scale (sd-turbo: 0)."""
    width: Annotated[int, Field(ge=32, le=2048, multiple_of=8)] = 512
    """Image width in pixels."""
    height: Annotated[int, Field(ge=32, le=2048, multiple_of=8)] = 512
    """Image height in pixels."""
    batch: Annotated[int, Field(ge=1, le=64)] = 4
    """Most waiting jobs generated in one call."""
    writers: Annotated[int, Field(ge=0, le=16)] = 2
    """Threads that encode, write and commit finished drawings (with one more that
    judges each drawn batch), so the model thread starts the next batch at once; 0
    judges and saves inline on the model thread."""
    device: Literal["auto", "cuda", "cpu", "mps"] = "auto"
    """Where the models run; auto picks CUDA when present."""
    dtype: Literal["auto", "float16", "bfloat16", "float32"] = "auto"
    """Weights precision; auto is float16 on CUDA and float32 on CPU."""
    compile: Literal[
        "off", "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"
    ] = "off"
    """torch.compile mode for the denoiser and the VAE decoder; off draws eagerly. Every
    batch size the engine uses is compiled while the models load, so no visitor waits on
    a compile; if compiling fails the kiosk says so and draws without it."""
    channels_last: Literal["auto", "on", "off"] = "auto"
    """channels_last memory layout for the denoiser and the VAE; auto: on with CUDA only."""
    vae: Annotated[str, Field(min_length=1)] = "full"
    """The decoder that turns latents into pictures: "full" (the pipeline's own VAE),
    "tiny" (AutoencoderTiny from madebyollin/taesd, the one for SD 2.x latents: about a
    tenth of the full decoder's compute, slightly softer pictures), or a Hub id or local
    folder of an AutoencoderTiny or AutoencoderKL. It changes the picture, so it is part
    of the dedup key: keep one decoder for a whole event."""


class JudgeSettings(_Section):
    """`[judge]`: the open_clip model that scores each drawing against the target."""

    model: str = "ViT-B-32"
    """open_clip architecture name, or a path to an open_clip model config (.json)."""
    pretrained: str = "laion2b_s34b_b79k"
    """open_clip pretrained tag, or a path to a checkpoint file. Empty only for a model that
    brings its own weights (`local-dir:` or `hf-hub:`): anything else would judge with
    random weights."""
    preprocess: Preprocess = "auto"
    """Where a drawing becomes the judge's input. "device": the generator hands over a
    tensor that stays on the GPU and is resized, cropped and normalised there with torch
    ops; "pil": PIL images on the host through open_clip's own transform (the reference).
    auto: device on CUDA, pil elsewhere. The two differ by a small fraction of a
    percentage point (bench/RESULTS.md): keep one for a whole event."""

    @model_validator(mode="after")
    def _weights_named(self) -> JudgeSettings:
        if not self.pretrained.strip() and not self.model.startswith(("local-dir:", "hf-hub:")):
            raise ValueError(
                "judge.pretrained is empty: open_clip would judge with random weights."
                " Name a pretrained tag (e.g. laion2b_s34b_b79k) or a checkpoint file, or use"
                ' a model folder (model = "local-dir:PATH")'
            )
        return self


class LimitSettings(_Section):
    """`[limits]`: what one visitor may type and how much they may have waiting."""

    prompt_max: Annotated[int, Field(ge=1, le=2000)] = 300
    """Longest prompt accepted, in characters after sanitising."""
    nickname_max: Annotated[int, Field(ge=1, le=100)] = 24
    """Longest nickname accepted, in characters after sanitising."""
    queued_per_player: Annotated[int, Field(ge=1, le=100)] = 3
    """Most unfinished jobs one player may have waiting."""
    rate_per_minute: Annotated[float, Field(gt=0, le=600)] = 6.0
    """Prompts one player may send per minute, dedup hits included (a token bucket)."""
    rate_burst: Annotated[int, Field(ge=1, le=100)] = 4
    """Prompts one player may send at once before the rate applies (the bucket's size).
    One more than `burst_prompts`: a burst meets the human check before the rate limit,
    so a person who passes it may send that prompt."""
    burst_prompts: Annotated[int, Field(ge=2, le=100)] = 3
    """A human check is asked when a player sends this many prompts within
    `burst_window_s` seconds ..."""
    burst_window_s: Annotated[float, Field(gt=0, le=3600)] = 20.0
    """... (see `burst_prompts`)."""
    typing_cps_max: Annotated[float, Field(gt=0, le=1000)] = 25.0
    """... or types faster than this many characters a second (no person does; a macro
    pasting keystrokes does). The booth measures it; the headless demo does not."""
    check_failures: Annotated[int, Field(ge=1, le=20)] = 3
    """Failed human checks in a row that pause a nickname ..."""
    check_pause_s: Annotated[float, Field(ge=0, le=86400)] = 300.0
    """... for this many seconds; after a pause, one wrong answer pauses again, twice as
    long each time (up to 8 times). On a phone the failures count for the device,
    whatever nicknames it types, and pause it."""
    source_rate_per_minute: Annotated[float, Field(gt=0, le=600)] = 6.0
    """Prompts one phone may send per minute, whatever nicknames it types (a token bucket,
    besides each player's). The keyboard, many people in turn, has only theirs."""
    source_burst: Annotated[int, Field(ge=1, le=100)] = 6
    """Prompts one phone may send at once before its rate applies; at least `rate_burst`,
    so a lone player meets their own limit first."""
    queued_per_device: Annotated[int, Field(ge=1, le=100)] = 1
    """Most unfinished jobs one phone may have waiting, whatever nicknames it types (the
    keyboard, many people in turn, has only `queued_per_player`)."""
    nicknames_per_device: Annotated[int, Field(ge=1, le=1000)] = 4
    """New nicknames one phone may play under in an hour (a family shares a phone; a
    macro inventing a nickname for every prompt does not get far)."""
    max_wait_s: Annotated[float, Field(gt=0, le=86400)] = 600.0
    """Back-pressure: when the queue holds more than this many seconds of drawing (from
    measured drawing times), new prompts are refused with "try again in a minute"
    instead of joining a queue nobody reaches the end of. Dedup hits and prompts joining
    a drawing on its way are still answered."""


class PlayerSettings(_Section):
    """`[players]`: who is who. Nicknames are claimed with a player code."""

    codes: bool = True
    """On a player's first drawing the booth shows a player code; a returning nickname
    asks for it. Off: anyone may play under any nickname (the headless demo never asks)."""
    code_digits: Annotated[int, Field(ge=4, le=8)] = 4
    """Digits in a player code."""
    code_failures: Annotated[int, Field(ge=1, le=100)] = 5
    """Wrong player codes in a row that pause the nickname for `[limits] check_pause_s`
    (whoever typed them: staff let its owner play again with `unpause`)."""


class WordSettings(_Section):
    """`[words]`: prompts and nicknames that must not reach a public screen."""

    blocklist: str = ""
    """The booth's own word list (one entry per line, any language; `#` comments), relative
    to the config file; empty: the one shipped with the kiosk (assets/blocklist.txt). Staff
    add and remove words from staff mode; those changes are kept in the database."""
    profanity: bool = True
    """Also refuse the English words of the better-profanity package's list."""


class SafetySettings(_Section):
    """`[safety]`: zero-shot CLIP probes on every drawing, with the judge's own model,
    before anyone sees it. A flagged drawing is blurred and held for staff review."""

    probes: bool = True
    """Probe every drawing (one matrix product per drawing)."""
    unsafe: list[str] = [
        "a photo of nudity",
        "a naked person",
        "a pornographic image",
        "a bloody gore scene",
        "a violent scene with weapons",
        "a dead body",
        "a hate symbol",
        "a swastika",
    ]
    """Concepts that flag a drawing when it is closer to one of them than to every neutral
    concept by more than `margin`."""
    neutral: Annotated[list[str], Field(min_length=1)] = [
        "a photo of a bird",
        "a duck on a pond",
        "a swan on a lake",
        "a landscape",
        "a painting",
        "a cartoon animal",
        "a photo of an object",
    ]
    """Everyday concepts an unsafe one must beat."""
    margin: Annotated[float, Field(ge=-2, le=2)] = 0.02
    """How much closer (cosine) to an unsafe concept than to the nearest neutral one a
    drawing must be to be flagged. Lower flags more; -2 flags everything, 2 nothing."""
    text: Literal["off", "flag", "penalty"] = "flag"
    """Drawings of written words ("a sign that says duck and swan") game the judge: flag
    them for review, or take `text_penalty` off their score, or do nothing."""
    text_concepts: list[str] = [
        "text",
        "a sign with words written on it",
        "letters and words",
        "a page of writing",
    ]
    """What written text looks like to the judge."""
    text_margin: Annotated[float, Field(ge=-2, le=2)] = 0.02
    """Like `margin`, for the text concepts against the neutral ones."""
    text_penalty: Annotated[float, Field(ge=0, le=1)] = 0.5
    """With `text = "penalty"`: the score is multiplied by (1 - this)."""


class StaffSettings(_Section):
    """`[staff]`: how the staff open staff mode on the booth keyboard."""

    pin_hash: str = ""
    """Hash of the staff PIN (argon2id, written by `kiosk staff set-pin`); empty: staff
    mode stays closed."""
    nicknames: list[str] = []
    """Nicknames of known staff: they may play, but never rank or win a raffle."""


class PhoneSettings(_Section):
    """`[phones]`: visitors play from their own phones, joining by the QR code the booth
    shows. The phone server runs inside the booth's process (`kiosk run --phones`) or
    headless (`kiosk serve`)."""

    enabled: bool = False
    """Serve phones with `kiosk run` (as `--phones` does) and show the join QR code."""
    host: str = "0.0.0.0"
    """Address the phone server listens on (0.0.0.0: every network of this machine)."""
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    """Port the phone server listens on."""
    public_url: str = ""
    """What phones open, e.g. `http://192.168.1.20:8080`: set it behind a router or a
    name. Empty: this machine's LAN address and `port`."""
    join_window_s: Annotated[float, Field(ge=5, le=86400)] = 60.0
    """The join code changes this often; a code is good for two windows, so only
    someone who can see a booth screen can join."""


class StoreSettings(_Section):
    """`[store]`: where the event's database is. One booth keeps an SQLite file in its data
    dir; several booths of one event share one PostgreSQL database."""

    url: str = ""
    """Empty: SQLite in `data_dir` (`kiosk.db`). `postgresql://user:password@host:port/db`:
    the event's shared store on a PostgreSQL server (booths share its board, dedup, staff
    actions and raffle)."""

    @field_validator("url")
    @classmethod
    def _postgresql_or_empty(cls, url: str) -> str:
        url = url.strip()
        if url and not url.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "must be empty (SQLite in data_dir) or a postgresql:// URL,"
                " e.g. postgresql://kiosk@db.local:5432/event"
            )
        return url


class Settings(_Section):
    """The whole booth configuration, as read from `kiosk.toml`."""

    event: EventSettings = EventSettings()
    targets: Annotated[list[TargetSettings], Field(min_length=1)]
    generator: GeneratorSettings = GeneratorSettings()
    judge: JudgeSettings = JudgeSettings()
    limits: LimitSettings = LimitSettings()
    staff: StaffSettings = StaffSettings()
    players: PlayerSettings = PlayerSettings()
    words: WordSettings = WordSettings()
    safety: SafetySettings = SafetySettings()
    phones: PhoneSettings = PhoneSettings()
    store: StoreSettings = StoreSettings()

    # Not from the file: where it was read from, and the chosen profile.
    source: Path = Field(default=Path("kiosk.toml"), exclude=True)
    profile: Literal["real", "tiny"] = Field(default="real", exclude=True)

    @model_validator(mode="after")
    def _check_targets(self) -> Settings:
        ids = [t.id for t in self.targets]
        if len(set(ids)) != len(ids):
            raise ValueError(f"target ids must be unique, got {ids}")
        if self.event.target and self.event.target not in ids:
            raise ValueError(f"event.target {self.event.target!r} is not one of {ids}")
        return self

    @property
    def base_dir(self) -> Path:
        return self.source.parent

    @property
    def tiny(self) -> bool:
        return self.profile == "tiny"

    def resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    @property
    def data_path(self) -> Path:
        if not self.event.data_dir:
            return Path(platformdirs.user_data_dir("ai-drawing-judge"))
        return self.resolve(self.event.data_dir)

    @property
    def active_target(self) -> TargetSettings:
        wanted = self.event.target or self.targets[0].id
        return next(t for t in self.targets if t.id == wanted)

    def target_image(self, target: TargetSettings) -> Path:
        return self.resolve(target.image)

    @property
    def blocklist_path(self) -> Path:
        """The word list in use: the config's, else the one shipped with the kiosk."""
        if self.words.blocklist:
            return self.resolve(self.words.blocklist)
        return REPO_ROOT / "assets" / "blocklist.txt"


def find_config(path: str | os.PathLike[str] | None = None) -> Path:
    """--config, else $KIOSK_CONFIG, else ./kiosk.toml, else the one beside the code."""
    if path:
        return Path(path)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    here = Path.cwd() / "kiosk.toml"
    return here if here.exists() else REPO_ROOT / "kiosk.toml"


def _key_path(loc: tuple[int | str, ...], data: dict[str, object]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int) and parts:
            parts[-1] = f"{parts[-1]}[{item}]"
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def _section_of(annotation: object) -> type[BaseModel] | None:
    """The section model a field holds (through list[...], Annotated[...]), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        if found := _section_of(arg):
            return found
    return None


def _known_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys the file may hold at `loc` (a section's path: ints are list positions)."""
    model: type[BaseModel] | None = Settings
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        model = _section_of(field.annotation) if field is not None else None
    if model is None:
        return []
    return [name for name, f in model.model_fields.items() if not f.exclude]


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    """'unknown key', with the closest known key when one is close (a typo), else the list."""
    known = _known_keys(loc[:-1])
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6) if loc else []
    if close:
        return f"unknown key (did you mean {close[0]}?)"
    return f"unknown key (known keys: {', '.join(known)})" if known else "unknown key"


def _format_errors(source: Path, err: ValidationError, data: dict[str, object]) -> str:
    lines = [f"{source}: invalid configuration"]
    for e in err.errors():
        loc = tuple(e["loc"])
        key = _key_path(loc, data)
        msg = _unknown_key(loc) if e["type"] == "extra_forbidden" else e["msg"]
        if e["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def load_settings(
    path: str | os.PathLike[str] | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
) -> Settings:
    """Read, validate and resolve the config, its target pictures too; raise ConfigError
    with a readable message."""
    settings = read_settings(path, data_dir=data_dir)
    problems = picture_problems(settings)
    if problems:
        raise ConfigError("\n".join([f"{settings.source}: invalid configuration", *problems]))
    return settings


def read_settings(
    path: str | os.PathLike[str] | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
) -> Settings:
    """The config read and validated, without looking at its target pictures (doctor
    reports those on their own line); raise ConfigError with a readable message."""
    source = find_config(path).expanduser().resolve()
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read config file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    if data_dir is not None:
        event = data.setdefault("event", {})
        if isinstance(event, dict):
            event["data_dir"] = str(Path(data_dir).expanduser().resolve())
    try:
        settings = Settings.model_validate({**data, "source": source})
    except ValidationError as exc:
        raise ConfigError(_format_errors(source, exc, data)) from None
    return settings


def with_target(settings: Settings, target_id: str) -> Settings:
    """The same settings with another active target (staff switched it)."""
    event = settings.event.model_copy(update={"target": target_id})
    return settings.model_copy(update={"event": event})


def without_flood_limits(settings: Settings) -> Settings:
    """The same settings with no rate limit, no human check and no player codes in the
    way: for benchmarks and tests that submit far faster than any visitor, from one
    nickname (bench/fairness.py and the fair-play tests measure the guard itself)."""
    limits = settings.limits.model_copy(
        update={
            "rate_per_minute": 600.0,
            "rate_burst": 100,
            "burst_prompts": 100,
            "typing_cps_max": 1000.0,
            "source_rate_per_minute": 600.0,
            "source_burst": 100,
            "nicknames_per_device": 1000,
            "max_wait_s": 86400.0,
        }
    )
    players = settings.players.model_copy(update={"codes": False})
    return settings.model_copy(update={"limits": limits, "players": players})


def picture_problems(settings: Settings) -> list[str]:
    """What is wrong with the target pictures, one line each (empty: all readable)."""
    problems = []
    for i, target in enumerate(settings.targets):
        image = settings.target_image(target)
        if not image.is_file():
            problems.append(f"  targets[{i}].image: file not found: {image}")
        elif reason := _not_an_image(image):
            problems.append(f"  targets[{i}].image: not a picture ({reason}): {image}")
    return problems


def _not_an_image(path: Path) -> str | None:
    """Why a file is not a readable picture, or None when it is one."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.verify()
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        return str(exc).split(":")[0] or type(exc).__name__
    return None
