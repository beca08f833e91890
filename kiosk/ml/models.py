"""Load the generator and the judge for an engine, with progress stages.

Runs in the engine's worker thread. Missing weights while offline become
ModelsMissingError with a message that names `kiosk models pull` and `--profile tiny`.
`[judge] preprocess` picks what the generator hands the judge (PIL images, or a tensor
that stays on the device); with a cache folder the target and safety-concept embeddings
of an earlier start are read instead of computed.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kiosk.core.config import GeneratorSettings, JudgeSettings, SafetySettings, Settings
from kiosk.ml.generate import (
    Generator,
    ModelsMissingError,
    compiled_sizes,
    describe_decoder,
    missing_message,
)
from kiosk.ml.offline import go_offline, hub_offline

StageFn = Callable[[str, int, int], object]


def quiet_libraries() -> None:
    """Silence library progress bars and chatter: the kiosk reports progress itself."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="huggingface_hub")
    logging.getLogger().setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as tlog

        tlog.set_verbosity_error()
        tlog.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers is a dependency
        pass


def quiet_torch() -> None:
    """torch's own warnings (its "torch" logger, set up when torch is imported, prints to
    stderr) stay out of the operator's screen; errors still show."""
    import torch  # noqa: F401  (sets up the "torch" logger this quiets)

    logging.getLogger("torch").setLevel(logging.ERROR)


def apply_offline(settings: Settings) -> None:
    """At the booth nothing touches the network: set before the Hub library is imported."""
    if settings.event.offline:
        go_offline()


def load_models(
    gen: GeneratorSettings,
    judging: JudgeSettings,
    targets: Sequence[tuple[str, Path]],
    *,
    safety: SafetySettings,
    tiny_root: Path | None,
    generator: Any,
    judge: Any,
    stage: StageFn,
    cache_dir: Path | None = None,
) -> tuple[Any, Any]:
    """Build (or reuse) and load the generator and judge, then embed every target
    ((id, picture) pairs). `tiny_root`: the tiny profile's models, built there first.
    `cache_dir`: where a judge built here keeps its embeddings (`embedding_cache_dir`)."""
    from kiosk.ml import tiny
    from scoring.judge import Judge, JudgeLoadError

    quiet_libraries()
    # building (0), the drawing model (1), each compiled batch size, the judge, the targets
    compiles = len(compiled_sizes(gen.batch)) if generator is None and gen.compile != "off" else 0
    probes = safety.probes and hasattr(judge or Judge, "load_probes")
    total = 4 + compiles + (1 if probes else 0)
    if tiny_root is not None and not tiny.is_built(tiny_root):
        stage("building tiny demo models", 0, total)
        tiny.build_tiny_models(tiny_root)
    if hub_offline() and generator is None and judge is None:
        _refuse_missing(gen, judging)
    decoder = "" if gen.vae == "full" else f" with the {describe_decoder(gen.vae)}"
    stage(f"loading the drawing model{decoder}", 1, total)
    compiled = iter(range(2, 2 + compiles))
    generator = generator or Generator(
        gen,
        stage=lambda text: stage(text, next(compiled, 1 + compiles), total),
        preprocess=judging.preprocess,
    )
    quiet_torch()
    generator.load()
    stage("loading the judge", 2 + compiles, total)
    if judge is None:
        judge = Judge(judging.model, judging.pretrained, generator.device, cache_dir)
    try:
        judge.load()
    except JudgeLoadError as exc:
        if hub_offline() and not _judge_is_local(judging):
            raise ModelsMissingError(missing_message("judge", judge.name, str(exc))) from exc
        raise
    stage("judging the target pictures", 3 + compiles, total)
    for target_id, picture in targets:
        judge.add_target(target_id, picture)
    if probes:
        stage("learning what to hold for the staff (safety probes)", 4 + compiles, total)
        judge.load_probes(
            safety.unsafe,
            safety.neutral,
            safety.text_concepts if safety.text != "off" else [],
            safety.margin,
            safety.text_margin,
        )
    stage("ready", total, total)
    return generator, judge


def embedding_cache_dir(settings: Settings) -> Path:
    """Where the judge keeps target and concept embeddings across restarts."""
    return settings.data_path / "cache" / "embeddings"


def _refuse_missing(gen: GeneratorSettings, judging: JudgeSettings) -> None:
    """Fail fast, before the slow imports, when weights are missing offline."""
    from kiosk.ml.hub import check_models

    for what, name, ok, hint in check_models(gen, judging):
        if not ok:
            raise ModelsMissingError(missing_message(what, name, hint))


def _judge_is_local(judging: JudgeSettings) -> bool:
    model = judging.model
    return model.startswith("local-dir:") or Path(judging.pretrained).expanduser().is_file()
