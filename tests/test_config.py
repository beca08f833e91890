"""kiosk.toml: valid file, and every kind of invalid file named by key path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from builders import REPO
from kiosk_cmd import kiosk

from kiosk.core.config import ConfigError, load_settings
from kiosk.ml.tiny import with_tiny_models


def write(tmp_path: Path, text: str) -> Path:
    shutil.copytree(REPO / "assets", tmp_path / "assets")
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """
[[targets]]
id = "duck"
title = "A duck"
image = "assets/duck.png"
"""


def test_repo_config_is_valid() -> None:
    s = load_settings(REPO / "kiosk.toml")
    assert s.generator.model == "stabilityai/sd-turbo"
    assert (s.generator.width, s.generator.height, s.generator.steps) == (512, 512, 1)
    assert s.generator.guidance == 0.0
    assert (s.judge.model, s.judge.pretrained) == ("ViT-B-32", "laion2b_s34b_b79k")
    assert s.active_target.id == "duck-and-swan"
    assert all(s.target_image(t).is_file() for t in s.targets)


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, MINIMAL))
    assert s.active_target.id == "duck"
    assert s.data_path == tmp_path / "data"
    assert s.limits.queued_per_player == 3


def test_env_var_and_data_dir_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, MINIMAL)
    monkeypatch.setenv("KIOSK_CONFIG", str(path))
    s = load_settings(data_dir=tmp_path / "elsewhere")
    assert s.source == path.resolve()
    assert s.data_path == (tmp_path / "elsewhere").resolve()


def test_tiny_profile_points_at_tiny_models(tmp_path: Path) -> None:
    s = with_tiny_models(load_settings(write(tmp_path, MINIMAL)))
    assert s.tiny
    assert s.generator.model == str(tmp_path / "data" / "tiny-models" / "sd")
    assert s.judge.model.startswith("local-dir:")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("[generator]\nstepz = 2\n", "generator.stepz: unknown key"),
        ('[generator]\nsteps = "many"\n', "generator.steps: Input should be a valid integer"),
        ("[generator]\nwidth = 500\n", "generator.width: Input should be a multiple of 8"),
        ('[generator]\ndevice = "tpu"\n', "generator.device: Input should be"),
        ("[limits]\nprompt_max = 0\n", "limits.prompt_max: Input should be greater than"),
        ('[event]\ntarget = "goose"\n', "event.target 'goose' is not one of"),
        ("[bogus]\nx = 1\n", "bogus: unknown key"),
        ('[store]\nurl = "mysql://db/event"\n', "store.url: Value error, must be empty"),
    ],
)
def test_invalid_values_name_key_and_reason(tmp_path: Path, extra: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, MINIMAL + extra))
    assert expected in str(err.value)


def test_missing_image_and_missing_key(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("duck.png", "goose.png"))
    with pytest.raises(ConfigError, match=r"targets\[0\]\.image: file not found"):
        load_settings(path)
    path.write_text('[[targets]]\nid = "duck"\nimage = "assets/duck.png"\n')
    with pytest.raises(ConfigError, match=r"targets\[0\]\.title: required key is missing"):
        load_settings(path)
    path.write_text("[event\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path)
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


def test_cli_invalid_config_exits_2_without_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "[generator]\nsteps = -1\n")
    for args in (["stats"], ["demo", "--profile", "tiny"], ["leaderboard"], ["models", "check"]):
        proc = kiosk(*args, "--config", str(path), timeout=120)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "generator.steps: Input should be greater than or equal to 1" in proc.stderr
        assert "Traceback" not in proc.stderr
