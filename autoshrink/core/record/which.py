"""Which cell of a search a command means: "best", "final" or "step:N"."""
from __future__ import annotations

import re

from ..errors import ConfigError

WHICH = "best, final or step:N"


def parse_which(which) -> str | int:
    """"best", "final", or the step number N of "step:N" (also "step N", "stepN", or an int)."""
    if isinstance(which, int) and not isinstance(which, bool):
        return which
    text = str(which).strip().lower()
    if text in ("best", "final"):
        return text
    m = re.fullmatch(r"step[: ]?(\d+)", text)
    if not m:
        raise ConfigError(f"--which {which!r} is not a cell of a search; use {WHICH}")
    return int(m.group(1))


def which_name(which) -> str:
    """The file-name form: "best", "final", "step3"."""
    w = parse_which(which)
    return f"step{w}" if isinstance(w, int) else w
