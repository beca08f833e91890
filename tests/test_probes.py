"""Safety probes on the real tiny judge, and the blurred stand-in of a flagged drawing.

The tiny model's weights are random, so what it "sees" means nothing: these tests drive
the probes through their margins (-2 flags every drawing, 2 none) and check that the
verdict's numbers are the cosines of the real code path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from builders import REPO, tiny_data_dir
from PIL import Image, ImageDraw, ImageFont

from kiosk.core.config import SafetySettings, load_settings
from kiosk.ml.blur import blurred
from kiosk.ml.tiny import with_tiny_models
from kiosk.storage.images import write_image
from scoring.judge import Judge, Verdict
from scoring.probes import ProbeResult, Probes

SAFETY = SafetySettings()
TARGET = "duck-and-swan"


@pytest.fixture(scope="module")
def loaded_judge(tiny_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Judge:
    """The tiny judge, loaded as kiosk.ml.models loads it, shared by this module."""
    data = tiny_data_dir(tmp_path_factory.mktemp("probes") / "data", tiny_models)
    settings = with_tiny_models(load_settings(REPO / "kiosk.toml", data_dir=data))
    judge = Judge(settings.judge.model, settings.judge.pretrained)
    judge.load()
    target = next(t for t in settings.targets if t.id == TARGET)
    judge.add_target(TARGET, settings.target_image(target))
    return judge


@pytest.fixture
def judge(loaded_judge: Judge) -> Iterator[Judge]:
    """The shared judge; each test starts and ends without probes."""
    loaded_judge.probes = None
    yield loaded_judge
    loaded_judge.probes = None


def drawings(n: int = 3) -> list[Image.Image]:
    rng = np.random.default_rng(7)
    return [Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)) for _ in range(n)]


def load(judge: Judge, margin: float = 0.02, text_margin: float = 0.02, **kw: Any) -> Probes:
    lists: dict[str, Any] = dict(
        unsafe=SAFETY.unsafe, neutral=SAFETY.neutral, text_concepts=SAFETY.text_concepts
    )
    return judge.load_probes(**{**lists, **kw}, margin=margin, text_margin=text_margin)


def score(judge: Judge, n: int = 3) -> Verdict:
    return judge.score(drawings(n), [TARGET] * n)


def test_margin_minus_two_flags_every_drawing_as_unsafe(judge: Judge) -> None:
    load(judge, margin=-2, text_margin=2)
    probes = score(judge).probes
    assert probes is not None and len(probes) == 3
    for result in probes:
        assert result.flagged and result.unsafe == result.nearest_unsafe
        assert result.unsafe in SAFETY.unsafe and not result.text
        assert result.flags == f"unsafe:{result.unsafe}({result.unsafe_margin:+.3f})"


def test_margin_two_flags_no_drawing(judge: Judge) -> None:
    load(judge, margin=2, text_margin=2)
    probes = score(judge).probes
    assert probes is not None and len(probes) == 3
    assert all(not r.flagged and r.unsafe is None and not r.text for r in probes)
    assert [r.flags for r in probes] == ["", "", ""]


def test_text_margin_flags_text_alone_everything_or_nothing(judge: Judge) -> None:
    load(judge, margin=2, text_margin=-2)
    probes = score(judge).probes
    assert probes is not None
    assert all(r.text and not r.flagged for r in probes)
    assert [r.flags for r in probes] == [f"text({r.text_margin:+.3f})" for r in probes]
    load(judge, margin=2, text_margin=2)
    assert not any(r.text for r in score(judge).probes or [])


def test_both_flags_are_stored_on_one_line() -> None:
    result = ProbeResult(
        unsafe="a naked person",
        text=True,
        nearest_unsafe="a naked person",
        unsafe_margin=0.0312,
        text_margin=0.0121,
        unsafe_cosine=0.3,
        neutral_cosine=0.27,
        text_cosine=0.28,
    )
    assert result.flags == "unsafe:a naked person(+0.031); text(+0.012)"


def test_verdict_probes_are_the_cosines_of_the_concepts(judge: Judge) -> None:
    import open_clip
    import torch

    probes = load(judge)
    images = drawings(4)
    verdict = judge.score(images, [TARGET] * 4)
    assert verdict.probes is not None
    # the same numbers, made the slow way: each concept encoded on its own
    emb = judge.embed(images)
    tokenizer = open_clip.get_tokenizer(judge.model_name)
    with torch.inference_mode():
        concepts = [
            torch.nn.functional.normalize(judge.model.encode_text(tokenizer([c])).float(), dim=-1)
            for c in SAFETY.unsafe + SAFETY.neutral + SAFETY.text_concepts
        ]
    cos = (emb @ torch.cat(concepts).T).numpy()
    u, k = len(SAFETY.unsafe), len(SAFETY.neutral)
    for row, result in zip(cos, verdict.probes, strict=True):
        best_u, best_n, best_t = row[:u].max(), row[u : u + k].max(), row[u + k :].max()
        assert result.nearest_unsafe == SAFETY.unsafe[int(row[:u].argmax())]
        assert result.unsafe_cosine == pytest.approx(best_u, abs=1e-5)
        assert result.neutral_cosine == pytest.approx(best_n, abs=1e-5)
        assert result.text_cosine == pytest.approx(best_t, abs=1e-5)
        assert result.unsafe_margin == pytest.approx(best_u - best_n, abs=1e-5)
        assert result.text_margin == pytest.approx(best_t - best_n, abs=1e-5)
        assert result.flagged == (result.unsafe_margin > probes.margin)
        assert result.text == (result.text_margin > probes.text_margin)


def test_probes_reuse_the_score_embeddings_without_changing_the_score(judge: Judge) -> None:
    plain = score(judge)
    assert plain.probes is None  # no probes loaded: the verdict is what it always was
    load(judge, margin=-2)
    calls = 0
    encode_image = judge.model.encode_image

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return encode_image(*args, **kwargs)

    judge.model.encode_image = counting
    try:
        probed = score(judge)
    finally:
        del judge.model.encode_image  # the instance attribute; the method is back
    assert calls == 1  # one image forward pass for the score and the probes
    assert probed.cosines == plain.cosines
    assert probed.probes is not None and len(probed.probes) == len(plain.cosines)


def test_empty_concept_lists_never_flag_and_an_empty_neutral_list_is_refused(
    judge: Judge,
) -> None:
    load(judge, margin=-2, text_margin=-2, unsafe=[], text_concepts=[])
    probes = score(judge).probes
    assert probes is not None
    assert all(not r.flagged and not r.text and r.flags == "" for r in probes)
    with pytest.raises(ValueError, match="neutral"):
        load(judge, neutral=[])


def test_probes_need_a_loaded_judge() -> None:
    with pytest.raises(RuntimeError, match="not loaded"):
        load(Judge("ViT-B-32"))


def word(text: str) -> Image.Image:
    """A drawing of a word over a fine checkerboard: shapes and high frequencies."""
    checker = (np.indices((256, 256)).sum(axis=0) // 4 % 2 * 60 + 180).astype(np.uint8)
    im = Image.fromarray(np.stack([checker] * 3, axis=-1))
    ImageDraw.Draw(im).text((20, 100), text, fill="black", font=ImageFont.load_default(48))
    return im


def edges(image: Image.Image) -> float:
    """Mean absolute difference between neighbouring pixels: the fine detail left."""
    a = np.asarray(image, dtype=np.float64)
    return float((np.abs(np.diff(a, axis=0)).mean() + np.abs(np.diff(a, axis=1)).mean()) / 2)


def test_blur_leaves_nothing_recognisable(tmp_path: Path) -> None:
    duck, swan = word("DUCK"), word("SWAN")
    duck.save(tmp_path / "duck.png")
    swan.save(tmp_path / "swan.png")
    write_image(blurred(duck), tmp_path / "out" / "duck.png")
    write_image(blurred(swan), tmp_path / "out" / "swan.png")
    with (
        Image.open(tmp_path / "out" / "duck.png") as a,
        Image.open(tmp_path / "out" / "swan.png") as b,
    ):
        assert a.size == (96, 96) and a.mode == "RGB"  # small; screens enlarge it
        shown = a.resize(duck.size, Image.Resampling.BICUBIC)  # as a screen shows it
        blur_duck, blur_swan = np.asarray(a, dtype=np.int16), np.asarray(b, dtype=np.int16)
        assert edges(shown) < edges(duck) / 50  # the fine detail is gone
    # two drawings that differ only in their words blur to the same soft blobs
    assert np.abs(np.asarray(duck, np.int16) - np.asarray(swan, np.int16)).max() >= 180
    assert np.abs(blur_duck - blur_swan).max() <= 20
