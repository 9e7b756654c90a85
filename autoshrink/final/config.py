"""The final training's settings: `FinalConfig` (one dataclass, commented defaults, the recipe of
docs/algorithm.md, "Final training") and its presets, kept apart from run.py so that reading
them (the command line's help, the panel) does not load torch.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..core.config import FUSES, PRECISIONS, known_settings, setting
from ..core.errors import ConfigError


@dataclass
class FinalConfig:
    # --- data and sizes
    data: str = setting("data/ptb", "folder with train.txt, valid.txt, test.txt (full PTB, or the proxy)")
    emsize: int = setting(745, "embedding size = hidden size (the decoder is tied to the embedding)")
    # --- optimisation
    lr: float = setting(20.0, "learning rate (SGD, then ASGD), scaled per step by length / bptt")
    clip: float = setting(0.25, "gradient-norm clip")
    epochs: int = setting(3000, "training epochs (upper bound)")
    batch_size: int = setting(64, "training batch (columns of the token stream)")
    eval_batch_size: int = setting(10, "validation batch")
    test_batch_size: int = setting(1, "test batch")
    bptt: int = setting(35, "mean training step length: N(bptt, 5) clipped to [5, bptt + 20]")
    nonmono: int = setting(5, "switch SGD -> ASGD once valid loss > best of all but the last nonmono epochs")
    # --- regularisation
    dropout: float = setting(0.75, "output dropout (cell output before the decoder)")
    dropouth: float = setting(0.25, "hidden dropout (recurrent state entering the cell's matrices)")
    dropoutx: float = setting(0.75, "cell input dropout (x_t entering the cell)")
    dropouti: float = setting(0.2, "embedding output dropout")
    dropoute: float = setting(0.1, "word-level embedding dropout (whole words)")
    wdecay: float = setting(8e-7, "weight decay")
    beta: float = setting(1e-3, "temporal activation regularisation: beta * mean (h_t - h_{t-1})^2")
    # --- running
    seed: int = setting(1, "seed of the weights, dropout masks and step lengths")
    device: str = setting("auto", '"auto" (CUDA when present, else CPU), "cpu", "cuda", "cuda:1", ...')
    precision: str = setting("auto", 'as in proxy training: "auto", "fp32", "bf16" or "bf16-decoder" (precision.py)')
    fuse: str = setting("auto", '"auto"/"on": decoder + cross-entropy in row chunks (fused.py); "off": full logits')

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FinalConfig":
        return cls(**known_settings(cls, d, "final-training setting"))

    @classmethod
    def preset(cls, name: str, **changes) -> "FinalConfig":
        name = RENAMED.get(name, name)
        if name not in FINAL_PRESETS:
            raise ConfigError(f"--preset {name!r} is not a preset; use one of {', '.join(FINAL_PRESETS)}")
        return dataclasses.replace(cls(**FINAL_PRESETS[name]), **changes)

    def replace(self, **changes) -> "FinalConfig":
        return dataclasses.replace(self, **changes)

    def check(self) -> "FinalConfig":
        for problem in _problems(self):
            raise ConfigError(problem)
        return self


FINAL_PRESETS = {
    # the published recipe: 745 units, up to 3,000 epochs; meant for a GPU
    "published": {},
    # the proxy on a 2-core CPU, 2 to 5 minutes a model: 200 units, 30 epochs, dropouts about halved
    "small": dict(data="data/penn_proxy", emsize=200, epochs=30, batch_size=32, eval_batch_size=10,
                  test_batch_size=1, dropout=0.4, dropouth=0.15, dropoutx=0.4, dropouti=0.1, dropoute=0.05),
    # tests: seconds (the search's "tiny" preset is a laptop demo of minutes: another thing)
    "test": dict(data="data/penn_proxy", emsize=8, epochs=3, batch_size=8, eval_batch_size=4, test_batch_size=2,
                 bptt=8, nonmono=1, dropout=0.3, dropouth=0.1, dropoutx=0.3, dropouti=0.1, dropoute=0.05),
}
RENAMED = {"paper": "published", "tiny": "test"}    # the presets' earlier names, still accepted


def _problems(c: FinalConfig):
    for name in ("emsize", "epochs", "batch_size", "eval_batch_size", "test_batch_size", "bptt", "nonmono", "seed"):
        v = getattr(c, name)
        if isinstance(v, bool) or not isinstance(v, int):
            yield f"--{name} must be a whole number, got {v!r}"
        elif v < (0 if name == "seed" else 1):
            yield f"--{name} must be at least {0 if name == 'seed' else 1}, got {v}"
    for name in ("dropout", "dropouth", "dropoutx", "dropouti", "dropoute"):
        if not 0 <= getattr(c, name) < 1:
            yield f"--{name} must be in [0, 1), got {getattr(c, name)}"
    for name in ("lr", "clip"):
        if not getattr(c, name) > 0:
            yield f"--{name} must be positive, got {getattr(c, name)}"
    for name in ("wdecay", "beta"):
        if not getattr(c, name) >= 0:
            yield f"--{name} must be 0 or more, got {getattr(c, name)}"
    for name, allowed in (("precision", PRECISIONS), ("fuse", FUSES)):
        if getattr(c, name) not in allowed:
            yield f"--{name} must be one of {', '.join(allowed)}, got {getattr(c, name)!r}"
