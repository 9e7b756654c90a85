"""Nothing lost, nothing silent, through the command line: a diverging search finishes with only
finite numbers or nulls; a kill during a batched step resumes from the last epoch to the numbers
of an uninterrupted run; one writer per save folder; a resume with a changed unsafe setting is
refused with one line naming it."""
import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from autoshrink.core.record import SearchRecord
from autoshrink.core.rules import candidate_seed
from autoshrink.search import Search


def args(tiny_data, save, *extra):
    return [sys.executable, "-m", "autoshrink", "search", "--nodes", "3", "--data", str(tiny_data), "--emsize", "8",
            "--batch_size", "16", "--eval_batch_size", "8", "--bptt", "10", "--keep_fraction", "0.34",
            "--max_steps_to_action", "3", "--device", "cpu", "--save", str(save), *extra]


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def strict_json(path):
    def refuse(name):
        raise AssertionError(f"{path} holds {name}")
    return json.loads(path.read_text(), parse_constant=refuse)


def numbers(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from numbers(v)
    elif isinstance(obj, float):
        yield obj


@pytest.mark.slow
def test_a_diverging_search_finishes_with_finite_numbers_or_null(tiny_data, tmp_path):
    save = tmp_path / "div"
    r = run(args(tiny_data, save, "--epochs", "2", "--lr", "1e9", "--parallel", "3"))
    assert r.returncode == 0, r.stderr
    state = strict_json(save / "search.json")
    cands = [c for s in state["steps"] for c in s["candidates"]]
    assert cands and all(c["diverged"] and c["ppl"] is None and c["score"] is None for c in cands)
    assert any(e["train_loss"] is None for c in cands for e in c["curve"])    # NaN losses, stored as null
    assert state["final"] is not None and state["final"]["ppl"] is None
    assert all(abs(x) < float("inf") for x in numbers(state))
    assert not list(save.glob("*.tmp")) and not (save / "inflight.pt").exists() and not (save / "lock").exists()
    assert r.stdout.strip().splitlines()[-1].startswith("done: no shrink step scored")


def _without_seconds(state):
    for s in state["steps"]:
        for c in s["candidates"]:
            c.pop("seconds")
    state["final"].pop("seconds")
    return state


@pytest.mark.slow
def test_kill_during_a_batched_step_resumes_from_the_last_epoch_to_the_same_numbers(tiny_data, tmp_path):
    save, ref = tmp_path / "k", tmp_path / "ref"
    cmd = args(tiny_data, save, "--epochs", "4", "--parallel", "3")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, saved = time.time() + 240, None
    while time.time() < deadline and proc.poll() is None:
        try:
            saved = torch.load(save / "inflight.pt", weights_only=True)
        except Exception:
            saved = None
        if saved and saved["epoch"] >= 2 and len(saved["tags"]) == 3:   # step 0's three candidates, 2 epochs in
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert saved and saved["epoch"] >= 2, "the step's training was never seen in flight"
    saved = torch.load(save / "inflight.pt", weights_only=True)      # as the kill left it
    assert json.loads((save / "lock").read_text() or "0") == proc.pid          # left behind by the dead process
    r = run([sys.executable, "-m", "autoshrink", "search", "--resume", str(save)])
    assert r.returncode == 0, r.stderr
    first = next(line for line in r.stdout.splitlines() if "epoch" in line)
    assert f"epoch {saved['epoch'] + 1}/4" in first, r.stdout            # continued, not started over
    assert run(args(tiny_data, ref, "--epochs", "4", "--parallel", "3")).returncode == 0
    steps = [_without_seconds(strict_json(folder / "search.json"))["steps"] for folder in (save, ref)]
    assert steps[0] == steps[1]
    a, b = strict_json(save / "search.json")["final"], strict_json(ref / "search.json")["final"]
    assert a["ppl"] == b["ppl"] and a["curve"] == b["curve"]


@pytest.mark.slow
def test_one_writer_per_save_folder(tiny_data, tmp_path):
    save = tmp_path / "w"
    proc = subprocess.Popen(args(tiny_data, save, "--epochs", "50"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (save / "search.json").exists():
            time.sleep(0.05)
        r = run([sys.executable, "-m", "autoshrink", "search", "--resume", str(save)])
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and f"being written by process {proc.pid}" in lines[0], r.stderr
        follower = Search.open_readonly(save)                   # the lab can follow it, read-only
        follower.update()
        assert follower.state["config"]["epochs"] == 50
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


@pytest.mark.slow
def test_resume_refuses_a_changed_setting_and_honours_the_machine_ones(tiny_data, tmp_path):
    save = tmp_path / "c"
    proc = run(args(tiny_data, save, "--epochs", "1", "--max_steps_to_action", "1", "--keep_fraction", "0.67"))
    assert proc.returncode == 0, proc.stderr
    before = (save / "search.json").read_text()
    r = run([sys.executable, "-m", "autoshrink", "search", "--resume", str(save), "--epochs", "5"])
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "--epochs 5 differs from the saved search's 1" in r.stderr
    assert (save / "search.json").read_text() == before
    r = run([sys.executable, "-m", "autoshrink", "search", "--resume", str(save), "--epochs", "1", "--device", "cpu",
             "--parallel", "2", "--data", str(tiny_data)])
    assert r.returncode == 0, r.stderr        # same epochs; device, parallel and data may change


@pytest.mark.slow
def test_record_holds_the_resolved_precision_and_seed_rule_and_resume_refuses_a_change(tiny_data, tmp_path):
    save = tmp_path / "p"
    proc = run(args(tiny_data, save, "--epochs", "1", "--max_steps_to_action", "1", "--keep_fraction", "0.67"))
    assert proc.returncode == 0, proc.stderr
    cfg = strict_json(save / "search.json")["config"]
    assert cfg["precision"] == "fp32"   # auto, resolved: a cell of nhid 8 trains in fp32 (precision.proxy_precision)
    assert cfg["seed_rule"] == "step"
    other = "fp32" if cfg["precision"] != "fp32" else "bf16"
    before = (save / "search.json").read_text()
    for flag, value, saved in (("--precision", other, cfg["precision"]), ("--seed_rule", "candidate", "step")):
        r = run([sys.executable, "-m", "autoshrink", "search", "--resume", str(save), flag, value])
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert f"{flag} {value} differs from the saved search's {saved}" in r.stderr
    assert (save / "search.json").read_text() == before
    r = run([sys.executable, "-m", "autoshrink", "search", "--resume", str(save), "--precision", "auto"])
    assert r.returncode == 0, r.stderr        # auto is what the record resolved


@pytest.mark.slow
def test_an_old_record_replays_with_its_seed_rule(tiny_data, tmp_path):
    """A version-1 record from before the seed rule was a setting resumes with one seed per candidate
    (record/migrate.py)."""
    save = tmp_path / "old"
    proc = run(args(tiny_data, save, "--epochs", "1", "--max_steps_to_action", "2", "--keep_fraction", "0.34",
                    "--seed_rule", "candidate"))
    assert proc.returncode == 0, proc.stderr
    state = json.loads((save / "search.json").read_text())
    del state["config"]["seed_rule"]
    state["format"] = "autoshrink-search/1"
    (save / "search.json").write_text(json.dumps(state))
    s = Search.resume(save)
    try:
        assert s.cfg.seed_rule == "candidate"
        assert candidate_seed(s.cfg, 0, (0, 1)) != candidate_seed(s.cfg, 0, (0, 2))
    finally:
        s.close()


def _wait_for(path, proc, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None and not path.exists():
        time.sleep(0.2)
    assert path.exists(), f"{path} never appeared"


@pytest.mark.slow
def test_a_second_writer_of_a_train_folder_or_a_quality_run_gets_one_line(tiny_data, tmp_path):
    save = tmp_path / "s"
    one_step = args(tiny_data, save, "--epochs", "1", "--max_steps_to_action", "1", "--keep_fraction", "0.67")
    assert run(one_step).returncode == 0
    train = [sys.executable, "-m", "autoshrink", "train", "--cell", "shrinkrnn", "--preset", "test", "--data",
             str(tiny_data), "--epochs", "500", "--out", str(tmp_path / "t")]
    quality = [sys.executable, "-m", "autoshrink", "quality", "--search", str(save), "--random", "1", "--seeds", "1",
               "--epochs", "500", "--random_search", "0", "--no_lstm"]
    for cmd, lock, again in ((train, tmp_path / "t" / "lock", train[:4] + ["--resume", "--out", str(tmp_path / "t")]),
                             (quality, save / "quality.lock", quality)):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for(lock, proc)
            r = run(again)
            lines = r.stderr.strip().splitlines()
            assert r.returncode == 2 and len(lines) == 1, r.stderr
            assert f"being written by process {proc.pid}" in lines[0], r.stderr
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()


@pytest.mark.slow
def test_a_branch_copies_the_parents_steps_follows_its_new_settings_and_resumes(tiny_data, tmp_path):
    parent, branch = tmp_path / "parent", tmp_path / "branch"
    assert run(args(tiny_data, parent, "--nodes", "4", "--epochs", "1", "--max_steps_to_action", "2",
                    "--keep_fraction", "0.34")).returncode == 0
    before = (parent / "search.json").read_text()
    cmd = [sys.executable, "-m", "autoshrink", "search", "--branch", str(parent), "--at_step", "0", "--save",
           str(branch), "--epochs", "2", "--device", "cpu"]
    r = run(cmd)
    assert r.returncode == 0, r.stderr
    assert (parent / "search.json").read_text() == before               # the parent is only read
    mine, theirs = json.loads((branch / "search.json").read_text()), json.loads(before)
    assert mine["parent"]["step"] == 0 and (branch / mine["parent"]["save"]).resolve() == parent.resolve()
    first = {k: v for k, v in mine["steps"][0].items() if k != "from_parent"}
    assert first == theirs["steps"][0] and mine["steps"][0]["from_parent"]
    assert mine["config"]["epochs"] == 2 and len(mine["steps"]) > 1
    assert all(len(c["curve"]) == 2 for s in mine["steps"][1:] for c in s["candidates"] if c["ended"] == "epochs")
    assert mine["initial"] == theirs["initial"] and mine["final"] is not None
    typed = SearchRecord.from_dict(mine)        # what Search held and wrote, read back to the key
    assert typed.to_dict() == mine and typed.steps[0].from_parent and typed.parent == mine["parent"]
    r = run([sys.executable, "-m", "autoshrink", "search", "--resume", str(branch)])
    assert r.returncode == 0 and "done:" in r.stdout, r.stderr
    for extra, words in ((["--nodes", "5"], "--nodes defines the search space"), (["--at_step", "9"], "--at_step 9")):
        r = run(cmd[:-4] + ["--save", str(tmp_path / "other"), *extra])
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and words in r.stderr, r.stderr
