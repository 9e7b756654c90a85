"""The command line: `python -m autoshrink COMMAND ...`, COMMAND one of search (AutoShrink, or another
strategy with --strategy), proxy, data, export, train, quality, runs, compare, space and strategies
(docs/guide/command-line.md).

`search` keeps the seed's flags (--nodes --data --emb_path --emsize --nhidlast --lr --clip
--epochs --batch_size ...); flags are made from SearchConfig, so one name means one setting, and
`--preset NAME` starts from config.PRESETS. A search's save folder stands for its best cell unless
`--which final|step:N` says otherwise. Bad input ends with one line on stderr and exit status 2,
never a traceback.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import typing

from .core import formats
from .core.config import PRESETS, SearchConfig, help_texts, preset, settings
from .core.errors import ConfigError
from .core.events import (
    CandidateDone,
    CandidateEpoch,
    CandidateStarted,
    EpochDone,
    FinalDone,
    FinalEpoch,
    FinalStarted,
    JobDone,
    PhaseSwitched,
    SearchFinished,
    StepDone,
    TrainingDone,
)
from .core.stats import perplexity

SEARCH_ONLY = settings(search_only=True)                    # proxy trains one cell: it refuses these
BACKEND_FLAGS = settings("backend")                         # train's: where it runs, not its numbers
QUALITY_FLAGS = settings(retrain=True, seed_flags=True)     # what a quality report may retrain with


def _add_config_flags(p: argparse.ArgumentParser, names=None, cls=SearchConfig, default: str | None = None) -> None:
    """One flag per setting of `cls` (those in `names`); its help shows `default` when given, else the field's."""
    helps = help_texts(cls)
    hints = typing.get_type_hints(cls)
    for f in cls.__dataclass_fields__.values():   # the fields (and SearchConfig's seed flags nhid, nhidlast)
        if names is not None and f.name not in names:
            continue
        kind = hints[f.name]
        kind = getattr(kind, "type", kind)                  # InitVar[T] -> T
        kind = next((a for a in typing.get_args(kind) if a is not type(None)), kind)
        names_ = [f"--{f.name}"] + (["--out"] if f.name == "save" else [])    # a folder written: --save or --out
        p.add_argument(*names_, type=kind, default=argparse.SUPPRESS,
                       help=f"{helps.get(f.name, '')} (default: {f.default if default is None else default})")
    if cls is SearchConfig and names is None:   # search and proxy; train has its own presets
        p.add_argument("--preset", choices=sorted(PRESETS), default=None,
                       help="start from these settings (flags given override them): " + ", ".join(PRESETS))


def _flags(args) -> dict:
    """The settings given as flags (not their defaults)."""
    names = set(SearchConfig.__dataclass_fields__)
    return {k: v for k, v in vars(args).items() if k in names}


def _config(args, base: dict | None = None) -> SearchConfig:
    """base settings (e.g. a saved search's), then --preset, then the flags given."""
    given = {**(base or {}), **(preset(args.preset) if getattr(args, "preset", None) else {}), **_flags(args)}
    return SearchConfig.from_dict(given).check()


def _epoch_line(e, edge=None) -> str:
    where = f"  edge {edge}" if edge else ""
    return (f"{where}  epoch {e.epoch + 1}/{e.epochs}  train loss {e.train_loss:.3f}  "
            f"valid ppl {formats.ppl(perplexity(e.val_loss))}")


def _printer(event, out=sys.stdout):
    """A search's events (and a proxy training's epochs) as progress lines."""
    say = lambda line: print(line, file=out, flush=True)
    match event:
        case CandidateStarted(step="final"):
            say("final cell")
        case CandidateStarted(step=step, edge=edge, position=position, count=count):
            say(f"step {step}: candidate {position + 1} of {count}, removing edge {edge}")
        case CandidateEpoch(edge=edge):
            say(_epoch_line(event, edge))
        case EpochDone():
            say(_epoch_line(event))
        case CandidateDone(edge=edge, record=r):
            say(f"  edge {edge}: ppl {formats.ppl(r['ppl'])}, flops {formats.flops(r['flops'])}, "
                f"score {formats.score(r['score'])}, {formats.seconds(r['seconds'])} s")
        case StepDone(record=r):
            say(f"step {r['step']} done: removed {r['removed']}, pruned {r['pruned']}, {r['edges_left']} edges left, "
                f"best score {formats.score(r['best_score'])}")
        case SearchFinished(record=r):
            say(f"final cell: ppl {formats.ppl(r['ppl'])}, flops {formats.flops(r['flops'])}, "
                f"mask {r['cell']['mask']}, ops {r['cell']['ops']}")


def cmd_search(args) -> int:
    from .plot import save_curves
    from .search import Search
    from .strategy_run import holds_run
    resuming = args.resume and holds_run(args.resume if isinstance(args.resume, str) else _flags(args).get("save", ""))
    if args.strategy != "autoshrink" or resuming:
        return cmd_strategy_run(args)
    if args.budget is not None:
        raise ConfigError("--budget is for the other strategies: AutoShrink spends what its steps need; drop --budget")

    def events(event):             # progress lines, and the seed's PNG curves after every step
        _printer(event)
        if isinstance(event, StepDone):
            save_curves(search.record, search.save_dir)
    if args.branch:
        given = _flags(args)
        if args.at_step is None or "save" not in given:
            raise ConfigError("--branch SAVE_DIR needs --at_step K (a finished step of it) and --save NEW_DIR")
        search = Search.branch(args.branch, args.at_step, given.pop("save"), on_event=events,
                               **{**(preset(args.preset) if args.preset else {}), **given})
    elif args.resume:
        if args.preset:
            raise ConfigError("--preset chooses the settings of a new search; drop it when resuming (--resume)")
        given = _flags(args)
        save = args.resume if isinstance(args.resume, str) else given.get("save", SearchConfig.save)
        search = Search.resume(save, on_event=events, **{k: v for k, v in given.items() if k != "save"})
    else:
        search = Search(_config(args), on_event=events)
    with search:
        print(f"search: {search.cfg.nodes} nodes, {search.cell.n_edges} edges, shrinking to {search.cfg.threshold}; "
              f"ops {list(search.cell.ops)}; device {search.device}; saving to {search.save_dir}", flush=True)
        search.run()
        print(_last_line(search), flush=True)
    return 0


def cmd_strategy_run(args) -> int:
    """`search --strategy NAME` for a strategy other than AutoShrink (strategy_run.StrategyRun)."""
    from .strategy_run import StrategyRun

    def events(event):
        if isinstance(event, JobDone | EpochDone):
            return
        if isinstance(event, TrainingDone):
            r = event.result
            print(f"  training {len(run.record['trainings'])}/{run.record['budget']}: ppl {formats.ppl(r.ppl)}, "
                  f"{formats.seconds(r.seconds)} s", flush=True)
    if args.branch:
        raise ConfigError("--branch is for AutoShrink's steps; a strategy run has none")
    if args.resume:
        given = _flags(args)
        save = args.resume if isinstance(args.resume, str) else given.get("save", SearchConfig.save)
        run = StrategyRun.resume(save, on_event=events)
    else:
        run = StrategyRun(_config(args), args.strategy, args.budget, args.seeds, on_event=events)
    with run:
        print(f"strategy {run.record['strategy']}: {run.record['budget']} trainings over {len(run.space.keys)} cells, "
              f"ops {list(run.space.ops)}; device {run.device}; saving to {run.save_dir}", flush=True)
        rec = run.run()
        pick = rec["pick"]
        print(f"done: {len(rec['trainings'])} trainings; the pick is cell {pick} (best mean score "
              f"{formats.score(run.strategy.mean(pick)) if pick else '-'}) in {run.save_dir}/strategy.json",
              flush=True)
    return 0


def _last_line(search) -> str:
    from .core.record import best_of
    best, save = best_of(search.state), search.save_dir
    if best is None:
        return f"done: no shrink step scored (every candidate diverged); see {save}/search.json"
    from .core.cell import Cell
    edges = Cell.from_dict(best["cell"]).n_edges
    return (f"done: the discovered cell is the best step's (step {best['step']}, score {formats.score(best['score'])}, "
            f"{edges} edges) in {save}/graph-best; export it: python -m autoshrink export --cell {save} --out DIR")


def _saved_config(path) -> dict | None:
    """The settings of the search whose save folder or search.json `path` is, else None."""
    from pathlib import Path

    from .core.record import read_state
    p = Path(path)
    if not (p.is_dir() or p.suffix == ".json"):
        return None
    try:
        return read_state(p)["config"]   # its paths as seen from here
    except (OSError, ConfigError):
        return None


def cmd_proxy(args) -> int:
    from .core.disk import clean
    from .core.record import load_cell, parse_which
    from .core.rules import cfg_score
    from .core.runtime import resolve_device
    from .one_cell import train_cell
    from .proxy.precision import proxy_precision
    flags = _flags(args)
    for name in SEARCH_ONLY:
        if name in flags:
            raise ConfigError(f"--{name} is a search setting and proxy trains one cell; drop --{name}")
    parse_which(args.which)
    saved = _saved_config(args.cell)
    cell = load_cell(args.cell, args.which)
    cfg = _config(args, {**(saved or {}), "nodes": cell.nodes})
    if cfg.nodes != cell.nodes:
        raise ConfigError(f"--nodes {cfg.nodes} but the cell in {args.cell} has {cell.nodes} nodes; drop --nodes")
    where = f"{args.cell} ({args.which} cell)" if saved else args.cell
    print(f"proxy: {where}, {cell.describe()}; seed {cfg.seed}, {cfg.epochs} epochs", file=sys.stderr, flush=True)
    r = train_cell(cell, cfg, on_event=lambda event: _printer(event, out=sys.stderr))
    out = {"ppl": r.ppl, "flops": r.flops, "params": r.params, "seconds": round(r.seconds, 3),
           "score": cfg_score(cfg, r.ppl, r.flops), "val_loss": r.val_loss, "epochs": r.epochs, "ended": r.ended,
           "diverged": r.diverged, "edges": cell.prune().n_edges,
           "precision": proxy_precision(cfg.precision, resolve_device(cfg.device), cfg.nhid)}
    print(json.dumps(clean(out), allow_nan=False))
    return 0


def cmd_data(args) -> int:
    from .core.data import prepare_data, prepare_full
    if args.full:
        path = prepare_full(args.out or "data/ptb", source=getattr(args, "from"))
        print(f"full PTB ready in {path}")
        return 0
    path = prepare_data(args.out or "data/penn_proxy", source=getattr(args, "from"))
    print(f"PTB proxy ready in {path}")
    return 0


def cmd_export(args) -> int:
    from .core.record import parse_which
    from .export import export_from
    parse_which(args.which)
    files = export_from(args.cell, args.out, which=args.which)
    for kind, path in files.items():
        print(f"{kind}: {path}")
    return 0


def _train_printer(event):
    """A final training's events as progress lines, and its result as one JSON line."""
    say = lambda line: print(line, flush=True)
    match event:
        case FinalStarted():
            where = f"resuming after epoch {event.epoch}" if event.resumed else "training from epoch 1"
            say(f"{where} of {event.epochs}: {event.model}, {event.params:,} parameters, phase {event.phase}, "
                f"precision {event.precision}")
        case FinalEpoch():
            val = "diverged" if event.val_ppl is None else f"{event.val_ppl:.2f}"
            say(f"  epoch {event.epoch + 1}/{event.epochs}  {event.phase}  train loss {event.train_loss:.3f}  "
                f"valid ppl {val}  ({event.seconds:.1f}s)")
        case PhaseSwitched():
            say(f"  switching to ASGD after epoch {event.epoch + 1}")
        case FinalDone(result=r):
            say(json.dumps({k: r[k] for k in ("valid_ppl", "test_ppl", "best_epoch", "epochs", "params", "seconds")}))


def cmd_train(args) -> int:
    from .backend import run_final
    from .core.record import load_cell
    from .final.config import FinalConfig
    from .final.run import FinalRun
    fields = {f.name for f in dataclasses.fields(FinalConfig)}
    given = {k: v for k, v in vars(args).items() if k in fields}
    if args.resume:
        keep = {k: v for k, v in given.items() if k in ("epochs", "data")}
        if set(given) - set(keep) - {"device"}:
            raise ConfigError(f"--resume keeps the run's settings; only --epochs, --data and --device may change, "
                              f"not --{sorted(set(given) - set(keep) - {'device'})[0]}")
        run = FinalRun.open(args.out, device=given.get("device"), **keep)
    else:
        cfg = FinalConfig.preset(args.preset, **given)
        if args.baseline:
            if args.cell:
                raise ConfigError("give either --cell or --baseline lstm, not both")
            run = FinalRun.create(args.out, cfg, model=args.baseline)
        elif not args.cell:
            raise ConfigError("give --cell CELL.json|SAVE_DIR|shrinkrnn|darts, or --baseline lstm")
        else:
            run = FinalRun.create(args.out, cfg, cell=load_cell(args.cell, args.which))
    where = {k: v for k, v in vars(args).items() if k in BACKEND_FLAGS}
    host = run.device if where.get("backend", "local") == "local" else f"Ray ({where.get('gpus_per_task', 0.0)} GPUs)"
    print(f"final training in {run.folder} on {host}; settings {json.dumps(run.cfg.to_dict())}", flush=True)
    try:
        run_final(run, **where, device=given.get("device"), on_event=_train_printer)
    except KeyboardInterrupt:
        print(f"\ninterrupted: the last finished epoch is saved; continue with --resume --out {run.folder}",
              file=sys.stderr)
        return 130
    return 0


def cmd_quality(args) -> int:
    from .quality.page import write_figures
    from .quality.report import QualityReport, final_results, proxy_final_tau
    overrides = {k: v for k, v in vars(args).items() if k in QUALITY_FLAGS}
    report = QualityReport(args.search, n_random=args.random, trainings=args.trainings, which=args.which,
                           lstm=not args.no_lstm, random_search=args.random_search, table=args.table, **overrides)

    trained = []

    def show(event):
        if isinstance(event, JobDone):
            trained.append(event.job)
            r = event.record
            ppl = ("diverged" if r["ppl"] is None else
                   f"valid {formats.ppl(r['ppl'])}, test {formats.ppl(r['test_ppl'])}")
            print(f"[{event.position + 1}/{event.count}] {event.job}: {ppl} ({formats.seconds(r['seconds'])} s)",
                  flush=True)

    result = report.run(on_event=show)
    final = final_results(args.final) if args.final else None
    page = write_figures(result, report.save, report.save / "quality.html", final)
    print(f"trained {len(trained)}, cached {len(result['records']) - len(trained)}; figures in {page}; "
          f"results in {report.path}")
    summary = {**result["summary"], **({"proxy_final": proxy_final_tau(result, final)} if final else {})}
    if args.spread > 1:
        from .quality.spread import run_spread
        summary["spread"] = run_spread(report.save, args.spread)
        print(f"spread: edge overlap {summary['spread']['overlap']:.2f} over {len(summary['spread']['runs'])} searches")
    print(json.dumps(summary))
    return 0


def cmd_runs(args) -> int:
    from .runs import list_runs, runs_table
    rows = list_runs(args.folder)
    print(json.dumps(rows) if args.json else runs_table(rows))
    return 0


def cmd_compare(args) -> int:
    from .plot.searches import write_comparison
    page = write_comparison(args.searches, args.out, args.which)
    print(f"comparison of {len(args.searches)} searches in {page}")
    return 0


def cmd_space(args) -> int:
    from .space.table import build_table, check_seeds
    given = _flags(args)
    cfg = _config(args).replace(save=given.get("save", "space-run"))

    def show(event):
        r = event.record
        ppl = "diverged" if r["ppl"] is None else f"valid {formats.ppl(r['ppl'])}, test {formats.ppl(r['test_ppl'])}"
        print(f"[{event.done}/{event.count}] {event.job}: {ppl} ({formats.seconds(r['seconds'])} s); "
              f"about {formats.seconds(event.eta_seconds / 60)} min left", flush=True)
    check_seeds(cfg.save, args.seeds)
    print(f"space table of {cfg.nodes} nodes, {args.seeds} seed(s), in {cfg.save}", flush=True)
    table = build_table(cfg, cfg.save, seeds=args.seeds, on_event=show)
    print(f"table: {len(table.cells)} cells x {len(table.seeds)} seeds, ops {table.ops}; in {cfg.save}/space.json",
          flush=True)
    return 0


def _space_parser(sub) -> None:
    sp = sub.add_parser("space", help="train every cell of a (small) search space: the ground truth a search is "
                                      "graded against")
    sp.add_argument("--seeds", type=int, default=3,
                    help="table seeds: seed k is the paired weight seed of step k of the search with --seed "
                         "(default: 3)")
    _add_config_flags(sp)


def _strategy_flags(s) -> None:
    from .strategies import STRATEGIES
    s.add_argument("--strategy", default="autoshrink", metavar="NAME",
                   help="the search strategy: " + "; ".join(f"{n}: {c.about}" for n, c in STRATEGIES.items())
                        + " (default: autoshrink)")
    s.add_argument("--budget", type=int, default=None,
                   help="trainings a strategy other than autoshrink may make, re-trainings included")
    s.add_argument("--seeds", type=int, default=4,
                   help="table seeds a strategy's trainings draw weights from: seed k is the paired weight seed "
                        "of step k under --seed, as in a space table (default: 4)")


def cmd_strategies(args) -> int:
    from .space.leaderboard import ceiling_markdown, ceilings, leaderboard, leaderboard_markdown, summary
    from .space.shipped import open_table
    full = open_table(args.table)
    table = full.trained_seeds() if args.trained_seeds else full
    truth = open_table(args.truth) if args.truth else None
    names = args.strategies.split(",") if args.strategies else None
    budgets = [int(b) for b in args.budgets.split(",")]
    board = leaderboard(table, strategies=names, budgets=budgets, repeats=args.repeats, seed=args.seed,
                        on_progress=lambda line: print(line, file=sys.stderr, flush=True), truth=truth,
                        judge_size=args.judges)
    board["table"], board["truth"], board["trained_seeds"] = str(args.table), args.truth, args.trained_seeds
    board["judge_size"], board["table_seeds"] = args.judges, len(full.seeds)
    for row in board["rows"]:
        row["table"] = str(args.table)
    print(_board_heading(args, board))
    if truth is not None:
        from .space.fidelity import fidelity, fidelity_text
        board["fidelity"] = fidelity(table, truth)
        print(fidelity_text(board["fidelity"]))
    board["ceiling"] = ceilings(table, repeats=args.repeats, truth=truth, judge_size=args.judges)
    for score in dict.fromkeys(r["score"] for r in board["rows"]):
        print(f"\n{score} score:\n{leaderboard_markdown(summary(board), score)}\n\nthe noise ceiling:\n"
              f"{ceiling_markdown(board['ceiling'], score)}")
    if args.json:
        from .core.disk import write_json_atomic
        write_json_atomic(args.json, {**board, "rows": [{k: v for k, v in r.items() if k != "picks"}
                                                         for r in board["rows"]]})
        print(f"rows in {args.json}")
    return 0


def _board_heading(args, board: dict) -> str:
    judged = (f"decided on every seed of {args.table}, judged by {args.truth} (the mean of its seeds)" if args.truth
              else "held out, mean ± sd over the judge seeds" if args.judges == 1
              else f"held out, judged by the mean of {args.judges} table seeds, mean ± sd over the groups")
    building = board["seeds"] < board["table_seeds"]
    seeds = f"{board['seeds']} seeds" + (f" of {board['table_seeds']} (those every cell has; the table is building)"
                                         if building else "")
    return (f"{args.table}: {board['cells']} cells, {seeds}; P(at least as good as random search at "
            f"equal budget), {judged}; {args.repeats} replays each")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m autoshrink", description="AutoShrink RNN cell search.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("search", help="run (or --resume) the shrink search")
    _add_config_flags(s)
    s.add_argument("--resume", nargs="?", const=True, default=None, metavar="SAVE_DIR",
                   help="continue the search saved in SAVE_DIR (default: --save)")
    s.add_argument("--branch", default=None, metavar="SAVE_DIR",
                   help="start a new search (--save) from the cell after step --at_step of the search in SAVE_DIR, "
                        "its steps 0..K copied; flags given change the other settings (not --nodes or --ops)")
    s.add_argument("--at_step", type=int, default=None, metavar="K", help="with --branch: the step to branch after")
    _strategy_flags(s)
    b = sub.add_parser("strategies", help="every search strategy replayed on a space table against random search, "
                                          "held out: the leaderboard")
    b.add_argument("--table", required=True, help="a shipped table's name (data/tables) or a folder with space.json")
    b.add_argument("--strategies", default=None, help="comma-separated names (default: all)")
    b.add_argument("--budgets", default="10,20,30,50", help="trainings, comma-separated (default: 10,20,30,50)")
    b.add_argument("--repeats", type=int, default=1000, help="replays per strategy, budget and judge (default: 1000)")
    b.add_argument("--seed", type=int, default=0, help="seed of the replays' draws (default: 0)")
    b.add_argument("--truth", default=None, metavar="TABLE",
                   help="judge by this table of the same space (a longer proxy's, the mean of its seeds) instead "
                        "of a held-out seed; every seed of --table decides")
    b.add_argument("--judges", type=int, default=1, metavar="K",
                   help="table seeds that judge together (their mean is the truth) while the others decide, "
                        "rotated over every group of K (default: 1, each seed in turn)")
    b.add_argument("--trained_seeds", action="store_true",
                   help="judge a table still building on the table seeds every cell has (it trains seed by seed)")
    b.add_argument("--json", default=None, metavar="FILE", help="write every row (and the anytime curves) here")
    x = sub.add_parser("proxy", help="train one cell under the proxy and print one JSON line")
    x.add_argument("--cell", required=True, help="cell JSON file, a search's save folder (its settings are used; "
                   "flags given override them), a graph pickle, or shrinkrnn / darts")
    x.add_argument("--which", default="best", help=WHICH_HELP)
    _add_config_flags(x)
    d = sub.add_parser("data", help="prepare data/penn_proxy from a local folder or by download")
    d.add_argument("--from", default=None, metavar="FOLDER", help="folder holding full PTB or the proxy")
    d.add_argument("--out", default=None, help="where the data goes (default: data/penn_proxy, data/ptb with --full)")
    d.add_argument("--full", action="store_true", help="full PTB (for the final training) instead of the proxy")
    e = sub.add_parser("export", help="export a cell as diagram (SVG, PNG, PDF, DOT), HTML, JSON, pickle and code")
    e.add_argument("--cell", required=True,
                   help="cell JSON file, a search's save folder, a graph pickle, or shrinkrnn / darts")
    e.add_argument("--out", "--save", dest="out", required=True, help="folder to write into")
    e.add_argument("--which", default="best", help=WHICH_HELP)
    _train_parser(sub)
    c = sub.add_parser("compare", help="searches side by side in one offline HTML page: curves, cell diff, settings")
    c.add_argument("searches", nargs="+", metavar="SAVE_DIR", help="two or more search folders")
    c.add_argument("--out", "--save", dest="out", default="compare.html", help="the page (default: compare.html)")
    c.add_argument("--which", default="best", help=WHICH_HELP)
    r = sub.add_parser("runs", help="list the searches, quality reports and final trainings under a folder")
    r.add_argument("folder", nargs="?", default="runs", help="where to look (default: runs)")
    r.add_argument("--json", action="store_true", help="one JSON list instead of a table")
    q = sub.add_parser("quality", help="the discovered cell against random cells and baselines, under the proxy")
    q.add_argument("--search", required=True,
                   help="a search's save folder, or another strategy's run (autoshrink search --strategy)")
    q.add_argument("--random", type=int, default=8,
                   help="random cells with the discovered cell's edge count (default: 8)")
    q.add_argument("--trainings", "--seeds", dest="trainings", type=int, default=3,
                   help="trainings of each cell and baseline, each under its own weight seed (--seeds: the "
                        "name before; --seeds means table seeds elsewhere) (default: 3)")
    q.add_argument("--which", default="best", help=WHICH_HELP)
    q.add_argument("--no_lstm", action="store_true", help="leave out the LSTM baseline")
    q.add_argument("--random_search", type=int, default=None, metavar="N",
                   help="random search's budget: N random cells trained once, the best by validation kept "
                        "(default: as many as the search trained candidates; 0: none)")
    q.add_argument("--final", default=None, metavar="FOLDER",
                   help="final trainings of the report's cells (scripts/final_table.py --out FOLDER): "
                        "adds Kendall's tau between the proxy's order and theirs")
    q.add_argument("--spread", type=int, default=0, metavar="N",
                   help="also run the same search (same ops) under N - 1 more run seeds, in SEARCH-seed<N>, and "
                        "report the discovered cells' edge overlap (default: 0, none)")
    q.add_argument("--table", default=None, metavar="FOLDER",
                   help="a space table of the search's space (`autoshrink space`): adds the discovered cell's true "
                        "rank in the space and every step's grade")
    _add_config_flags(q, QUALITY_FLAGS, default="the search's")
    _space_parser(sub)
    return p


WHICH_HELP = ("which cell of a search's save folder: best (the step whose chosen candidate scored highest, "
              "as graph-best), final, or step:N (default: best)")


def _train_parser(sub) -> None:
    from .final.config import FINAL_PRESETS, RENAMED, FinalConfig
    t = sub.add_parser("train", help="final training of a cell (or --baseline lstm) with the published recipe",
                       description="Defaults shown are the published preset's; --preset sets the others, flags "
                                   "override. To end a run early and test its best weights: --resume --epochs "
                                   "<epochs done>.")
    t.add_argument("--cell", default=None, help="cell JSON, graph pickle, a search's save folder, shrinkrnn or darts")
    t.add_argument("--which", default="best", help=WHICH_HELP)
    t.add_argument("--baseline", default=None, choices=("lstm",), help="train torch's one-layer LSTM instead of a cell")
    t.add_argument("--preset", default="small", choices=(*FINAL_PRESETS, *RENAMED), metavar="{published,small,test}",
                   help="published (the published recipe, GPU), small (proxy, 2 to 5 minutes a model on a 2-core "
                        "CPU), test (seconds; paper and tiny are their earlier names) (default: small)")
    t.add_argument("--out", "--save", dest="out", required=True, help="run folder: run.json, checkpoint.pt, best.pt")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    _add_config_flags(t, cls=FinalConfig)
    _add_config_flags(t, BACKEND_FLAGS)


COMMANDS = {"search": cmd_search, "proxy": cmd_proxy, "data": cmd_data, "export": cmd_export, "train": cmd_train,
            "quality": cmd_quality, "runs": cmd_runs, "compare": cmd_compare, "space": cmd_space,
            "strategies": cmd_strategies}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].startswith("--") and argv[0] not in ("--help",):
        argv.insert(0, "search")  # the seed ran the search with flags alone
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: every finished candidate is saved; continue with --resume", file=sys.stderr)
        return 130
