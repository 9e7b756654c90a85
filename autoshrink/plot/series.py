"""What the pictures read from a search record (the `state` of search.json): per-step series,
the cell and the edge states at any step, a step's candidates ranked, and the best step.
"""
from __future__ import annotations

from ..core.cell import Cell
from ..core.record import decision_score, done_steps


def edge_key(e) -> tuple[int, int]:
    return int(e[0]), int(e[1])


def _num(v) -> float:
    return float("nan") if v is None else float(v)


def step_series(state: dict) -> dict[str, list]:
    """Per finished step: step, edges_left, best/mean score, best/mean ppl, mean flops (None -> nan)."""
    steps = done_steps(state) if state else []
    keys = ("edges_left", "best_score", "mean_score", "best_ppl", "mean_ppl", "mean_flops")
    series = {k: [_num(s.get(k)) for s in steps] for k in keys}
    series["step"] = [s.get("step", k) for k, s in enumerate(steps)]
    return series


def cell_at(state: dict, step_index=None) -> Cell:
    """The cell as it was after step `step_index` (before it, while the step is in progress);
    None means the initial cell. Negative indices count from the last step."""
    steps = state.get("steps", [])
    if step_index is None or not steps:
        return Cell.from_dict(state["initial"])
    k = range(len(steps))[step_index]
    if steps[k].get("done") and steps[k].get("cell"):
        return Cell.from_dict(steps[k]["cell"])
    return cell_at(state, k - 1) if k > 0 else Cell.from_dict(state["initial"])


def edge_states_at(state: dict, step_index=None) -> dict[tuple[int, int], dict]:
    """Edge states of the DAG at/after step `step_index` (None: the initial cell, no states).

    Edges removed or pruned in steps up to and including this one are "removed"/"pruned" with the
    step; the edges tried in this step are "tried" with their ppl, flops and score (an edge tried
    and then removed in this step keeps its numbers). Edges without an entry are simply live."""
    steps = state.get("steps", [])
    if step_index is None or not steps:
        return {}
    k = range(len(steps))[step_index]
    out = {}
    for c in steps[k].get("candidates", []):
        out[edge_key(c["edge"])] = dict(state="tried", score=c.get("score"), ppl=c.get("ppl"),
                                     flops=c.get("flops"), step=steps[k].get("step", k),
                                     **{key: c[key] for key in ("mean_score", "sd_score", "seeds") if key in c},
                                     **({"halved": c["epochs"]} if c.get("ended") == "halved" else {}))
    for s in steps[:k + 1]:
        for kind, key in (("removed", "removed"), ("pruned", "pruned")):
            for e in s.get(key) or []:
                rec = out.get(edge_key(e), dict(score=None, ppl=None, flops=None))
                out[edge_key(e)] = {**rec, "state": kind, "step": s.get("step", k)}
    return out


def candidates_table(step_record: dict) -> list[dict]:
    """Rows {edge, ppl, flops, score, seconds, diverged, halved, seeds, mean_score, sd_score} of one
    step, in the order the step decides by (record.decision_score): best first, halved and diverged last."""
    rows = []
    for c in sorted(step_record.get("candidates", []), key=decision_score, reverse=True):
        diverged = bool(c.get("diverged")) or c.get("score") is None
        rows.append(dict(edge=edge_key(c["edge"]), ppl=c.get("ppl"), flops=c.get("flops"),
                         score=c.get("score"), seconds=c.get("seconds"), diverged=diverged,
                         halved=c.get("ended") == "halved", epochs=c.get("epochs"), seeds=c.get("seeds", 1),
                         mean_score=c.get("mean_score"), sd_score=c.get("sd_score")))
    return rows


def best_step(state: dict | None) -> int | None:
    """The step whose chosen candidate scored highest (`state["best"]`), None before there is one."""
    best = (state or {}).get("best")
    return None if not best else int(best["step"])
