"""The command line as a user runs it: one clear line and a non-zero exit for bad input, the seed's
flags accepted, the proxy command printing one JSON line, the data command copying PTB."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autoshrink.core.cell import SHRINK_RNN
from autoshrink.core.data import PROXY_SHA256, load_corpus, prepare_data, sha256


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "autoshrink", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def one_line_error(r, *words):
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture
def bad_files(tmp_path):
    (tmp_path / "empty").mkdir()
    binary = tmp_path / "binary"
    binary.mkdir()
    for s in ("train", "valid", "test"):
        (binary / f"{s}.txt").write_bytes(b"\x00\x01\x02" * 50)
    blank = tmp_path / "blank"
    blank.mkdir()
    for s in ("train", "valid", "test"):
        (blank / f"{s}.txt").write_text("")
    return tmp_path


@pytest.mark.parametrize("args, words", [
    (["--data", "{tmp}/missing"], ["not found", "autoshrink data"]),
    (["--data", "{tmp}/empty"], ["missing", "train.txt"]),
    (["--data", "{tmp}/binary"], ["binary"]),
    (["--data", "{tmp}/blank"], ["empty"]),
    (["--nodes", "1"], ["--nodes", "at least 2"]),
    (["--keep_fraction", "0"], ["--keep_fraction", "(0, 1]"]),
    (["--keep_fraction", "1.5"], ["--keep_fraction"]),
    (["--max_steps_to_action", "0"], ["--max_steps_to_action"]),
    (["--drop_k", "0"], ["--drop_k"]),
    (["--emsize", "100", "--nhid", "50"], ["--emsize", "--nhid"]),
    (["--device", "cuda:7"], ["--device", "not available"]),
    (["--device", "banana"], ["--device"]),
    (["--resume", "{tmp}/nothing"], ["no search to resume"]),
    (["--emb_path", "{tmp}/nope.pkl"], ["--emb_path", "not found"]),
    (["--halving", "10", "--epochs", "10"], ["--halving", "fewer epochs"]),
    (["--halving", "2", "--backend", "ray"], ["--halving", "--backend local"]),
    (["--seed_rule", "edge"], ["--seed_rule", "step or candidate"]),
    (["--retest", "-1"], ["--retest"]),
])
@pytest.mark.slow
def test_bad_search_input_is_one_clear_line(args, words, bad_files, tiny_data):
    args = [a.format(tmp=bad_files) for a in args]
    if "--data" not in args:
        args += ["--data", str(tiny_data)]
    one_line_error(cli("search", "--save", str(bad_files / "s"), *args), *words)


@pytest.mark.slow
def test_bad_cell_and_resume_files(tmp_path, tiny_data):
    (tmp_path / "c.json").write_text('{"mask": [[0, 1], [0, 0]], "ops": ["tanh", "gelu"]}')
    one_line_error(cli("proxy", "--cell", str(tmp_path / "c.json"), "--data", str(tiny_data)), "unknown op 'gelu'")
    (tmp_path / "d.json").write_text("\x00garbage")
    one_line_error(cli("proxy", "--cell", str(tmp_path / "d.json"), "--data", str(tiny_data)), "JSON")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "search.json").write_text('{"format": "something else"}')
    one_line_error(cli("search", "--resume", str(tmp_path / "run")), "not an autoshrink search record")


@pytest.mark.slow
def test_proxy_prints_one_json_line_for_the_published_cell(tmp_path, tiny_data):
    (tmp_path / "cell.json").write_text(SHRINK_RNN.to_json())
    r = cli("proxy", "--cell", str(tmp_path / "cell.json"), "--data", str(tiny_data), "--epochs", "1",
            "--emsize", "8", "--batch_size", "16", "--eval_batch_size", "8", "--bptt", "10")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["flops"] == 12 * 8 * 8 and out["edges"] == 12
    assert out["ppl"] > 1 and out["params"] > 0 and out["seconds"] > 0


@pytest.mark.slow
def test_seed_flags_run_a_search_and_resume_finishes_it(tmp_path, tiny_data):
    save = tmp_path / "run"
    r = cli("--nodes", "3", "--data", str(tiny_data), "--emsize", "8", "--nhidlast", "8", "--lr", "20",
            "--clip", "0.25", "--epochs", "1", "--batch_size", "16", "--eval_batch_size", "8", "--bptt", "10",
            "--seed", "3",
            "--keep_fraction", "0.34", "--max_steps_to_action", "10", "--drop_k", "1", "--device", "cpu",
            "--save", str(save))
    assert r.returncode == 0, r.stderr
    assert "candidate 1 of 3" in r.stdout and "epoch 1/1" in r.stdout and "final cell" in r.stdout
    state = json.loads((save / "search.json").read_text())
    assert state["final"] is not None
    assert {p.name for p in save.glob("*.png")} == {"best_perf_log.png", "mean_score_log.png", "mean_ppl_log.png",
                                                    "best_ppl_log.png", "mean_cost_log.png"}    # the seed's curves
    r2 = cli("search", "--resume", str(save))
    assert r2.returncode == 0, r2.stderr  # resuming a finished search is a no-op


def test_data_command_copies_and_checks_the_proxy(tmp_path, proxy_dir):
    out = tmp_path / "penn_proxy"
    r = cli("data", "--from", str(proxy_dir), "--out", str(out))
    assert r.returncode == 0, r.stderr
    for s, digest in PROXY_SHA256.items():
        assert sha256((out / f"{s}.txt").read_bytes()) == digest
    c = load_corpus(out)
    assert (c.train.numel(), c.valid.numel(), c.test.numel(), c.ntokens) == (88832, 7060, 6642, 7002)


def test_data_from_a_folder_of_full_ptb_names_derives_the_proxy(tmp_path, proxy_dir):
    full = tmp_path / "simple-examples" / "data"
    full.mkdir(parents=True)
    for s in ("train", "valid", "test"):
        text = (proxy_dir / f"{s}.txt").read_text()
        (full / f"ptb.{s}.txt").write_text(text + " extra line beyond the proxy \n" * 10)
    prepare_data(tmp_path / "out", source=tmp_path / "simple-examples")
    assert sha256((tmp_path / "out" / "train.txt").read_bytes()) == PROXY_SHA256["train"]


def test_data_offline_without_folder_says_what_to_do(tmp_path):
    from autoshrink.core.errors import ConfigError
    with pytest.raises(ConfigError, match="--from"):
        prepare_data(tmp_path / "p", url="http://127.0.0.1:9/simple-examples.tgz")


def test_data_from_a_folder_that_is_not_ptb(tmp_path):
    from autoshrink.core.errors import ConfigError
    src = tmp_path / "src"
    src.mkdir()
    for s in ("train", "valid", "test"):
        (src / f"{s}.txt").write_text("hello world\n")
    with pytest.raises(ConfigError, match="does not match PTB"):
        prepare_data(tmp_path / "out", source=src)


@pytest.mark.slow
def test_kill_9_mid_search_then_resume_keeps_every_finished_candidate(tmp_path, tiny_data):
    import json as _json
    import signal
    import time
    save = tmp_path / "k"
    args = [sys.executable, "-m", "autoshrink", "search", "--nodes", "4", "--data", str(tiny_data), "--emsize", "8",
            "--epochs", "3", "--batch_size", "16", "--eval_batch_size", "8", "--bptt", "10", "--keep_fraction", "0.5",
            "--max_steps_to_action", "4", "--parallel", "1", "--save", str(save)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    kept = []
    while time.time() < deadline and len(kept) < 2:
        time.sleep(0.05)
        try:
            kept = _json.loads((save / "search.json").read_text())["steps"][0]["candidates"]
        except (FileNotFoundError, ValueError, IndexError, KeyError):
            continue
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = _json.loads((save / "search.json").read_text())  # never half-written
    kept = state["steps"][0]["candidates"]
    assert 2 <= len(kept) < 4 and state["final"] is None
    r = cli("search", "--resume", str(save))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("step 0: candidate") == 4 - len(kept)
    done = _json.loads((save / "search.json").read_text())
    assert done["steps"][0]["candidates"][: len(kept)] == kept and done["final"] is not None


def test_export_command_writes_every_format(tmp_path):
    import xml.etree.ElementTree as ET
    (tmp_path / "cell.json").write_text(SHRINK_RNN.to_json())
    r = cli("export", "--cell", str(tmp_path / "cell.json"), "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"cell.svg", "cell.png", "cell.pdf", "cell.dot", "cell.html", "cell.json", "graph-cell",
            "cell_module.py"} <= names
    ET.parse(tmp_path / "out" / "cell.svg")
    one_line_error(cli("export", "--cell", str(tmp_path / "missing.json"), "--out", str(tmp_path / "o2")), "not found")


def test_preset_gives_its_settings_and_flags_override_them():
    from autoshrink.cli import _config, parser
    from autoshrink.core.config import PRESETS, SearchConfig
    from autoshrink.core.errors import ConfigError
    cfg = _config(parser().parse_args(["search", "--preset", "tiny", "--epochs", "3"]))
    assert cfg == SearchConfig(**{**PRESETS["tiny"], "epochs": 3})
    # the defaults are published
    assert _config(parser().parse_args(["search", "--preset", "published"])) == SearchConfig()
    assert (SearchConfig().target_ppl, SearchConfig().ppl_weight, SearchConfig().cost_weight) == (200, 0.25, 1)
    assert SearchConfig.preset("tiny", epochs=3) == cfg              # the same API as FinalConfig.preset
    with pytest.raises(ConfigError, match="--preset 'huge' is not a preset; use one of tiny, published"):
        SearchConfig.preset("huge")


@pytest.mark.slow
def test_a_search_saved_from_the_notebooks_folder_is_usable_from_the_root(tiny_data, tmp_path, monkeypatch):
    """The lab saves from notebooks/ with data ../data/penn_proxy; the record must work from the
    repo root (and from anywhere), through the command line, and a missing folder is named in full."""
    import records
    from autoshrink.core.record import read_state, write_state

    root = tmp_path / "repo"
    shutil.copytree(tiny_data, root / "data" / "penn_proxy")
    (root / "notebooks").mkdir()
    monkeypatch.chdir(root / "notebooks")
    write_state("../runs/search", records.best_first("../data/penn_proxy", "../runs/search"))
    saved = json.loads((root / "runs" / "search" / "search.json").read_text())["config"]
    assert (saved["data"], saved["save"]) == (str(Path("..", "..", "data", "penn_proxy")), ".")
    monkeypatch.chdir(root)
    assert read_state("runs/search")["config"]["data"] == str(Path("data", "penn_proxy"))
    for where, cell in ((root, "runs/search"), (tmp_path, "repo/runs/search")):
        r = cli("proxy", "--cell", cell, "--which", "final", cwd=where)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout.strip().splitlines()[-1])["edges"] == records.AFTER1.prune().n_edges
    shutil.rmtree(root / "data")
    missing = root / "data" / "penn_proxy"
    r = cli("proxy", "--cell", "runs/search", cwd=root)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: data folder data{os.sep}penn_proxy not found (looked for {missing})"), last


def test_quality_help_says_its_defaults_are_the_searchs():
    r = cli("quality", "--help")
    text = " ".join(r.stdout.split())
    assert r.returncode == 0 and "(default: 100)" not in text and "(default: 10)" not in text
    assert "proxy training epochs per candidate (default: the search's)" in text


def test_a_command_that_writes_a_folder_takes_save_and_out_alike():
    from autoshrink.cli import parser
    p = parser()
    assert p.parse_args(["search", "--out", "x"]).save == p.parse_args(["search", "--save", "x"]).save == "x"
    assert p.parse_args(["train", "--cell", "darts", "--save", "y"]).out == "y"
    assert p.parse_args(["export", "--cell", "darts", "--save", "z"]).out == "z"


def test_runs_lists_searches_reports_and_final_trainings_without_torch(tmp_path, tiny_data):
    import records
    from autoshrink.core.disk import WriterLock
    from autoshrink.core.record import write_state
    write_state(tmp_path / "runs" / "a", records.best_first(tiny_data, tmp_path / "runs" / "a"))
    write_state(tmp_path / "runs" / "b", records.best_first(tiny_data, tmp_path / "runs" / "b", steps=1, final=False))
    writer = WriterLock(tmp_path / "runs" / "b").acquire()                      # a live writer: this test
    (tmp_path / "runs" / "a" / "lock").write_text("999999\n")                   # a dead writer's file: no lock
    (tmp_path / "runs" / "t").mkdir()
    (tmp_path / "runs" / "t" / "run.json").write_text("{not json")
    code = ("import sys, json; from autoshrink.cli import main; main(['runs', sys.argv[1], '--json']); "
            "print(json.dumps('torch' in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "runs")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    out = r.stdout.strip().splitlines()
    rows, torch_loaded = json.loads(out[0]), json.loads(out[1])
    assert not torch_loaded
    by = {(Path(x["folder"]).name, x["kind"]): x for x in rows}
    assert by[("a", "search")]["status"] == "finished" and by[("a", "search")]["edges"] == 5
    assert by[("a", "search")]["best_ppl"] == 300.0 and by[("a", "search")]["steps"] == 2
    assert by[("b", "search")]["status"] == "running" and by[("t", "run")]["status"] == "unreadable"
    writer.release()
    assert not (tmp_path / "runs" / "b" / "lock").exists()
    one_line_error(cli("runs", str(tmp_path / "nowhere")), "no folder")


def test_a_cached_quality_report_and_export_read_without_torch(tmp_path, tiny_data):
    """Commands that only read (export, a quality report whose trainings are all cached) do not load torch."""
    import records
    from autoshrink.core.record import write_state
    save = tmp_path / "s"
    write_state(save, records.best_first(tiny_data, save))
    code = ("import sys; from autoshrink.quality.report import QualityReport; "
            "from autoshrink.export import export_from; "
            "r = QualityReport(sys.argv[1], n_random=2, trainings=1, lstm=False, random_search=0); "
            "export_from(sys.argv[1], sys.argv[2]); print(len(r.missing()), 'torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code, str(save), str(tmp_path / "x")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    missing, torch_loaded = r.stdout.split()
    assert int(missing) > 0 and torch_loaded == "False"      # trainings to do, none started: torch never loaded
