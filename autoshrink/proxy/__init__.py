"""Proxy training: K candidate cells trained briefly from scratch in one batched model.

model (BatchedRNNModel), fused and fused_cell (fast kernels), precision (which dtypes run where),
graphs (one training step, eager or as a CUDA graph), checkpoint (the training in flight), train
(train_cells: the loop, its events and its Result). Imports only the core layer.
"""
