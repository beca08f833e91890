"""Shared fixtures: one set of tiny models per test session, fresh data dirs per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.config import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
os.environ["HF_HUB_OFFLINE"] = "1"  # tests never touch the network


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny random-weight models, built once per session by the real builder."""
    from kiosk.tiny import build_tiny_models

    return build_tiny_models(tmp_path_factory.mktemp("tiny") / "tiny-models")


def tiny_data_dir(path: Path, models: Path) -> Path:
    """A data dir that reuses the session's tiny models instead of rebuilding them."""
    path.mkdir(parents=True, exist_ok=True)
    link = path / "tiny-models"
    if not link.exists():
        link.symlink_to(models, target_is_directory=True)
    return path


@pytest.fixture
def data_dir(tmp_path: Path, tiny_models: Path) -> Path:
    return tiny_data_dir(tmp_path / "data", tiny_models)


@pytest.fixture
def tiny_settings(data_dir: Path) -> Settings:
    """Repo config, tiny profile, a fresh data dir."""
    return load_settings(REPO / "kiosk.toml", data_dir=data_dir, profile="tiny")


@pytest.fixture
def env(data_dir: Path) -> Iterator[dict[str, str]]:
    """Environment for `kiosk` subprocesses: offline, quiet."""
    yield {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
