"""The models: the diffusers generator, model loading with progress, Hub pull/check, tiny models."""
