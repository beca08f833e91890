"""Zero-shot safety probes with the judge's own CLIP model (its text tower).

The unsafe, neutral and text concepts are embedded once, at load, in one encode_text
call (with an EmbeddingCache, only those not embedded on an earlier start). Each
drawing's image embedding (the one the score already made) is then compared
with every concept in one matrix product: a drawing is flagged when it is closer to its
nearest unsafe concept than to its nearest neutral one by more than `margin`, and shows
written text when its nearest text concept beats the nearest neutral one by more than
`text_margin`. With random weights (the tiny models) the verdicts mean nothing; the
margins (-2 flags everything, 2 nothing) still drive the code path in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from scoring.cache import EmbeddingCache

Tokenizer = Callable[[list[str]], "torch.Tensor"]


@dataclass(frozen=True, kw_only=True)
class ProbeResult:
    """What the probes saw in one drawing: flags, plus margins for the staff screen."""

    unsafe: str | None
    """The unsafe concept that flagged the drawing; None when it was not flagged."""
    text: bool
    """Written text beat every neutral concept by more than the text margin."""
    nearest_unsafe: str
    """The closest unsafe concept, flagged or not (empty when there are none)."""
    unsafe_margin: float
    """Cosine of the nearest unsafe concept minus that of the nearest neutral one
    (-inf when there are no unsafe concepts)."""
    text_margin: float
    """Cosine of the nearest text concept minus that of the nearest neutral one
    (-inf when there are no text concepts)."""
    unsafe_cosine: float
    """Cosine with the nearest unsafe concept (-inf when there are none)."""
    neutral_cosine: float
    """Cosine with the nearest neutral concept."""
    text_cosine: float
    """Cosine with the nearest text concept (-inf when there are none)."""

    @property
    def flagged(self) -> bool:
        """Held for staff review: an unsafe concept won."""
        return self.unsafe is not None

    @property
    def flags(self) -> str:
        """One line for storage: 'unsafe:a naked person(+0.031); text(+0.012)', or ''."""
        parts = []
        if self.unsafe is not None:
            parts.append(f"unsafe:{self.unsafe}({self.unsafe_margin:+.3f})")
        if self.text:
            parts.append(f"text({self.text_margin:+.3f})")
        return "; ".join(parts)


class Probes:
    """Concept embeddings made once; `check` compares a batch of drawings with all of them."""

    def __init__(
        self,
        model: Any,
        tokenizer: Tokenizer,
        *,
        unsafe: Sequence[str],
        neutral: Sequence[str],
        text_concepts: Sequence[str],
        margin: float,
        text_margin: float,
        device: str | torch.device = "cpu",
        cache: EmbeddingCache | None = None,
    ) -> None:
        import torch

        if not neutral and (unsafe or text_concepts):
            raise ValueError("[safety] neutral is empty: the probes need one neutral concept")
        self.unsafe = list(unsafe)
        self.neutral = list(neutral)
        self.text_concepts = list(text_concepts)
        self.margin = float(margin)
        self.text_margin = float(text_margin)
        concepts = self.unsafe + self.neutral + self.text_concepts
        if not concepts:  # nothing to probe for: every drawing passes
            self.embeddings = torch.empty(0, 0, device=device)
            return
        # rows: unsafe, then neutral, then text; L2-normalised like the image embeddings
        self.embeddings = embed_texts(model, tokenizer, concepts, device, cache)

    def check(self, image_embeddings: torch.Tensor) -> list[ProbeResult]:
        """One result per row of L2-normalised image embeddings [N, D], one matrix product."""
        import torch

        n = image_embeddings.shape[0]
        if self.embeddings.numel() == 0:
            return [_clean() for _ in range(n)]
        emb = image_embeddings.to(self.embeddings.device, torch.float32)
        sims = emb @ self.embeddings.T  # [N, unsafe + neutral + text] cosines
        u, k = len(self.unsafe), len(self.neutral)
        best_unsafe, which = _best(sims[:, :u])
        best_neutral, _ = _best(sims[:, u : u + k])
        best_text, _ = _best(sims[:, u + k :])
        # one transfer to the host for the whole batch
        rows = torch.stack([best_unsafe, best_neutral, best_text, which.float()], dim=1)
        return [self._result(*row) for row in rows.tolist()]

    def _result(self, unsafe: float, neutral: float, text: float, idx: float) -> ProbeResult:
        nearest = self.unsafe[int(idx)] if self.unsafe else ""
        unsafe_margin, text_margin = unsafe - neutral, text - neutral
        return ProbeResult(
            unsafe=nearest if self.unsafe and unsafe_margin > self.margin else None,
            text=bool(self.text_concepts) and text_margin > self.text_margin,
            nearest_unsafe=nearest,
            unsafe_margin=unsafe_margin,
            text_margin=text_margin,
            unsafe_cosine=unsafe,
            neutral_cosine=neutral,
            text_cosine=text,
        )


def embed_texts(
    model: Any,
    tokenizer: Tokenizer,
    texts: Sequence[str],
    device: str | torch.device,
    cache: EmbeddingCache | None,
) -> torch.Tensor:
    """L2-normalised text embeddings [len(texts), D] on `device`: cached ones are read, the
    rest encoded in one encode_text call and cached."""
    import torch

    from scoring.cache import text_key

    found: dict[str, torch.Tensor] = {}
    if cache is not None:
        for text in texts:
            row = cache.get(text_key(text))
            if row is not None:
                found[text] = row
    missing = [text for text in dict.fromkeys(texts) if text not in found]
    if missing:
        with torch.inference_mode():
            feats = model.encode_text(tokenizer(missing).to(device))
        rows = torch.nn.functional.normalize(feats.float(), dim=-1)
        for text, row in zip(missing, rows, strict=True):
            found[text] = row
            if cache is not None:
                cache.put(text_key(text), row)
    return torch.stack([found[text].to(device) for text in texts])


def _best(sims: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Best cosine and its column per row; -inf (column 0) for an empty group."""
    import torch

    if sims.shape[1] == 0:
        rows = sims.shape[0]
        return (
            torch.full((rows,), float("-inf"), device=sims.device),
            torch.zeros(rows, dtype=torch.long, device=sims.device),
        )
    best = sims.max(dim=1)
    return best.values, best.indices


def _clean() -> ProbeResult:
    """The result when there is nothing to probe for."""
    inf = float("-inf")
    return ProbeResult(
        unsafe=None,
        text=False,
        nearest_unsafe="",
        unsafe_margin=inf,
        text_margin=inf,
        unsafe_cosine=inf,
        neutral_cosine=inf,
        text_cosine=inf,
    )


__all__ = ["ProbeResult", "Probes"]
