"""The generator's speed settings (torch.compile, channels_last) on the tiny pipeline, on CPU.

The compile tests run the real torch.compile (inductor, with this machine's C++
compiler) on the tiny UNet and VAE decoder; a compile costs seconds here.
"""

from __future__ import annotations

import logging
import queue
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kiosk.core.config import Settings
from kiosk.core.events import Done, ModelsLoading, ModelsReady, Notice, Queued
from kiosk.engine.engine import Engine
from kiosk.ml.generate import (
    Generator,
    compiled_sizes,
    padded_size,
    pick_preprocess,
    wants_channels_last,
)


@pytest.fixture
def fresh_dynamo() -> Iterator[None]:
    """Compiled frames must not leak between tests (dynamo caches per code object)."""
    import torch

    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def pixels(images: Any) -> list[np.ndarray]:
    """Each picture as int16 (H, W, 3) pixels, from PIL images or a [0, 1] tensor batch."""
    if not isinstance(images, list):  # the device path: round like diffusers' PIL output
        array = (images.float().cpu() * 255).round().permute(0, 2, 3, 1).numpy()
        return list(array.astype(np.int16))
    return [np.asarray(image, dtype=np.int16) for image in images]


def test_compiled_sizes_are_powers_of_two_then_the_batch() -> None:
    assert compiled_sizes(1) == (1,)
    assert compiled_sizes(2) == (1, 2)
    assert compiled_sizes(4) == (1, 2, 4)
    assert compiled_sizes(6) == (1, 2, 4, 6)
    assert compiled_sizes(8) == (1, 2, 4, 8)
    assert padded_size(3, (1, 2, 4)) == 4
    assert padded_size(4, (1, 2, 4)) == 4
    assert padded_size(5, (1, 2, 4)) == 5  # larger than any compiled size: as it is
    assert padded_size(3, ()) == 3  # eager: never padded


def test_channels_last_is_on_for_cuda_only_by_default() -> None:
    assert wants_channels_last("auto", "cuda")
    assert not wants_channels_last("auto", "cpu")
    assert not wants_channels_last("auto", "mps")
    assert wants_channels_last("on", "cpu")
    assert not wants_channels_last("off", "cuda")


def test_channels_last_draws_what_the_default_layout_draws(tiny_settings: Settings) -> None:
    import torch

    plain = Generator(tiny_settings.generator)
    plain.load()
    nhwc = Generator(tiny_settings.generator.model_copy(update={"channels_last": "on"}))
    nhwc.load()
    conv = next(m for m in nhwc.pipe.unet.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not plain.compiled and not nhwc.compiled
    prompts, seeds = ["a duck", "a swan"], [7, 8]
    for a, b in zip(
        pixels(plain.generate(prompts, seeds).images),
        pixels(nhwc.generate(prompts, seeds).images),
        strict=True,
    ):
        assert a.shape == b.shape
        assert np.abs(a - b).max() <= 2  # the same drawing, up to float rounding


@pytest.mark.skipif(
    shutil.which("g++") is None, reason="no C++ compiler: inductor cannot compile for CPU here"
)
def test_compiled_generator_compiles_each_size_at_load(
    tiny_settings: Settings, fresh_dynamo: None
) -> None:
    from torch._dynamo.utils import counters

    eager = Generator(tiny_settings.generator)
    eager.load()
    stages: list[str] = []
    gen = Generator(
        tiny_settings.generator.model_copy(update={"compile": "default", "batch": 1}),
        stage=stages.append,
    )
    gen.load()  # one size: a cold compile of the tiny models takes about a minute here
    assert gen.compiled and gen.compile_error is None
    assert stages == ["compiling the drawing model for 1 at once (1 of 1)"]
    graphs = counters["stats"]["unique_graphs"]
    assert graphs >= 1
    for n in (1, 1):
        prompts = [f"a duck, take {i}" for i in range(n)]
        seeds = list(range(100, 100 + n))
        drawn = gen.generate(prompts, seeds)
        assert len(drawn.images) == n
        for a, b in zip(
            pixels(drawn.images), pixels(eager.generate(prompts, seeds).images), strict=True
        ):
            assert np.abs(a - b).max() <= 2  # compiled draws what eager draws
    assert counters["stats"]["unique_graphs"] == graphs  # nothing compiled after loading


def test_calls_are_padded_to_a_compiled_size_and_trimmed(tiny_settings: Settings) -> None:
    """Padding, on the eager pipeline (compiling sizes 1, 2, 4 costs minutes on 2 cores):
    3 prompts run as a batch of 4, 3 drawings come back, each as drawn unpadded."""
    plain = Generator(tiny_settings.generator)
    plain.load()
    padded = Generator(tiny_settings.generator)
    padded.load()
    padded._sizes = compiled_sizes(4)  # what a compiled load with batch = 4 leaves
    calls: list[int] = []
    pipe = padded.pipe

    def counting(**kw: Any) -> Any:
        calls.append(len(kw["prompt"]))
        return pipe(**kw)

    padded.pipe = counting
    prompts, seeds = ["a duck", "a swan", "a pond"], [1, 2, 3]
    drawn = padded.generate(prompts, seeds)
    assert calls == [4] and len(drawn.images) == 3
    for a, b in zip(
        pixels(drawn.images), pixels(plain.generate(prompts, seeds).images), strict=True
    ):
        assert np.abs(a - b).max() <= 2


def test_a_failed_compile_is_a_notice_and_the_booth_draws_eagerly(
    tiny_settings: Settings,
    fresh_dynamo: None,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    from torch._inductor.cpp_builder import cpp_compiler_search
    from torch._inductor.utils import fresh_cache

    # The booth machine has no C++ compiler for inductor's CPU kernels on its PATH, and no
    # kernels cached from an earlier run (with them, inductor would need no compiler).
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    cpp_compiler_search.cache_clear()  # forget the compiler found by earlier tests
    request.addfinalizer(cpp_compiler_search.cache_clear)
    cache = fresh_cache()
    cache.__enter__()
    request.addfinalizer(lambda: cache.__exit__(None, None, None))
    generator = tiny_settings.generator.model_copy(update={"compile": "default", "batch": 2})
    engine = Engine(tiny_settings.model_copy(update={"generator": generator}))
    events: queue.Queue[Any] = queue.Queue()
    engine.subscribe(events.put)
    engine.start()
    try:
        assert engine.wait_ready(300)
        queued = engine.submit("ada", "a duck and a swan")
        assert isinstance(queued, Queued)
        assert engine.wait_idle(120)
    finally:
        engine.stop()
    seen = []
    while not events.empty():
        seen.append(events.get())
    stages = [(e.stage, e.step, e.total) for e in seen if isinstance(e, ModelsLoading)]
    # the loading bar counts each batch size compiled (2 here) among its steps, and the
    # safety probes' step
    assert ("compiling the drawing model for 1 at once (1 of 2)", 2, 7) in stages
    assert stages[-1] == ("ready", 7, 7)
    notices = [e.message for e in seen if isinstance(e, Notice)]
    assert any(
        n.startswith("torch.compile failed, drawing without it:") and "C++ compiler" in n
        for n in notices
    ), notices
    assert any(isinstance(e, ModelsReady) for e in seen)
    done = [e for e in seen if isinstance(e, Done)]
    assert [d.job_id for d in done] == [queued.job_id]
    assert engine.generator is not None and not getattr(engine.generator, "compiled", True)
    # torch's own warnings (e.g. inductor's) stay off the operator's screen
    assert logging.getLogger("torch").getEffectiveLevel() == logging.ERROR


def test_the_device_path_is_chosen_on_cuda_only_by_default() -> None:
    assert pick_preprocess("auto", "cuda") == "device"
    assert pick_preprocess("auto", "cpu") == "pil"
    assert pick_preprocess("auto", "mps") == "pil"
    assert pick_preprocess("device", "cpu") == "device"
    assert pick_preprocess("pil", "cuda") == "pil"


def test_the_device_path_hands_over_the_same_drawings_as_a_tensor(
    tiny_settings: Settings,
) -> None:
    """preprocess = "device": one float batch in [0, 1] on the model's device, padding
    trimmed; the same pictures as the PIL path up to its rounding to 8 bits."""
    import torch

    plain = Generator(tiny_settings.generator)
    plain.load()
    tensor = Generator(tiny_settings.generator, preprocess="device")
    tensor.load()
    assert (plain.output_type, tensor.output_type) == ("pil", "pt")
    prompts, seeds = ["a duck", "a swan"], [7, 8]
    drawn = tensor.generate(prompts, seeds).images
    assert isinstance(drawn, torch.Tensor)
    size = tiny_settings.generator.height, tiny_settings.generator.width
    assert drawn.shape == (2, 3, *size) and drawn.device.type == "cpu"
    assert float(drawn.min()) >= 0.0 and float(drawn.max()) <= 1.0
    for a, b in zip(pixels(drawn), pixels(plain.generate(prompts, seeds).images), strict=True):
        assert np.abs(a - b).max() <= 1
