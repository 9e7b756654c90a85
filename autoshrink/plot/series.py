"""What the pictures read from a search record (core/record.SearchRecord, typed): per-step series,
the cell and the edge states at any step, a step's candidates ranked, and the best step.
"""
from __future__ import annotations

from ..core.cell import Cell
from ..core.record import SearchRecord, Step


def edge_key(e) -> tuple[int, int]:
    return int(e[0]), int(e[1])


def _num(v) -> float:
    return float("nan") if v is None else float(v)


def step_series(record: SearchRecord | None) -> dict[str, list]:
    """Per finished step: step, edges_left, best/mean score, best/mean ppl, mean flops (None -> nan)."""
    steps = record.done_steps() if record else []
    keys = ("edges_left", "best_score", "mean_score", "best_ppl", "mean_ppl", "mean_flops")
    series = {k: [_num(getattr(s, k)) for s in steps] for k in keys}
    series["step"] = [s.step for s in steps]
    return series


def cell_at(record: SearchRecord, step_index=None) -> Cell:
    """The cell as it was after step `step_index` (before it, while the step is in progress);
    None means the initial cell. Negative indices count from the last step."""
    steps = record.steps
    if step_index is None or not steps:
        return Cell.from_dict(record.initial)
    k = range(len(steps))[step_index]
    if steps[k].done and steps[k].cell:
        return Cell.from_dict(steps[k].cell)
    return cell_at(record, k - 1) if k > 0 else Cell.from_dict(record.initial)


def _tried(c, step: int) -> dict:
    retest = {key: getattr(c, key) for key in ("mean_score", "sd_score", "seeds") if getattr(c, key) is not None}
    return dict(state="tried", score=c.score, ppl=c.ppl, flops=c.flops, step=step, **retest,
                **({"halved": c.epochs} if c.ended == "halved" else {}))


def edge_states_at(record: SearchRecord, step_index=None) -> dict[tuple[int, int], dict]:
    """Edge states of the DAG at/after step `step_index` (None: the initial cell, no states).

    Edges removed or pruned in steps up to and including this one are "removed"/"pruned" with the
    step; the edges tried in this step are "tried" with their ppl, flops and score (an edge tried
    and then removed in this step keeps its numbers). Edges without an entry are simply live."""
    steps = record.steps
    if step_index is None or not steps:
        return {}
    k = range(len(steps))[step_index]
    out = {edge_key(c.edge): _tried(c, steps[k].step) for c in steps[k].candidates}
    for s in steps[:k + 1]:
        for kind in ("removed", "pruned"):
            for e in getattr(s, kind) or []:
                rec = out.get(edge_key(e), dict(score=None, ppl=None, flops=None))
                out[edge_key(e)] = {**rec, "state": kind, "step": s.step}
    return out


def candidates_table(step: Step | None) -> list[dict]:
    """Rows {edge, ppl, flops, score, seconds, diverged, halved, seeds, mean_score, sd_score} of one
    step, in the order the step decides by (Candidate.decision_key): best first, halved and diverged last."""
    rows = []
    for c in sorted(step.candidates if step else [], key=lambda c: c.decision_key(), reverse=True):
        rows.append(dict(edge=edge_key(c.edge), ppl=c.ppl, flops=c.flops, score=c.score, seconds=c.seconds,
                         diverged=bool(c.diverged) or c.score is None, halved=c.ended == "halved",
                         epochs=c.epochs, seeds=c.seeds or 1, mean_score=c.mean_score, sd_score=c.sd_score))
    return rows


def best_step(record: SearchRecord | None) -> int | None:
    """The step whose chosen candidate scored highest (`record.best`), None before there is one."""
    return None if record is None or record.best is None else int(record.best.step)
