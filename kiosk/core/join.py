"""Join tokens and signed cookies: HMACs of one secret kept in the data dir.

The booth shows `{public_url}/j/{token}` as a QR code. The token is an HMAC of the
secret and the current time window, so it changes every `join_window_s` and is good for
two windows (the one it was made in and the next): only someone who can see a booth
screen can join. A joined phone carries a device cookie (its id, signed) and a seat
cookie (the player it plays as, signed and bound to that device). Pure but for the
secret file, which is created once, atomically, readable by its owner only.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

SECRET_FILE = "phones.secret"
"""In the data dir: the key of every join token and cookie (deleting it signs every
phone out and ends every join code)."""
TOKEN_CHARS = 20
"""Characters of a join token: 100 bits of an HMAC in base32 capitals, so that a join
URL in capitals fits a small QR code (its alphanumeric mode)."""
ANNOUNCE_FILE = "phones.json"
"""In the data dir while a phone server runs: where phones join (the wall reads it)."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_secret(data_dir: Path) -> bytes:
    """The secret of this data dir, made on first use: written to a private temporary
    file, then linked into place, so two processes starting at once agree on one."""
    path = data_dir / SECRET_FILE
    with contextlib.suppress(FileNotFoundError):
        return _read_secret(path)
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: theirs wins
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    raw = bytes.fromhex(text)
    if len(raw) < 16:
        raise ValueError(f"{path}: the phones' secret is too short; delete the file")
    return raw


class Signer:
    """HMAC-SHA256 of one secret, a separate key per purpose (join, device, seat)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def mac(self, purpose: str, message: str) -> bytes:
        key = hmac.new(self._secret, purpose.encode(), hashlib.sha256).digest()
        return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()

    def sign(self, purpose: str, value: str) -> str:
        """`value` with its signature: `<value b64>.<mac b64>`."""
        body = _b64(value.encode("utf-8"))
        return f"{body}.{_b64(self.mac(purpose, body))}"

    def unsign(self, purpose: str, signed: str | None) -> str | None:
        """The value of a signed string, or None when it is absent, mangled or forged."""
        if not signed or signed.count(".") != 1 or len(signed) > 4096:
            return None
        body, mac = signed.split(".")
        try:
            given = _unb64(mac)
            value = _unb64(body).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        return value if hmac.compare_digest(given, self.mac(purpose, body)) else None


class JoinTokens:
    """The rotating join token: one per window, accepted in its window and the next."""

    def __init__(self, signer: Signer, window_s: float) -> None:
        if window_s <= 0:
            raise ValueError("the join window must be positive")
        self.signer = signer
        self.window_s = window_s

    def window(self, now: float | None = None) -> int:
        return int((time.time() if now is None else now) // self.window_s)

    def token(self, now: float | None = None) -> str:
        """The token the booth shows now."""
        return self._for(self.window(now))

    def _for(self, window: int) -> str:
        return base64.b32encode(self.signer.mac("join", str(window))).decode()[:TOKEN_CHARS]

    def valid(self, token: str, now: float | None = None) -> bool:
        """Whether `token` was shown in this window or the one before."""
        if len(token) != TOKEN_CHARS:
            return False
        w = self.window(now)
        return any(hmac.compare_digest(token, self._for(x)) for x in (w, w - 1))

    def next_change(self, now: float | None = None) -> float:
        """When the token shown changes (a time.time() value)."""
        return (self.window(now) + 1) * self.window_s


@dataclass(frozen=True)
class Seat:
    """The player a device plays as: the nickname and its player code."""

    nickname: str
    code: str | None


class Cookies:
    """The device cookie (a random id, signed) and the seat cookie (bound to one device)."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer

    @staticmethod
    def new_device() -> str:
        return secrets.token_urlsafe(12)

    def device(self, device_id: str) -> str:
        return self.signer.sign("device", device_id)

    def device_of(self, cookie: str | None) -> str | None:
        value = self.signer.unsign("device", cookie)
        return value if value and len(value) <= 64 else None

    def seat(self, device_id: str, seat: Seat) -> str:
        payload = json.dumps([device_id, seat.nickname, seat.code], ensure_ascii=False)
        return self.signer.sign("seat", payload)

    def seat_of(self, device_id: str, cookie: str | None) -> Seat | None:
        """The seat in a cookie, when it was signed here for this very device."""
        value = self.signer.unsign("seat", cookie)
        if value is None:
            return None
        try:
            device, nickname, code = json.loads(value)
        except (ValueError, TypeError):
            return None
        if device != device_id or not isinstance(nickname, str):
            return None
        return Seat(nickname, code if isinstance(code, str) else None)


def lan_address() -> str:
    """This machine's address on its LAN (the interface a packet outward would use; no
    packet is sent), else 127.0.0.1."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def base_url(public_url: str, host: str, port: int) -> str:
    """What phones open: `public_url` as configured, else this machine's LAN address (or
    the address the server listens on, when it is one) and the port."""
    if public_url.strip():
        return public_url.strip().rstrip("/")
    if host and host not in ("0.0.0.0", "::", ""):
        address = f"[{host}]" if ":" in host else host
    else:
        address = lan_address()
    return f"http://{address}:{port}"


class JoinCode:
    """The join URL a booth screen shows now: `{base}/j/{token}`."""

    def __init__(self, base: str, tokens: JoinTokens) -> None:
        self.base = base.rstrip("/")
        self.tokens = tokens

    @classmethod
    def of(cls, data_dir: Path, base: str, window_s: float) -> JoinCode:
        return cls(base, JoinTokens(Signer(load_secret(data_dir)), window_s))

    def url(self, now: float | None = None) -> str:
        return f"{self.base}/j/{self.tokens.token(now)}"

    def qr_text(self, now: float | None = None) -> str:
        """The URL as a QR code says it: in capitals when the base is only a scheme and
        an address (they are case-blind), which QR's alphanumeric mode packs small."""
        parts = self.base.split("/")
        if len(parts) == 3 and all(c.isascii() for c in self.base):
            return f"{self.base.upper()}/J/{self.tokens.token(now)}"
        return self.url(now)

    def announce(self, data_dir: Path) -> None:
        """Say where phones join (`announced` reads it), for the wall beside this booth."""
        path = data_dir / ANNOUNCE_FILE
        tmp = path.with_name(f".{ANNOUNCE_FILE}.{os.getpid()}")
        payload = {"base": self.base, "window_s": self.tokens.window_s, "pid": os.getpid()}
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(tmp, path)

    @staticmethod
    def withdraw(data_dir: Path) -> None:
        (data_dir / ANNOUNCE_FILE).unlink(missing_ok=True)

    @classmethod
    def announced(cls, data_dir: Path) -> JoinCode | None:
        """The join code a phone server in this data dir announced, or None (none runs)."""
        try:
            payload = json.loads((data_dir / ANNOUNCE_FILE).read_text(encoding="utf-8"))
            base, window_s = str(payload["base"]), float(payload["window_s"])
            if not _alive(int(payload.get("pid", 0))):
                return None  # a server that died without withdrawing it
            return cls.of(data_dir, base, window_s)
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _alive(pid: int) -> bool:
    """Whether a process of this id runs on this machine (0: not said, so assumed)."""
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True


class PhoneService(Protocol):
    """The phone server as the booth app sees it (kiosk.web.server.PhoneServer is the
    real one): started and stopped on the app's event loop."""

    join: JoinCode

    async def start(self, host: str | None = None, port: int | None = None) -> None:
        """Listen (raises OSError when the address cannot be had)."""
        ...

    async def stop(self) -> None: ...
