"""Target and safety-concept embeddings are kept on disk: a restart reads them instead of
running the judge's towers again; a bad cache file is ignored and rewritten."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
from builders import REPO

from kiosk.core.config import SafetySettings, Settings
from kiosk.ml.models import embedding_cache_dir, load_models
from kiosk.ml.tiny import judge_name
from scoring.cache import EmbeddingCache, text_key
from scoring.judge import Judge

SAFETY = SafetySettings()
TARGETS = ["duck-and-swan", "duck"]
CONCEPTS = len(SAFETY.unsafe) + len(SAFETY.neutral) + len(SAFETY.text_concepts)


class Counted:
    """How many texts and pictures went through the judge's towers."""

    def __init__(self, judge: Judge) -> None:
        self.texts = self.images = 0
        encode_text, encode_image = judge.model.encode_text, judge.model.encode_image

        def text(tokens: Any, *args: Any, **kwargs: Any) -> Any:
            self.texts += len(tokens)
            return encode_text(tokens, *args, **kwargs)

        def image(batch: Any, *args: Any, **kwargs: Any) -> Any:
            self.images += len(batch)
            return encode_image(batch, *args, **kwargs)

        judge.model.encode_text, judge.model.encode_image = text, image


def start(tiny_models: Path, cache: Path | None) -> tuple[Judge, Counted]:
    """What a booth start does with its judge: load, embed the targets, load the probes."""
    judge = Judge(judge_name(tiny_models), cache_dir=cache)
    judge.load()
    counted = Counted(judge)
    for target in TARGETS:
        judge.add_target(target, REPO / "assets" / f"{target}.png")
    judge.load_probes(
        SAFETY.unsafe, SAFETY.neutral, SAFETY.text_concepts, SAFETY.margin, SAFETY.text_margin
    )
    return judge, counted


def same_embeddings(a: Judge, b: Judge) -> bool:
    import torch

    assert a.probes is not None and b.probes is not None
    targets = all(torch.equal(a._targets[t], b._targets[t]) for t in TARGETS)
    return targets and torch.equal(a.probes.embeddings, b.probes.embeddings)


def test_a_second_start_reads_every_embedding_from_the_cache(
    tiny_models: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first, computed = start(tiny_models, cache)
    assert (computed.images, computed.texts) == (len(TARGETS), CONCEPTS)
    assert len(list(cache.glob("*.pt"))) == len(TARGETS) + CONCEPTS
    second, cached = start(tiny_models, cache)
    assert (cached.images, cached.texts) == (0, 0)  # neither tower ran
    assert same_embeddings(first, second)
    uncached, _ = start(tiny_models, None)
    assert same_embeddings(first, uncached)  # what the cache holds is what a start computes


def test_only_new_concepts_and_edited_pictures_are_embedded_again(
    tiny_models: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    start(tiny_models, cache)
    judge = Judge(judge_name(tiny_models), cache_dir=cache)
    judge.load()
    counted = Counted(judge)
    edited = tmp_path / "duck.png"
    shutil.copy(REPO / "assets" / "swan.png", edited)  # same name, other picture
    judge.add_target("duck", edited)
    judge.load_probes(["a brand new concept"], SAFETY.neutral, [], 0.0, 0.0)
    assert (counted.images, counted.texts) == (1, 1)


def test_a_corrupt_or_foreign_cache_file_is_ignored_and_rewritten(
    tiny_models: Path, tmp_path: Path
) -> None:
    import torch

    cache = tmp_path / "cache"
    first, _ = start(tiny_models, cache)
    store = EmbeddingCache(cache, first.name)
    neutral = store._path(text_key(SAFETY.neutral[0]))
    neutral.write_bytes(b"\x00 half a file")
    # a file in this key's place that says it belongs to another judge
    unsafe = store._path(text_key(SAFETY.unsafe[0]))
    foreign = {"judge": "ViT-L-14/other", "key": text_key(SAFETY.unsafe[0])}
    torch.save({**foreign, "embedding": torch.zeros(32)}, unsafe)
    second, counted = start(tiny_models, cache)
    assert counted.texts == 2
    assert same_embeddings(first, second)
    assert store.get(text_key(SAFETY.neutral[0])) is not None  # rewritten
    assert store.get(text_key(SAFETY.unsafe[0])) is not None


def test_a_cache_that_cannot_be_written_does_not_stop_the_judge(
    tiny_models: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="scoring.cache")  # whatever quieted the root
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    _, counted = start(tiny_models, blocked)
    assert (counted.images, counted.texts) == (len(TARGETS), CONCEPTS)
    assert "cannot write" in caplog.text


def test_load_models_gives_the_judge_its_cache_folder(
    tiny_settings: Settings, tiny_models: Path
) -> None:
    class Loaded:
        """A generator that is already loaded (load_models only needs its device)."""

        device = "cpu"

        def load(self) -> None:
            pass

    cache = embedding_cache_dir(tiny_settings)
    assert cache == tiny_settings.data_path / "cache" / "embeddings"
    _, judge = load_models(
        tiny_settings.generator,
        tiny_settings.judge,
        [(t.id, tiny_settings.target_image(t)) for t in tiny_settings.targets],
        safety=tiny_settings.safety,
        tiny_root=tiny_models,
        generator=Loaded(),
        judge=None,
        stage=lambda *_: None,
        cache_dir=cache,
    )
    assert judge.cache is not None and judge.cache.folder == cache
    assert len(list(cache.glob("*.pt"))) == len(tiny_settings.targets) + CONCEPTS


def test_the_judge_load_benchmark_runs(env: dict[str, str]) -> None:
    """bench/judge_load.py on the tiny judge, one start of each kind (times not asserted)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "judge_load.py"), "--runs", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1].startswith("SUMMARY judge_load: tiny start ")
