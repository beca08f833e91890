"""The phone server's JSON API against a real engine on the tiny models, on 127.0.0.1:
joining, playing to a score, every refusal kind, the caps, the Origin check, the
cookie's signature, the token's rotation, and that a phone sees nothing hidden or held."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from engine_fixtures import Recorder
from phone_fixtures import Phone
from yarl import URL

from kiosk.core.commands import StaffCommand
from kiosk.core.config import Settings
from kiosk.engine.engine import Engine
from kiosk.web.answers import DEVICE_COOKIE
from kiosk.web.server import Caps, PhoneServer

pytestmark = pytest.mark.timeout(180)
MakeEngine = Callable[..., tuple[Engine, Recorder]]


class Booth:
    """A running phone server and the engine behind it."""

    def __init__(self, engine: Engine, server: PhoneServer) -> None:
        self.engine = engine
        self.server = server
        self.phones: list[Phone] = []

    async def phone(self, join: bool = True) -> Phone:
        phone = Phone(self.server)
        self.phones.append(phone)
        if join:
            assert await phone.join() == 303
        return phone


async def serve(engine: Engine, settings: Settings, caps: Caps | None = None) -> PhoneServer:
    server = PhoneServer(engine, settings, caps=caps or Caps())
    await server.start("127.0.0.1", 0)
    return server


@pytest.fixture
async def booth(engine_factory: MakeEngine, tiny_settings: Settings) -> AsyncIterator[Booth]:
    engine, _ = engine_factory()
    server = await serve(engine, tiny_settings)
    b = Booth(engine, server)
    yield b
    for phone in b.phones:
        await phone.close()
    await server.stop()


async def test_a_phone_joins_plays_and_follows_its_prompt_to_a_score(booth: Booth) -> None:
    phone = await booth.phone()
    listening = asyncio.create_task(phone.events(until="done"))
    await asyncio.sleep(0.3)  # the stream is open before the prompt goes in
    status, queued = await phone.prompt("a duck on a pond", nickname="mina")
    assert status == 202, queued
    assert queued["event"] == "queued" and isinstance(queued["job"], int)
    assert queued["nickname"] == "mina" and "position" in queued
    seen = await listening
    names = [e["event"] for e in seen]
    assert names[0] == "hello" and "queued" in names and names[-1] == "done", names
    done = seen[-1]
    assert done["job"] == queued["job"]
    assert done["score"].endswith("%") and len(done["score"].split(".")[1]) == 3  # 2 dp + %
    assert done["rank"] == "Rank #1"
    async with phone.session.get(phone.base + done["image"]) as r:
        assert r.status == 200 and r.content_type.startswith("image/")
    # The device stays signed in as mina: no nickname needed for the next prompt.
    status, again = await phone.prompt("a swan on a lake")
    assert status == 202 and again["nickname"] == "mina"
    status, board = await phone.get("/api/board")
    assert status == 200 and board["board"][0]["nickname"] == "mina"


async def test_the_top_10_comes_to_every_phone_in_its_board_event(booth: Booth) -> None:
    watcher, player = await booth.phone(), await booth.phone()
    listening = asyncio.create_task(watcher.events(until="board"))
    await asyncio.sleep(0.3)
    assert (await player.prompt("a duck on a pond", nickname="mina"))[0] == 202
    board = (await listening)[-1]  # one board, read once for all phones, rows included
    assert [row["nickname"] for row in board["board"]] == ["mina"]
    assert board["board"][0]["score"].endswith("%")


async def test_a_stale_or_forged_join_token_is_refused(booth: Booth) -> None:
    phone = await booth.phone(join=False)
    tokens = booth.server.join.tokens
    import time

    stale = tokens.token(time.time() - 2 * tokens.window_s)
    assert await phone.join(stale) == 403
    assert await phone.join("X" * 20) == 403
    status, body = await phone.prompt("a duck", nickname="eve")
    assert status == 403 and body["kind"] == "join"
    assert await phone.join() == 303  # the token the booth shows now


async def test_a_forged_device_cookie_is_nobody(booth: Booth) -> None:
    phone = await booth.phone()
    cookie = next(c for c in phone.session.cookie_jar if c.key == DEVICE_COOKIE)
    body, mac = cookie.value.split(".")
    phone.session.cookie_jar.clear()
    forged = f"{body}.{mac[::-1]}"
    phone.session.cookie_jar.update_cookies({DEVICE_COOKIE: forged}, URL(phone.base))
    status, answer = await phone.prompt("a duck", nickname="eve")
    assert status == 403 and answer["kind"] == "join"


async def test_a_request_with_a_body_must_come_from_the_page(booth: Booth) -> None:
    phone = await booth.phone()
    for origin in (None, "http://evil.example", "null"):
        status, body = await phone.post(
            "/api/prompt", {"nickname": "eve", "prompt": "a duck"}, origin=origin
        )
        assert status == 403 and body["kind"] == "origin", origin
    assert not booth.engine.store.jobs.pending()


async def test_bodies_are_capped(booth: Booth) -> None:
    phone = await booth.phone()
    status, body = await phone.prompt("duck " * 2000, nickname="eve")
    assert status == 413 and body["kind"] == "body"
    async with phone.session.post(
        f"{phone.base}/api/prompt", data=b"nickname=eve", headers={"Origin": phone.base}
    ) as r:
        assert r.status == 415


@pytest.mark.parametrize(("kind", "status"), [("policy", 422), ("words", 422), ("banned", 403)])
async def test_refusals_say_their_kind_and_reason(booth: Booth, kind: str, status: int) -> None:
    phone = await booth.phone()
    if kind == "banned":
        booth.engine.staff(StaffCommand(action="ban", subject="eve"))
    prompt = {"policy": "   ", "words": "fuck", "banned": "a duck"}[kind]
    got, body = await phone.prompt(prompt, nickname="eve")
    assert (got, body["kind"]) == (status, kind), body
    assert body["reason"]


@pytest.fixture
async def booth_with(
    engine_factory: MakeEngine,
) -> AsyncIterator[Callable[..., Any]]:
    """A booth on settings of the test's own (flood limits, codes), started or not."""
    made: list[Booth] = []

    async def make(settings: Settings, start: bool = True, caps: Caps | None = None) -> Booth:
        engine, _ = engine_factory(start=start, settings=settings)
        b = Booth(engine, await serve(engine, settings, caps))
        made.append(b)
        return b

    yield make
    for b in made:
        for phone in b.phones:
            await phone.close()
        await b.server.stop()


def limits(settings: Settings, **values: Any) -> Settings:
    return settings.model_copy(update={"limits": settings.limits.model_copy(update=values)})


def with_codes(settings: Settings) -> Settings:
    players = settings.players.model_copy(update={"codes": True})
    return settings.model_copy(update={"players": players})


async def test_a_phone_has_one_prompt_waiting_at_a_time(
    booth_with: Any, tiny_settings: Settings
) -> None:
    b = await booth_with(tiny_settings, start=False)
    phone, other = await b.phone(), await b.phone()
    assert (await phone.prompt("a duck", nickname="eve"))[0] == 202
    status, body = await phone.prompt("a swan", nickname="ann")  # another name: same phone
    assert (status, body["kind"]) == (429, "queue") and "on its way" in body["reason"]
    assert (await other.prompt("a swan", nickname="ann"))[0] == 202


async def test_too_fast_is_refused_with_when_to_try_again(
    booth_with: Any, tiny_settings: Settings
) -> None:
    settings = limits(tiny_settings, rate_burst=2, rate_per_minute=1.0, queued_per_device=5)
    b = await booth_with(settings, start=False)
    phone = await b.phone()
    for prompt in ("a duck", "a swan"):
        assert (await phone.prompt(prompt, nickname="eve"))[0] == 202
    status, body = await phone.prompt("a goose", nickname="eve")
    assert (status, body["kind"]) == (429, "rate") and body["retry_in_s"] > 0


async def test_a_burst_asks_a_human_check_whose_pictures_the_phone_gets(
    booth_with: Any, tiny_settings: Settings
) -> None:
    settings = limits(
        tiny_settings, burst_prompts=2, burst_window_s=60.0, check_failures=2, queued_per_device=5
    )
    b = await booth_with(settings, start=False)
    phone = await b.phone()
    assert (await phone.prompt("a duck", nickname="eve"))[0] == 202
    for prompt in ("a swan", "a goose", "a heron"):
        status, body = await phone.prompt(prompt)
        if status != 202:
            break
    assert (status, body["kind"]) == (428, "check"), body
    challenge = body["challenge"]
    assert len(challenge["choices"]) >= 3 and challenge["question"]
    async with phone.session.get(phone.base + challenge["choices"][0]) as r:
        assert r.status == 200 and r.content_type.startswith("image/")
    other = await b.phone()  # another device has no check to see
    async with other.session.get(other.base + challenge["choices"][0]) as r:
        assert r.status == 404
    for _ in range(2):  # wrong twice (each time the prompt is sent again, as the page does)
        c = next(iter(b.server.hub.challenges.values()))  # the check asked last
        right = next(ch.number for ch in c.choices if ch.title == c.subject)
        wrong = str(right % len(c.choices) + 1)
        answer = {"challenge": body["challenge"]["id"], "answer": wrong}
        assert await phone.post("/api/check", answer) == (200, {"passed": False})
        status, body = await phone.prompt("a swan")
    assert (status, body["kind"]) == (429, "paused"), body


async def test_a_waiting_phone_hears_its_place_move_up_and_never_after_it_starts(
    booth_with: Any, tiny_settings: Settings
) -> None:
    one_at_a_time = tiny_settings.generator.model_copy(update={"batch": 1})
    b = await booth_with(tiny_settings.model_copy(update={"generator": one_at_a_time}), start=False)
    first, second = await b.phone(), await b.phone()
    listening = asyncio.create_task(second.events(until="done"))
    await asyncio.sleep(0.3)
    assert (await first.prompt("a duck on a pond", nickname="ann"))[0] == 202
    status, queued = await second.prompt("a swan on a lake", nickname="bea")
    assert (status, queued["position"]) == (202, 2)
    await asyncio.to_thread(b.engine.start)
    seen = [e for e in await listening if e.get("job") == queued["job"]]
    names = [e["event"] for e in seen]
    assert [e["position"] for e in seen if e["event"] == "queued"][-1] == 1  # moved up
    assert "queued" not in names[names.index("started") :], names


async def test_the_right_picture_tapped_on_the_phone_passes_its_check(
    booth_with: Any, tiny_settings: Settings
) -> None:
    settings = limits(tiny_settings, burst_prompts=2, burst_window_s=60.0, queued_per_device=5)
    b = await booth_with(settings, start=False)
    phone = await b.phone()
    for prompt in ("a duck", "a swan", "a goose", "a heron"):
        status, body = await phone.prompt(prompt, nickname="eve")
        if status != 202:
            break
    assert (status, body["kind"]) == (428, "check"), body
    assert len(body["challenge"]["choices"]) >= 6  # a blind tap passes one time in six
    c = next(iter(b.server.hub.challenges.values()))
    right = next(ch.number for ch in c.choices if ch.title == c.subject)
    answer = {"challenge": body["challenge"]["id"], "answer": str(right)}
    assert await phone.post("/api/check", answer) == (200, {"passed": True})
    assert (await phone.prompt(prompt, nickname="eve"))[0] == 202


async def test_a_claimed_nickname_needs_its_code_on_another_device(
    booth_with: Any, tiny_settings: Settings
) -> None:
    b = await booth_with(limits(with_codes(tiny_settings), queued_per_device=5), start=False)
    mina, thief = await b.phone(), await b.phone()
    status, first = await mina.prompt("a duck", nickname="mina")
    assert status == 202 and first["player_code"].isdigit() and first["code_note"]
    status, again = await mina.prompt("a swan")  # the device stays signed in: no code asked
    assert status == 202 and "player_code" not in again
    status, body = await thief.prompt("a goose", nickname="Mina")
    assert (status, body["kind"]) == (403, "code") and "Mina is taken" in body["reason"]
    status, body = await thief.prompt("a goose", nickname="mina", code=first["player_code"])
    assert status == 202


async def test_too_many_waiting_and_a_hidden_prompt_are_refused(
    booth_with: Any, tiny_settings: Settings
) -> None:
    from engine_fixtures import drawn

    b = await booth_with(limits(tiny_settings, queued_per_player=1), start=False)
    sid = drawn(b.engine, "ana", "a red duck", 0.3)
    b.engine.staff(StaffCommand(action="hide-submission", subject=str(sid)))
    phone = await b.phone()
    status, body = await phone.prompt("a red duck", nickname="eve")
    assert (status, body["kind"]) == (422, "hidden"), body
    assert (await phone.prompt("a blue duck", nickname="eve"))[0] == 202
    status, body = await phone.prompt("a green duck", nickname="eve")
    assert (status, body["kind"]) == (429, "queue"), body


async def test_a_phone_never_sees_a_hidden_or_held_drawing_unblurred(
    booth_with: Any, tiny_settings: Settings
) -> None:
    from builders import commit
    from PIL import Image

    from kiosk.storage.images import blurred_relpath

    b = await booth_with(tiny_settings, start=False)
    mina, other = await b.phone(), await b.phone()
    assert (await mina.prompt("a lake", nickname="mina"))[0] == 202  # mina's seat
    shown = commit(b.engine.store, "mina", "a duck in the sun", 0.4, target=b.engine.target_id)
    held = held_drawing(b.engine, "mina", "a naughty duck", 0.5)
    data = b.engine.data_dir
    for sid in (shown, held):
        (image,) = [r.image for r in b.engine.recent(10) if r.id == sid]
        for rel, colour in ((image, "red"), (blurred_relpath(image), "gray")):
            (data / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (8, 8), colour).save(data / rel, format="WEBP")
    blurred = data / blurred_relpath(next(r.image for r in b.engine.recent(10) if r.id == held))
    async with mina.session.get(f"{mina.base}/img/{held}") as r:
        assert r.status == 200 and await r.read() == blurred.read_bytes()  # blurred only
    _, board = await other.get("/api/board")
    assert [row["image"] for row in board["board"]] == [f"/img/{shown}"]  # held never ranks
    async with other.session.get(f"{other.base}/img/{held}") as r:
        assert r.status == 404  # not theirs, not on the board
    b.engine.staff(StaffCommand(action="hide-submission", subject=str(shown)))
    for phone in (mina, other):
        async with phone.session.get(f"{phone.base}/img/{shown}") as r:
            assert r.status == 404
    assert await other.get("/api/board") == (200, {"board": []})


async def test_streams_and_requests_per_device_are_capped(
    booth_with: Any, tiny_settings: Settings
) -> None:
    caps = Caps(streams_per_device=1, streams_total=2)
    b = await booth_with(tiny_settings, start=False, caps=caps)
    one, two, three = await b.phone(), await b.phone(), await b.phone()
    first = await one.session.get(f"{one.base}/api/events")
    assert first.status == 200
    status, body = await one.get("/api/events")
    assert (status, body["kind"]) == (429, "busy")  # a second stream of the same device
    second = await two.session.get(f"{two.base}/api/events")
    assert second.status == 200
    status, body = await three.get("/api/events")
    assert (status, body["kind"]) == (429, "busy")  # streams in all
    first.close()
    second.close()


async def test_a_slow_body_is_cut_off(booth_with: Any, tiny_settings: Settings) -> None:
    b = await booth_with(tiny_settings, start=False, caps=Caps(body_timeout_s=0.5))
    phone = await b.phone()
    cookie = next(c for c in phone.session.cookie_jar if c.key == DEVICE_COOKIE)
    reader, writer = await asyncio.open_connection("127.0.0.1", b.server.port)
    writer.write(
        b"POST /api/prompt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Origin: http://127.0.0.1:{b.server.port}\r\n".encode()
        + f"Cookie: {DEVICE_COOKIE}={cookie.value}\r\n".encode()
        + b'Content-Length: 200\r\n\r\n{"prompt"'
    )
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 10)
    assert b" 408 " in status
    writer.close()


def held_drawing(engine: Engine, nickname: str, prompt: str, cosine: float) -> int:
    """A drawing the safety probes held, committed as the worker commits one."""
    from builders import accept, scored

    from kiosk.core.api import Review
    from kiosk.storage.images import image_relpath

    job = accept(engine.store, nickname, prompt, target=engine.target_id)
    held = scored(cosine, image=image_relpath(job.dedup_key), flags="unsafe", review=Review.HELD)
    sub, *_ = engine.store.jobs.complete(job, held)
    return sub.id


async def test_a_connection_that_dribbles_its_headers_is_closed(
    booth_with: Any, tiny_settings: Settings
) -> None:
    b = await booth_with(tiny_settings, start=False, caps=Caps(keepalive_s=1.0))
    reader, writer = await asyncio.open_connection("127.0.0.1", b.server.port)
    writer.write(b"GET /api/board HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 10) == b""  # closed, nothing answered
    writer.close()


async def test_connections_in_all_are_capped(booth_with: Any, tiny_settings: Settings) -> None:
    b = await booth_with(tiny_settings, start=False, caps=Caps(connections_total=2))
    phones = [await b.phone(join=False) for _ in range(4)]
    held = [await p.session.get(f"{p.base}/") for p in phones[:3]]  # three kept alive
    status, body = await phones[3].get("/api/board")
    assert (status, body.get("kind")) == (503, "busy")
    for r in held:
        r.close()


async def test_one_address_cannot_mint_devices_but_a_phone_may_join_again(
    booth_with: Any, tiny_settings: Settings
) -> None:
    b = await booth_with(tiny_settings, start=False, caps=Caps(joins_per_address=2))
    first = await b.phone()
    assert await first.join() == 303  # the same device again: not a new one
    assert await (await b.phone(join=False)).join() == 303
    assert await (await b.phone(join=False)).join() == 429  # a third device from 127.0.0.1


async def test_a_device_that_plays_as_nobody_must_say_its_nickname(booth: Booth) -> None:
    phone = await booth.phone()
    status, body = await phone.prompt("a duck")
    assert (status, body["kind"], body["reason"]) == (422, "policy", "Please type a nickname.")
    status, body = await phone.post("/api/prompt", {"nickname": "eve", "prompt": 5})
    assert (status, body["kind"]) == (422, "policy")
    status, body = await phone.post("/api/prompt", [1, 2])
    assert (status, body["kind"]) == (400, "body")


async def test_the_phone_speaks_the_browsers_language_or_the_one_chosen(booth: Booth) -> None:
    phone = await booth.phone()
    headers = {"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"}
    async with phone.session.get(f"{phone.base}/play", headers=headers) as r:
        page = await r.text()
    assert '<html lang="ko">' in page and "그려 줘" in page
    async with phone.session.post(
        f"{phone.base}/api/prompt",
        json={"nickname": "eve", "prompt": "fuck"},
        headers={**headers, "Origin": phone.base},
    ) as r:
        body = await r.json()
    assert body["kind"] == "words" and "Let's" not in body["reason"]  # in Korean
    async with phone.session.get(f"{phone.base}/play?lang=en", headers=headers) as r:
        assert '<html lang="en">' in await r.text()  # chosen: kept in a cookie
    async with phone.session.get(f"{phone.base}/play", headers=headers) as r:
        assert '<html lang="en">' in await r.text()


async def test_no_staff_action_raffle_or_export_is_reachable(booth: Booth) -> None:
    paths = {str(resource.canonical) for resource in booth.server.app().router.resources()}
    assert not [p for p in paths if any(w in p for w in ("staff", "raffle", "export", "audit"))]
    phone = await booth.phone()
    for path in ("/api/staff", "/api/raffle", "/staff", "/api/export"):
        assert (await phone.post(path, {"action": "ban", "subject": "eve"}))[0] == 404


async def test_kiosk_serve_says_the_join_url_at_start_and_at_each_rotation(
    engine_factory: MakeEngine, tiny_settings: Settings
) -> None:
    from kiosk.web.headless import serve_phones

    phones = tiny_settings.phones.model_copy(update={"join_window_s": 5.0})
    settings = tiny_settings.model_copy(update={"phones": phones})
    engine, _ = engine_factory(start=False, settings=settings)
    lines: list[str] = []
    stop = asyncio.Event()

    def say(line: str) -> None:
        lines.append(line)
        if len(lines) == 3:
            stop.set()

    code = await asyncio.wait_for(
        serve_phones(engine, settings, stop=stop, say=say, host="127.0.0.1", port=0), 30
    )
    assert code == 0
    urls = [w for line in lines for w in line.split() if w.startswith("http://127.0.0.1:")]
    assert len(urls) == 3 and len(set(urls)) == 3, lines  # a new code every window
    assert lines[0].startswith("kiosk serve: phones join at")
