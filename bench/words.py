"""The blocklist against its corpus: how many innocent texts pass, how many bad ones are refused.

    .venv/bin/python bench/words.py [--blocklist PATH] [--no-profanity] [--show]

Loads the list as the booth does (assets/blocklist.txt with better-profanity's words) and
matches every line of tests/data/words/innocent.txt (booth prompts and nicknames: birds,
ponds, art styles, colours, English and Korean names) and tests/data/words/bad.txt (the
issue's examples and their variants). Prints both rates, the texts on the wrong side,
the time `match` takes per text, and one SUMMARY line. tests/test_blocklist.py asserts
the outcome (every innocent text passes, every bad one is refused); this prints figures.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from kiosk.core.blocklist import Blocklist

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "data" / "words"
LONG_PROMPT = (
    "a watercolour painting of a white swan gliding across a misty lake at dawn, with reeds, "
    "lily pads and a small wooden bridge in the background, soft pastel colours, a family "
    "of ducklings following their mother, ripples on the water, golden light through the "
    "willow trees, in the style of a children's picture book, highly detailed, calm mood"
)


def corpus(name: str) -> list[str]:
    """The texts of a corpus file: one a line, `#` lines are comments."""
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def per_call_us(words: Blocklist, texts: list[str], rounds: int = 5) -> float:
    """Best of `rounds` runs over `texts`, in microseconds per `match`."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for text in texts:
            words.match(text)
        best = min(best, time.perf_counter() - start)
    return best / len(texts) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocklist", type=Path, default=REPO / "assets" / "blocklist.txt")
    parser.add_argument("--no-profanity", action="store_true", help="without better-profanity")
    parser.add_argument("--show", action="store_true", help="list every text and its match")
    args = parser.parse_args()

    start = time.perf_counter()
    words = Blocklist.load(args.blocklist, profanity=not args.no_profanity)
    load_ms = (time.perf_counter() - start) * 1e3
    innocent, bad = corpus("innocent.txt"), corpus("bad.txt")
    refused = {text: words.match(text) for text in innocent}
    missed = [text for text in bad if words.match(text) is None]
    wrongly = {text: hit for text, hit in refused.items() if hit is not None}
    if args.show:
        for text in [*innocent, *bad]:
            print(f"{words.match(text) or '-':>14}  {text}")
    for text, hit in wrongly.items():
        print(f"innocent but refused: {text!r} (matched {hit!r})")
    for text in missed:
        print(f"bad but passed: {text!r}")
    passed = len(innocent) - len(wrongly)
    caught = len(bad) - len(missed)
    print(f"innocent pass rate: {passed}/{len(innocent)} = {100 * passed / len(innocent):.2f} %")
    print(f"bad refusal rate:   {caught}/{len(bad)} = {100 * caught / len(bad):.2f} %")
    corpus_us = per_call_us(words, [*innocent, *bad])
    long_us = statistics.median(per_call_us(words, [LONG_PROMPT] * 200) for _ in range(3))
    print(f"entries {len(words)}, load {load_ms:.0f} ms")
    print(f"match: {corpus_us:.1f} us per corpus text, {long_us:.1f} us per 300-character prompt")
    print(
        f"SUMMARY words: innocent pass {100 * passed / len(innocent):.2f} %"
        f" ({passed}/{len(innocent)}), bad refused {100 * caught / len(bad):.2f} %"
        f" ({caught}/{len(bad)}), match {long_us:.0f} us per 300-character prompt"
    )


if __name__ == "__main__":
    main()
