"""The search configuration: one dataclass shared by the CLI, the widgets and the notebooks.

Field names are the seed's command-line flag names (`--nodes`, `--emsize`, `--keep_fraction`, ...),
so one name means one concept everywhere; each field describes its setting once (`setting`): its
default, its help (the command line's --help, the panel's tooltips), its group and its marks, from
which the command line's flags, the panel's groups, the resume rule and the runs list's columns
are derived (`settings(...)`). `SearchConfig.check()` turns bad values into a
`ConfigError` whose message is one line naming the problem and the fix.
"""
from __future__ import annotations

import dataclasses
from dataclasses import InitVar, dataclass, field
from typing import Optional

from .cell import OPS
from .errors import ConfigError  # noqa: F401  (also importable from here, as before)

BACKENDS = ("local", "ray")   # where candidates train (backend.py)
PRECISIONS = ("auto", "fp32", "bf16", "bf16-decoder")   # arithmetic of proxy training (precision.py)
FUSES = ("auto", "on", "off")            # fused kernels of proxy training (fused.py, fused_cell.py)
GRAPHS = ("auto", "on", "off")           # CUDA graphs over proxy training steps (graphs.py)
SEED_RULES = ("step", "candidate")       # where a candidate's weight seed comes from (search.candidate_seed)



# A setting's group: the part of a search it belongs to (the panel shows them under these headings).
GROUPS = {
    "space": "the search space: a branch keeps its parent's",
    "search": "the shrink loop, its score and its seeds",
    "training": "the proxy training of one cell",
    "files": "where data is read and results are written",
    "machine": "where and how the arithmetic runs here",
    "backend": "where trainings run: here or as Ray tasks",
}
KINDS = ("resumable", "search_only", "listed", "retrain")   # yes/no marks of a setting, besides its group


def setting(default, help: str, group: str | None = None, *, resumable: bool = False, search_only: bool = False,
            listed: bool = False, retrain: bool = False):
    """A setting described once: its default, its help (the flag's help and the panel's tooltip),
    its `group` (GROUPS; every SearchConfig setting has one) and its marks: `resumable`, a resumed
    search may change it (it decides where and how candidates train, not their numbers);
    `search_only`, it means nothing to one cell's training (`proxy` refuses it); `listed`, a column
    of the runs list; `retrain`, a quality report may retrain the search's cells with another value."""
    return field(default=default, metadata={"help": help, "group": group, "resumable": resumable,
                                            "search_only": search_only, "listed": listed, "retrain": retrain})


def help_texts(cls=None) -> dict[str, str]:
    """Each setting's help (SearchConfig's, or another dataclass of settings), the seed flags included."""
    return {name: f.metadata.get("help", "") for name, f in (cls or SearchConfig).__dataclass_fields__.items()}


# Settings whose change moves every score: a branch's steps copied from a parent that differed in
# one of these were trained otherwise, and its best is chosen among its own steps (record.best_step).
TRAINED_ALIKE = ("emsize", "epochs", "lr", "clip", "batch_size", "bptt", "precision", "target_ppl", "ppl_weight",
                 "cost_weight")


def settings(*groups: str, seed_flags: bool = False, **kinds: bool) -> tuple[str, ...]:
    """The names of SearchConfig's settings in `groups`, group after group (every setting when no
    group is given), that have each mark of `kinds` (e.g. resumable=True), in the dataclass's order;
    with `seed_flags`, the seed's flags nhid and nhidlast too (no fields: they follow --emsize)."""
    unknown = sorted(set(groups) - set(GROUPS)) + sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown group or mark {unknown}; groups are {list(GROUPS)}, marks {list(KINDS)}")
    every = SearchConfig.__dataclass_fields__.values() if seed_flags else dataclasses.fields(SearchConfig)
    chosen = [f for f in every if all(f.metadata[k] == v for k, v in kinds.items())]
    if not groups:
        return tuple(f.name for f in chosen)
    return tuple(f.name for g in groups for f in chosen if f.metadata["group"] == g)


def known_settings(cls, d: dict, what: str, also=()) -> dict:
    """`d` if every key is a field of the settings class `cls` (or in `also`); else a one-line
    ConfigError naming the unknown ones and the known."""
    names = {f.name for f in dataclasses.fields(cls)} | set(also)
    unknown = sorted(set(d) - names)
    if unknown:
        raise ConfigError(f"unknown {what}(s) {unknown}; known settings are {sorted(names)}")
    return d


@dataclass
class SearchConfig:
    # --- search space
    nodes: int = setting(6, "N, nodes of the ShrinkCell (the published search uses 6)", "space", listed=True)
    # --- data
    data: str = setting("data/penn_proxy", "folder with train.txt, valid.txt, test.txt (the PTB proxy)",
        "files", resumable=True, retrain=True)
    emb_path: Optional[str] = setting(None, "pretrained word vectors: pickled dict word -> vector, or GloVe text",
        "files")
    # --- model sizes (the decoder is tied to the embedding, so the hidden size is emsize)
    emsize: int = setting(100, "word embedding size E, also the cell's hidden size H (nhid)",
        "training", listed=True, retrain=True)
    nhid: InitVar[Optional[int]] = setting(None,
        "seed flag, hidden size: it follows --emsize; another value is refused",
        "training", retrain=True)
    nhidlast: InitVar[Optional[int]] = setting(None,
        "seed flag, last layer size: it follows --emsize; another value is refused",
        "training")
    # --- proxy training of each candidate
    lr: float = setting(20.0, "initial SGD learning rate", "training", retrain=True)
    clip: float = setting(0.25, "gradient-norm clip, per candidate", "training", retrain=True)
    epochs: int = setting(10, "proxy training epochs per candidate", "training", listed=True, retrain=True)
    batch_size: int = setting(128, "training batch (columns of the token stream)", "training", retrain=True)
    eval_batch_size: int = setting(256, "validation batch", "training", retrain=True)
    bptt: int = setting(35, "training sequence length (17 with probability 0.05)", "training", retrain=True)
    # --- the shrink loop
    keep_fraction: float = setting(0.25, "stop once edges <= round(full edges * keep_fraction)",
        "search", search_only=True)
    max_steps_to_action: int = setting(10, "candidates (edges tried) per shrink step", "search", search_only=True)
    drop_k: int = setting(1, "edges removed for good per shrink step", "search", search_only=True)
    halving: int = setting(0,
        "successive halving: after this many epochs the worse half of a step's candidates stops (0: off)",
        "search", search_only=True)
    retest: int = setting(0,
        "extra seeds for a close step's leaders (0: off): the step then decides on their mean score",
        "search", search_only=True)
    retest_margin: float = setting(1.0,
        "score points: candidates this close to the step's best are its leaders (at most 3)",
        "search", search_only=True)
    ops: Optional[str] = setting(None,
        "node ops, N comma-separated names (e.g. tanh,identity,sigmoid,...); None draws them from --seed",
        "space", search_only=True)
    # --- the score: (target_ppl - ppl) * ppl_weight - cost_weight * (log10(flops) - 6)
    target_ppl: float = setting(200.0, "perplexity at which the score's accuracy term is zero", "search")
    ppl_weight: float = setting(0.25, "score points per unit of perplexity below target_ppl", "search")
    cost_weight: float = setting(1.0, "score points lost per tenfold flops above 10^6", "search")
    # --- running
    seed: int = setting(1, "run seed: ops, edge order and every candidate's weights follow from it",
        "search", listed=True)
    seed_rule: str = setting("step",
        '"step": a step\'s candidates share one weight seed (paired: they differ only in the removed edge); '
        '"candidate": one seed per candidate',
        "search", search_only=True, listed=True)
    device: str = setting("auto", '"auto" (CUDA when present, else CPU), "cpu", "cuda", "cuda:1", ...',
        "machine", resumable=True, retrain=True)
    parallel: int = setting(0,
        "candidates trained together in one batched model; 0 = auto (the whole step on a GPU, 2 on a CPU)",
        "machine", resumable=True, search_only=True)
    save: str = setting("search-run", "folder for search.json, graph pickles, curves and log.txt",
        "files", resumable=True, search_only=True)
    precision: str = setting("auto",
        '"auto" (bf16 on a bf16-fast device from nhid 64, else fp32: docs/results/rank-study.md), "fp32",'
        ' "bf16" (fp32 master weights) or "bf16-decoder"',
        "machine", listed=True, retrain=True)
    fuse: str = setting("auto", 'fused kernels (chunked decoder + cross-entropy): "auto", "on" or "off"',
        "machine", resumable=True, retrain=True)
    graphs: str = setting("auto",
        'CUDA graphs over each training step: "on" (CUDA only), "off", "auto" (off until measured on a GPU)',
        "machine", resumable=True)
    backend: str = setting("local", 'where candidates train: "local" (here) or "ray" (Ray tasks, here or on a cluster)',
        "backend", resumable=True)
    ray_address: Optional[str] = setting(None,
        'for --backend ray: none starts Ray here, "auto" joins the running one, or HOST:PORT',
        "backend", resumable=True)
    gpus_per_task: float = setting(0.0, "GPUs each Ray task asks for (0.5: two tasks share one); 0 trains on CPU",
        "backend", resumable=True)

    def __post_init__(self, nhid, nhidlast) -> None:
        self._seed_sizes = {"nhid": nhid, "nhidlast": nhidlast}   # checked by check(), never stored

    @property
    def full_edges(self) -> int:
        return self.nodes * (self.nodes - 1) // 2

    @property
    def threshold(self) -> int:
        return round(self.full_edges * self.keep_fraction)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "SearchConfig":
        """Settings from a dict (e.g. a search.json "config"; older ones also hold nhid and nhidlast)."""
        return cls(**known_settings(cls, d, "setting", also=("nhid", "nhidlast")))

    @classmethod
    def preset(cls, name: str, **changes) -> "SearchConfig":
        """The settings of preset `name` with `changes` (as FinalConfig.preset); ConfigError naming the
        presets otherwise."""
        return cls(**{**preset(name), **changes})

    def replace(self, **changes) -> "SearchConfig":
        """A copy with `changes`; nhid and nhidlast follow a new emsize."""
        return SearchConfig(**{**self.to_dict(), **changes})

    def check(self) -> "SearchConfig":
        """Raise ConfigError (one line, naming the fix) for the first unusable value; return self."""
        for problem in _problems(self):
            raise ConfigError(problem)
        return self


# The cell's hidden size is the embedding size (the decoder is tied to the embedding).
SearchConfig.nhid = property(lambda self: self.emsize, doc="hidden size H of the cell: emsize")
SearchConfig.nhidlast = property(lambda self: self.emsize, doc="size of the last layer: emsize")


def _problems(c: SearchConfig):
    ints = ("nodes", "emsize", "epochs", "batch_size", "eval_batch_size",
            "bptt", "max_steps_to_action", "drop_k", "seed", "parallel", "retest", "halving")
    for name in ints:
        v = getattr(c, name)
        if isinstance(v, bool) or not isinstance(v, int):
            yield f"--{name} must be a whole number, got {v!r}"
    if c.nodes < 2:
        yield f"--nodes must be at least 2 (a cell needs an edge), got {c.nodes}"
    for name in ("emsize", "epochs", "batch_size", "eval_batch_size", "bptt"):
        if getattr(c, name) < 1:
            yield f"--{name} must be at least 1, got {getattr(c, name)}"
    for name, v in getattr(c, "_seed_sizes", {}).items():
        if v is not None and v != c.emsize:
            yield (f"--{name} ({v}) must equal --emsize ({c.emsize}): the decoder is tied to the embedding, "
                   f"so the hidden size follows --emsize; drop --{name}")
    if not 0 < c.keep_fraction <= 1:
        yield f"--keep_fraction must be in (0, 1], got {c.keep_fraction}"
    if c.max_steps_to_action < 1:
        yield f"--max_steps_to_action must be at least 1, got {c.max_steps_to_action}"
    if c.drop_k < 1:
        yield f"--drop_k must be at least 1, got {c.drop_k}"
    if c.halving < 0 or (c.halving and c.halving >= c.epochs):
        yield f"--halving must be 0 (off) or fewer epochs than --epochs ({c.epochs}), got {c.halving}"
    if c.halving and c.backend != "local":
        yield "--halving needs --backend local (its paused trainings live in the save folder); drop --halving"
    if c.retest < 0 or not c.retest_margin >= 0:
        yield f"--retest and --retest_margin must be 0 or more, got {c.retest} and {c.retest_margin}"
    if c.parallel < 0:
        yield f"--parallel must be 0 (whole step) or a positive number, got {c.parallel}"
    if not c.lr > 0:
        yield f"--lr must be positive, got {c.lr}"
    if not c.clip > 0:
        yield f"--clip must be positive, got {c.clip}"
    if c.ops is not None:
        yield from _ops_problems(c.ops, c.nodes)
    if c.backend not in BACKENDS:
        yield f"--backend must be one of {', '.join(BACKENDS)}, got {c.backend!r}"
    if c.ray_address is not None and not (isinstance(c.ray_address, str) and c.ray_address.strip()):
        yield f"--ray_address must be \"auto\" or HOST:PORT (or left out to start Ray here), got {c.ray_address!r}"
    if isinstance(c.gpus_per_task, bool) or not isinstance(c.gpus_per_task, (int, float)) or not c.gpus_per_task >= 0:
        yield f"--gpus_per_task must be a number of GPUs, 0 or more, got {c.gpus_per_task!r}"
    if c.precision not in PRECISIONS:
        yield f"--precision must be one of {', '.join(PRECISIONS)}, got {c.precision!r}"
    if c.fuse not in FUSES:
        yield f"--fuse must be auto, on or off, got {c.fuse!r}"
    if c.seed_rule not in SEED_RULES:
        yield f"--seed_rule must be step or candidate, got {c.seed_rule!r}"
    if c.graphs not in GRAPHS:
        yield f"--graphs must be auto, on or off, got {c.graphs!r}"


def _ops_problems(text: str, nodes: int):
    names = [o.strip() for o in str(text).split(",")]
    bad = [o for o in names if o not in OPS]
    if bad:
        yield f"--ops: unknown op {bad[0]!r}; give {nodes} comma-separated names from {', '.join(OPS)}"
    elif len(names) != nodes:
        yield f"--ops has {len(names)} names but --nodes is {nodes}; give one op per node ({nodes} names)"


# Named starting points, as plain settings (the CLI's --preset, the lab's presets); flags given override them.
PRESETS = {
    "tiny": dict(nodes=4, emsize=32, lr=20.0, clip=0.25, epochs=2, batch_size=64, eval_batch_size=256, bptt=35,
                 keep_fraction=0.25, max_steps_to_action=6, drop_k=1,
                 target_ppl=200.0, ppl_weight=0.25, cost_weight=1.0),   # a laptop demo: minutes on a CPU
    "published": dict(nodes=6, emsize=100, lr=20.0, clip=0.25, epochs=10, batch_size=128, eval_batch_size=256,
                      bptt=35, keep_fraction=0.25, max_steps_to_action=10, drop_k=1,
                      target_ppl=200.0, ppl_weight=0.25, cost_weight=1.0),   # the published search (add --emb_path)
}


def preset(name: str) -> dict:
    """The settings of preset `name` (a copy); ConfigError naming the presets otherwise."""
    if name not in PRESETS:
        raise ConfigError(f"--preset {name!r} is not a preset; use one of {', '.join(PRESETS)}")
    return dict(PRESETS[name])
