"""Shared fixtures: one set of tiny models per test session, fresh data dirs per test."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from builders import tiny_data_dir, tiny_settings_in
from engine_fixtures import CountingGenerator, Recorder
from pg_fixtures import pg_server, pg_url  # noqa: F401  (fixtures for the PostgreSQL tests)
from store_fixtures import backend, store  # noqa: F401  (each store test on both backends)
from tmux_fixtures import Tmux

from kiosk.core.config import Settings, StoreSettings
from kiosk.engine.engine import Engine
from kiosk.storage.store import PgStore

os.environ["HF_HUB_OFFLINE"] = "1"  # tests never touch the network


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny random-weight models, built once per session by the real builder."""
    from kiosk.ml.tiny import build_tiny_models

    return build_tiny_models(tmp_path_factory.mktemp("tiny") / "tiny-models")


@pytest.fixture
def data_dir(tmp_path: Path, tiny_models: Path) -> Path:
    return tiny_data_dir(tmp_path / "data", tiny_models)


@pytest.fixture
def tiny_settings(request: pytest.FixtureRequest, data_dir: Path, tiny_models: Path) -> Settings:
    """Repo config, tiny profile, a fresh data dir (builders.tiny_settings_in). With
    KIOSK_TEST_STORE=postgresql its store is a fresh PostgreSQL database instead, to run
    any engine test on the shared store (tests that open the SQLite file by hand fail)."""
    settings = tiny_settings_in(data_dir, tiny_models)
    if os.environ.get("KIOSK_TEST_STORE") == "postgresql":
        url = request.getfixturevalue("pg_url")
        settings = settings.model_copy(update={"store": StoreSettings(url=url)})
    return settings


@pytest.fixture
def env(data_dir: Path) -> Iterator[dict[str, str]]:
    """Environment for `kiosk` subprocesses: offline, quiet."""
    yield {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}


@pytest.fixture
def engine_factory(tiny_settings: Settings) -> Iterator[Callable[..., tuple[Engine, Recorder]]]:
    """Engines on the real tiny models that record their events; stopped after the test."""
    engines: list[Engine] = []

    def make(
        start: bool = True,
        settings: Settings = tiny_settings,
        generator: CountingGenerator | None = None,
    ) -> tuple[Engine, Recorder]:
        gen = generator or CountingGenerator(settings.generator)
        engine = Engine(settings, generator=gen)
        rec = Recorder()
        engine.subscribe(rec)
        engines.append(engine)
        if start:
            engine.start()
            assert engine.wait_ready(120), engine.load_error
        return engine, rec

    yield make
    for engine in engines:
        engine.stop()
        engine.store.close()
        if isinstance(engine.store, PgStore):  # its pool, before the database is dropped
            engine.store.shutdown()


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    """A private tmux server for one test, killed after it."""
    session = Tmux(f"kiosk-test-{os.getpid()}-{time.monotonic_ns()}")
    try:
        yield session
    finally:
        session.kill()
