"""The node ops of a cell (cell.OPS) as torch functions, and their derivatives read from the op's
output f (relu: f > 0; sigmoid: f (1 - f); tanh: 1 - f^2; identity: 1)."""
import torch

OP_FN = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "identity": lambda g: g}
OP_GRAD = {"relu": lambda f: (f > 0).to(f.dtype), "sigmoid": lambda f: f * (1 - f),
           "tanh": lambda f: 1 - f * f, "identity": torch.ones_like}
