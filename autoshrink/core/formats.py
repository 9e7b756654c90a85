"""One format per quantity, for every panel, table, figure title and progress line:

    ppl(650.6094669056729) -> "650.61"      flops(5120) -> "5,120"       seconds(8.496) -> "8.5"
    score(-13.3512) -> "-13.35"             count(1967402) -> "1,967,402"     pvalue(0.00273) -> "0.003"
    recipe(cfg) -> "proxy, 2 epochs, emsize 32"   (the training behind a number; a budget is a number
                                                   of trainings, strategies/)

None (a diverged run, a value not known yet) is "—"; an infinite value is "inf".
"""
from __future__ import annotations

import math

MISSING = "—"
SIZE_MATCHED = "size-matched random search"   # the quality report's: random cells of the discovered cell's edge count


def _number(v, spec: str) -> str:
    if v is None:
        return MISSING
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if isinstance(v, float) and math.isnan(v):
        return MISSING
    return format(v, spec)


def _format(spec: str):
    return lambda v: _number(v, spec)


ppl = _format(".2f")            # perplexity
score = _format(".2f")          # score points
flops = _format(",.0f")
count = _format(",.0f")         # parameters, tokens and other whole numbers: thousands separated
pvalue = _format(".3f")
seconds = _format(".1f")

FORMATS = {"ppl": ppl, "val_ppl": ppl, "valid_ppl": ppl, "test_ppl": ppl, "score": score, "flops": flops,
           "params": count, "seconds": seconds}


def value(key: str, v) -> str:
    """`v` in the format of the quantity `key` names (a table column), else as it is."""
    if key in FORMATS:
        return FORMATS[key](v)
    return MISSING if v is None else str(v)


def recipe(cfg, where: str = "proxy") -> str:
    """The training a number comes from, e.g. "proxy, 2 epochs, emsize 32" (`cfg`: any settings
    object or dict with epochs and emsize)."""
    get = cfg.get if isinstance(cfg, dict) else lambda k: getattr(cfg, k, None)
    epochs = get("epochs")
    return f"{where}, {epochs} epoch{'s' * (epochs != 1)}, emsize {get('emsize')}"
