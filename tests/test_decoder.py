"""The decoder option ([generator] vae): the real AutoencoderTiny loading path on the tiny
models, the dedup key, the offline message, models check, and the loading stage."""

from __future__ import annotations

import queue
import shutil
from pathlib import Path

import pytest
from builders import REPO
from kiosk_cmd import kiosk

from kiosk.core.config import Settings, load_settings
from kiosk.core.events import Done, Event, ModelsLoading, ModelsReady, Notice
from kiosk.engine.engine import Engine
from kiosk.ml.generate import (
    TAESD,
    Generator,
    ModelsMissingError,
    decoder_source,
    describe_decoder,
)
from kiosk.ml.identity import model_identity
from kiosk.ml.tiny import TINY_SIZE, taesd_dir, with_tiny_models


def with_vae(settings: Settings, vae: str) -> Settings:
    return settings.model_copy(
        update={"generator": settings.generator.model_copy(update={"vae": vae})}
    )


def tiny_decoder_settings(data_dir: Path) -> Settings:
    """The tiny profile with `vae = "tiny"` in the config: the tiny AutoencoderTiny."""
    text = (REPO / "kiosk.toml").read_text(encoding="utf-8")
    config = data_dir.parent / "kiosk-tiny-decoder.toml"
    config.write_text(
        text.replace('vae = "full"', 'vae = "tiny"').replace(
            'image = "assets/', f'image = "{REPO}/assets/'
        ),
        encoding="utf-8",
    )
    return with_tiny_models(load_settings(config, data_dir=data_dir))


def test_decoder_setting_in_words() -> None:
    assert decoder_source("full") is None
    assert decoder_source("tiny") == TAESD == "madebyollin/taesd"
    assert decoder_source("/models/my-vae") == "/models/my-vae"
    assert describe_decoder("tiny") == "tiny decoder madebyollin/taesd"
    assert "full decoder" in describe_decoder("full")


def test_tiny_profile_uses_the_tiny_autoencoder(data_dir: Path, tiny_models: Path) -> None:
    from diffusers import AutoencoderKL, AutoencoderTiny

    settings = tiny_decoder_settings(data_dir)
    assert settings.generator.vae == str(taesd_dir(data_dir / "tiny-models"))
    gen = Generator(settings.generator)
    gen.load()
    assert isinstance(gen.pipe.vae, AutoencoderTiny)
    drawn = gen.generate(["a duck", "a swan"], [1, 2])
    assert isinstance(drawn.images, list)  # on CPU: PIL images
    assert [im.size for im in drawn.images] == [(TINY_SIZE, TINY_SIZE)] * 2
    plain = Generator(with_vae(settings, "full").generator)
    plain.load()
    assert isinstance(plain.pipe.vae, AutoencoderKL)
    (other,) = plain.generate(["a duck"], [1]).images
    assert other.tobytes() != drawn.images[0].tobytes()  # another decoder, another picture


def test_the_decoder_is_part_of_the_dedup_key(tiny_settings: Settings) -> None:
    full = Engine(tiny_settings)
    key = full.dedup_key("a duck")
    full.store.close()
    assert Engine(with_vae(tiny_settings, "tiny")).dedup_key("a duck") != key
    assert Engine(with_vae(tiny_settings, "full")).dedup_key("a duck") == key


def test_engine_names_the_decoder_while_loading_and_draws_with_it(data_dir: Path) -> None:
    settings = tiny_decoder_settings(data_dir)
    engine = Engine(settings)
    events: queue.Queue[Event] = queue.Queue()
    engine.subscribe(events.put)
    engine.start()
    try:
        assert engine.wait_ready(120), engine.load_error
        engine.submit("ada", "a duck")
        assert engine.wait_idle(120)
    finally:
        engine.stop()
    seen = list(events.queue)
    stages = [e.stage for e in seen if isinstance(e, ModelsLoading)]
    assert any("with the tiny decoder" in s or "with the decoder" in s for s in stages), stages
    (ready,) = [e for e in seen if isinstance(e, ModelsReady)]
    assert "taesd" in ready.decoder
    assert [e.nickname for e in seen if isinstance(e, Done)] == ["ada"]


def test_a_decoder_change_between_runs_is_told(tiny_settings: Settings) -> None:
    notices: list[str] = []

    def run(settings: Settings) -> None:
        engine = Engine(settings)
        engine.subscribe(lambda e: notices.append(e.message) if isinstance(e, Notice) else None)
        engine.drawer.check_decoder()
        engine.stop()
        engine.store.close()

    run(tiny_settings)
    run(tiny_settings)
    assert not [n for n in notices if "decoder changed" in n]
    run(with_vae(tiny_settings, "tiny"))
    (changed,) = [n for n in notices if "decoder changed" in n]
    assert "full -> tiny" in changed and "Keep one decoder for a whole event" in changed


def test_missing_decoder_offline_is_a_clear_message(
    tiny_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    gen = Generator(with_vae(tiny_settings, "nobody/no-such-taesd").generator)
    with pytest.raises(ModelsMissingError, match="decoder") as info:
        gen.load()
    assert "kiosk models pull" in str(info.value)


def test_models_check_lists_the_decoder(tmp_path: Path, env: dict[str, str]) -> None:
    text = (REPO / "kiosk.toml").read_text(encoding="utf-8")
    config = tmp_path / "kiosk.toml"
    config.write_text(
        text.replace('vae = "full"', 'vae = "tiny"').replace(
            'image = "assets/', f'image = "{REPO}/assets/'
        ),
        encoding="utf-8",
    )
    proc = kiosk("models", "check", "--config", str(config), env=env, timeout=120)
    assert proc.returncode == 2
    assert "MISSING decoder: madebyollin/taesd" in proc.stdout, proc.stdout + proc.stderr


def test_the_same_models_anywhere_give_the_same_dedup_key(
    tiny_settings: Settings, tiny_models: Path, tmp_path: Path
) -> None:
    """Booths keep their model folders at different paths (each data dir builds its own
    tiny models): a prompt drawn at one booth is a dedup hit at the next, so the key
    names a local folder by what it holds. Other weights, another key; a Hub id as is."""
    here = Engine(tiny_settings)
    key = here.dedup_key("a duck")
    here.store.close()
    copy = tmp_path / "elsewhere"
    shutil.copytree(tiny_models, copy / "tiny-models")
    moved = tiny_settings.model_copy(
        update={"event": tiny_settings.event.model_copy(update={"data_dir": str(copy)})}
    )
    elsewhere = Engine(with_tiny_models(moved))
    assert elsewhere.settings.generator.model != tiny_settings.generator.model
    assert elsewhere.dedup_key("a duck") == key
    elsewhere.store.close()
    weights = copy / "tiny-models" / "sd" / "unet" / "diffusion_pytorch_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1000] ^= 0xFF  # other weights (a fine-tune differs in every tensor, so here too)
    weights.write_bytes(bytes(data))
    assert model_identity(str(weights.parent.parent)) != model_identity(
        tiny_settings.generator.model
    )
    assert model_identity("stabilityai/sd-turbo") == "stabilityai/sd-turbo"
