"""CLIP judge: how close is a drawing to the target picture."""

from scoring.judge import Judge, JudgeLoadError, cosine_to_percent

__all__ = ["Judge", "JudgeLoadError", "cosine_to_percent"]
