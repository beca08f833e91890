"""Join tokens and signed cookies (kiosk.core.join): pure, but for the secret file."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from kiosk.core.join import (
    SECRET_FILE,
    Cookies,
    JoinCode,
    JoinTokens,
    Seat,
    Signer,
    base_url,
    load_secret,
)


def test_the_secret_is_made_once_private_and_shared_by_racing_processes(tmp_path: Path) -> None:
    found: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: found.append(load_secret(tmp_path))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(found)) == 1 and len(found[0]) == 32
    mode = stat.S_IMODE(os.stat(tmp_path / SECRET_FILE).st_mode)
    assert mode == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [SECRET_FILE]  # no temporary left
    assert load_secret(tmp_path) == found[0]


def test_a_token_rotates_every_window_and_is_good_for_two(tmp_path: Path) -> None:
    tokens = JoinTokens(Signer(load_secret(tmp_path)), 60)
    t0 = 1_000_020.0  # inside window 16667 (which starts at 1,000,020)
    token = tokens.token(t0)
    assert tokens.token(t0 + 59) == token
    assert tokens.token(t0 + 60) != token
    assert tokens.valid(token, t0) and tokens.valid(token, t0 + 119)
    assert not tokens.valid(token, t0 + 120)  # two windows on: stale
    assert not tokens.valid(token, t0 - 1)  # from the future
    assert not tokens.valid(token[:-1] + ("A" if token[-1] != "A" else "B"), t0)
    assert len(token) == 20 and set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert not tokens.valid("", t0)
    assert tokens.next_change(t0) == t0 + 60


def test_another_data_dir_makes_other_tokens(tmp_path: Path) -> None:
    one = JoinTokens(Signer(load_secret(tmp_path / "a")), 60)
    two = JoinTokens(Signer(load_secret(tmp_path / "b")), 60)
    assert not two.valid(one.token(5000.0), 5000.0)


def test_a_device_cookie_is_signed_and_a_forged_one_is_nobody(tmp_path: Path) -> None:
    cookies = Cookies(Signer(load_secret(tmp_path)))
    device = cookies.new_device()
    cookie = cookies.device(device)
    assert cookies.device_of(cookie) == device
    body, mac = cookie.split(".")
    assert cookies.device_of(f"{body}.{mac[:-2]}AA") is None
    other = Cookies(Signer(b"x" * 32)).device("someone")
    assert cookies.device_of(other) is None
    for junk in (None, "", "a.b.c", "!!.??", "x" * 5000):
        assert cookies.device_of(junk) is None


def test_a_seat_is_bound_to_its_device(tmp_path: Path) -> None:
    cookies = Cookies(Signer(load_secret(tmp_path)))
    seat = Seat("지민", "1234")
    cookie = cookies.seat("dev1", seat)
    assert cookies.seat_of("dev1", cookie) == seat
    assert cookies.seat_of("dev2", cookie) is None  # copied to another phone: no seat
    assert cookies.seat_of("dev1", cookies.device("dev1")) is None  # purposes differ


@pytest.mark.parametrize(
    ("public", "host", "expected"),
    [
        ("http://booth.example:9000/", "127.0.0.1", "http://booth.example:9000"),
        ("", "127.0.0.1", "http://127.0.0.1:8080"),
    ],
)
def test_the_base_url_is_the_configured_one_or_this_machine(
    public: str, host: str, expected: str
) -> None:
    assert base_url(public, host, 8080) == expected


def test_the_join_url_carries_the_current_token(tmp_path: Path) -> None:
    join = JoinCode.of(tmp_path, "http://127.0.0.1:8080/", 60)
    url = join.url(1000.0)
    assert url == f"http://127.0.0.1:8080/j/{join.tokens.token(1000.0)}"


def test_the_qr_says_the_url_in_capitals_and_the_wall_finds_it(tmp_path: Path) -> None:
    join = JoinCode.of(tmp_path, "http://127.0.0.1:8080", 60)
    token = join.tokens.token(1000.0)
    assert join.qr_text(1000.0) == f"HTTP://127.0.0.1:8080/J/{token}"
    assert JoinCode.announced(tmp_path) is None
    join.announce(tmp_path)
    found = JoinCode.announced(tmp_path)
    assert found is not None and found.url(1000.0) == join.url(1000.0)
    JoinCode.withdraw(tmp_path)
    assert JoinCode.announced(tmp_path) is None
    behind = JoinCode.of(tmp_path, "https://example.org/booth", 60)
    assert behind.qr_text(1000.0) == behind.url(1000.0)  # a path keeps its case


def test_a_dead_servers_announcement_is_ignored(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    join = JoinCode.of(tmp_path, "http://127.0.0.1:8080", 60)
    join.announce(tmp_path)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    path = tmp_path / "phones.json"
    payload = json.loads(path.read_text())
    path.write_text(json.dumps({**payload, "pid": int(gone.stdout)}))
    assert JoinCode.announced(tmp_path) is None
