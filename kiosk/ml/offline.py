"""Whether the Hugging Face Hub is off: one answer for the whole kiosk, by the Hub's rules.

huggingface_hub reads HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) once, when it is
imported, and takes "1", "ON", "YES" or "TRUE" in any case as on; anything else,
"0" and "false" included, is off. The kiosk asks the same question the same way,
at the moment it matters, and sets both the variable and the library's constant
when it goes offline itself.
"""

from __future__ import annotations

import os
import sys

VARIABLE = "HF_HUB_OFFLINE"


def hub_offline() -> bool:
    """True when the Hub may not be reached (the environment says so, as the Hub reads it)."""
    from huggingface_hub import constants

    value = os.environ.get(VARIABLE) or os.environ.get("TRANSFORMERS_OFFLINE")
    return value is not None and value.upper() in constants.ENV_VARS_TRUE_VALUES


def go_offline() -> None:
    """Nothing touches the network from now on: the variable for libraries imported later,
    the constant for huggingface_hub if it was imported already."""
    os.environ[VARIABLE] = "1"
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        setattr(constants, "HF_HUB_OFFLINE", True)  # noqa: B010 - a module attribute
