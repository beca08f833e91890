"""The helpers every kind of test shares: the repo root, data dirs on the session's tiny
models, and drawings committed by hand through the real store (no models)."""

from __future__ import annotations

import socket
from pathlib import Path

from kiosk.core import policy
from kiosk.core.api import Job, Result
from kiosk.core.config import Settings, load_settings, without_flood_limits
from kiosk.core.ports import StoreAPI
from kiosk.ml.tiny import with_tiny_models
from kiosk.storage.images import image_relpath

REPO = Path(__file__).resolve().parent.parent


def relaxed(settings: Settings) -> Settings:
    """Settings for tests of everything but fair play: no rate limit or human check to
    trip over, no player codes to type. The fair-play tests use the booth's defaults."""
    return without_flood_limits(settings)


def tiny_data_dir(path: Path, models: Path) -> Path:
    """A data dir that reuses the session's tiny models instead of rebuilding them."""
    path.mkdir(parents=True, exist_ok=True)
    link = path / "tiny-models"
    if not link.exists():
        link.symlink_to(models, target_is_directory=True)
    return path


def tiny_settings_in(data_dir: Path, tiny_models: Path) -> Settings:
    """Repo config with the tiny profile in `data_dir` (linked to the session's tiny
    models); no flood limits or player codes in the way (`relaxed`)."""
    data = tiny_data_dir(data_dir, tiny_models)
    return relaxed(with_tiny_models(load_settings(REPO / "kiosk.toml", data_dir=data)))


def scored(cosine: float, *, image: str = "i.webp", flags: str = "", review: int = 0) -> Result:
    """What the models said of a drawing, as the worker hands it to the store."""
    return Result(
        image=image,
        cosine=cosine,
        percent=policy.percent(cosine),
        gen_ms=1.0,
        judge_ms=1.0,
        generator="g",
        judge="j",
        flags=flags,
        review=review,
    )


def complete(store: StoreAPI, job: Job, cosine: float) -> int:
    """Commit a job's drawing with this score, as the worker would: its submission id."""
    result = scored(cosine, image=image_relpath(job.dedup_key))
    sub, *_ = store.jobs.complete(job, result)
    return sub.id


def accept(
    store: StoreAPI,
    nickname: str,
    prompt: str,
    *,
    target: str = "duck",
    key: str | None = None,
    seed: int | None = None,
) -> Job:
    """Accept a prompt as a pending job (its key from the prompt unless given)."""
    norm = policy.normalise_prompt(prompt)
    key = key or policy.dedup_key(norm, target, "g", "j")
    return store.jobs.add(
        player_key=policy.player_key(nickname),
        nickname=nickname,
        target_id=target,
        raw_prompt=prompt,
        prompt=prompt,
        norm_prompt=norm,
        dedup_key=key,
        seed=policy.seed_for(key) if seed is None else seed,
    )


def commit(
    store: StoreAPI,
    nickname: str,
    prompt: str,
    cosine: float,
    *,
    target: str = "duck",
    key: str | None = None,
    seed: int | None = None,
) -> int:
    """Accept a prompt and commit its drawing (at `image_relpath(key)`) with this score."""
    job = accept(store, nickname, prompt, target=target, key=key, seed=seed)
    return complete(store, job, cosine)


def shared_config(folder: Path, url: str, booth: str = "") -> Path:
    """The repo's kiosk.toml in `folder` with `[store] url` set, as booth `booth` if
    given (its pictures and script by absolute path, since the copy lives elsewhere)."""
    text = (REPO / "kiosk.toml").read_text(encoding="utf-8")
    text = text.replace('"assets/', f'"{REPO}/assets/').replace('"examples/', f'"{REPO}/examples/')
    text = text.replace('\nurl = ""', f'\nurl = "{url}"', 1)
    if booth:
        text = text.replace('\n# booth = "hall-a"', f'\nbooth = "{booth}"', 1)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (the only address servers here bind)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
