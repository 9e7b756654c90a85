#!/usr/bin/env bash
# The GPU check (at most about 5 minutes on one GPU): the CUDA tests, the benchmark at K = 1 and
# K = 10 in both precisions, with and without CUDA graphs, and three published-size shrink Steps
# with their times, with and without CUDA graphs.
#   DATA=path/to/penn_proxy scripts/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DATA=${DATA:-${AUTOSHRINK_DATA:-data/penn_proxy}}
export AUTOSHRINK_DATA=$DATA
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print('GPU:', torch.cuda.get_device_name(0), '| torch', torch.__version__)" || exit 1
echo "== CUDA tests"
timeout 60 "$PY" -m pytest -q tests/test_fused.py tests/test_graphs.py -k cuda
echo "== benchmark (K=1 and K=10, fp32 fuse off against auto, auto with CUDA graphs)"
timeout 90 "$PY" scripts/benchmark.py --data "$DATA" --device cuda --epochs 1 --rounds 1
for graphs in off on; do
echo "== three published-size Steps (10 candidates, 10 epochs each, default precision and fuse, --graphs $graphs)"
timeout 70 "$PY" - "$DATA" "$graphs" <<'PYEOF'
import sys, tempfile, time
import torch
from autoshrink.core.config import SearchConfig
from autoshrink.proxy.precision import resolve_precision
from autoshrink.search import Search
cfg = SearchConfig(data=sys.argv[1], device="cuda", save=tempfile.mkdtemp(), graphs=sys.argv[2])
print("auto precision on this GPU:", resolve_precision("auto", torch.device("cuda"), cfg.nhid), flush=True)
search = Search(cfg)
for i in range(3):
    t = time.perf_counter()
    search.step()
    torch.cuda.synchronize()
    best = min((c["ppl"] for c in search.state["steps"][-1]["candidates"] if c["ppl"] is not None), default=float("nan"))
    print(f"step {i + 1}: {time.perf_counter() - t:.1f} s, {search.cell.n_edges} edges left, best ppl {best:.2f}", flush=True)
PYEOF
done
