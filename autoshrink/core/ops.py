"""The node ops of a cell (cell.OPS) as torch functions, and their derivatives read from the op's
output f (relu: f > 0; sigmoid: f (1 - f); tanh: 1 - f^2; identity: 1). The functions are the
reference interpreter's own table (cell_module.OP_FN): one table that every interpreter reads."""
import torch

from .cell_module import OP_FN

__all__ = ["OP_FN", "OP_GRAD"]

OP_GRAD = {"relu": lambda f: (f > 0).to(f.dtype), "sigmoid": lambda f: f * (1 - f),
           "tanh": lambda f: 1 - f * f, "identity": torch.ones_like}
