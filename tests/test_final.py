"""Final training (autoshrink.final.run): the recipe's pieces, resuming to the same numbers, the best
weights in the exported module, the DARTS cell and torch's LSTM under the same trainer, the CLI."""
import copy
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import records  # tests/records.py: hand-made search records
from autoshrink.core.cell import DARTS, SHRINK_RNN, Cell
from autoshrink.core.data import batchify, load_corpus
from autoshrink.core.disk import write_json_atomic
from autoshrink.core.errors import ConfigError
from autoshrink.core.record import load_cell
from autoshrink.export import export_cell
from autoshrink.final.config import FinalConfig
from autoshrink.final.model import LanguageModel
from autoshrink.final.run import FinalRun, evaluate, load_weights, step_lengths

ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}   # tiny models: thread start-up costs more than it saves


pytestmark = pytest.mark.usefixtures("one_thread")   # tiny models: thread start-up costs more than it saves


CELL4 = Cell.from_edges([(0, 1), (0, 2), (1, 3), (2, 3)], ("tanh", "sigmoid", "relu", "identity"))


def tiny(data, **changes):
    return FinalConfig.preset("test", data=str(data), device="cpu", **changes)


def test_step_lengths_follow_the_recipe():
    rng = np.random.default_rng(0)
    lengths = step_lengths(100_000, 35, rng)
    assert sum(lengths) == 100_000 - 1
    assert min(lengths[:-1]) >= 5 and max(lengths) <= 55
    assert abs(np.mean(lengths[:-1]) - 34.5) < 0.3      # N(35, 5) rounded down
    assert abs(np.std(lengths[:-1]) - 5) < 0.3


def test_presets_and_bad_settings():
    paper = FinalConfig.preset("published")
    assert FinalConfig.preset("paper") == paper and FinalConfig.preset("tiny") == FinalConfig.preset("test")
    assert (paper.emsize, paper.batch_size, paper.dropout, paper.dropouth, paper.dropoutx, paper.dropouti,
            paper.dropoute, paper.wdecay, paper.beta, paper.epochs) == (745, 64, 0.75, 0.25, 0.75, 0.2, 0.1, 8e-7,
                                                                         1e-3, 3000)
    with pytest.raises(ConfigError, match="is not a preset"):
        FinalConfig.preset("huge")
    with pytest.raises(ConfigError, match="--dropout must be in"):
        FinalConfig(dropout=1.0).check()
    with pytest.raises(ConfigError, match="--test_batch_size must be at least 1"):
        FinalConfig(test_batch_size=0).check()


@pytest.mark.slow
def test_resume_after_a_stop_reaches_the_same_numbers(tmp_path, tiny_data):
    cfg = tiny(tiny_data, epochs=5)
    straight = FinalRun.create(tmp_path / "straight", cfg, CELL4)
    expected = straight.run()
    phases = [r["phase"] for r in straight.history]
    assert "ASGD" in phases and phases[0] == "SGD", "the test should cover the ASGD averages"
    run, calls = FinalRun.create(tmp_path / "stopped", cfg, CELL4), [0]

    def stop():  # mid-epoch, after the switch to ASGD
        calls[0] += 1
        return len(run.history) >= phases.index("ASGD") + 1 and calls[0] % 5 == 0

    assert run.run(should_stop=stop) is None and not run.finished
    again = FinalRun.open(tmp_path / "stopped")
    got = again.run()
    assert [r["val_loss"] for r in again.history] == [r["val_loss"] for r in straight.history]
    assert [r["phase"] for r in again.history] == phases
    assert got["test_ppl"] == expected["test_ppl"] and got["valid_ppl"] == expected["valid_ppl"]
    ck = torch.load(tmp_path / "stopped" / "checkpoint.pt", weights_only=True)
    assert ck["epoch"] == 5 and ck["phase"] == "ASGD"
    assert all("ax" in s for s in ck["optimizer"]["state"].values())


def test_best_weights_run_in_the_exported_module(tmp_path, tiny_data):
    run = FinalRun.create(tmp_path / "run", tiny(tiny_data, epochs=1, precision="fp32"), DARTS)   # exact: fp32
    result = run.run()
    spec = importlib.util.spec_from_file_location("gen_darts", export_cell(DARTS, tmp_path / "x")["module"])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    net, encoder, bias = mod.load_trained(tmp_path / "run" / "best.pt")
    corpus = load_corpus(tiny_data)
    data = batchify(corpus.test, run.cfg.test_batch_size)
    with torch.no_grad():
        out, _ = net(F.embedding(data[:-1], encoder), torch.zeros(data.shape[1], encoder.shape[1]))
        loss = F.cross_entropy(out.reshape(-1, encoder.shape[1]) @ encoder.T + bias, data[1:].reshape(-1)).item()
    assert loss == pytest.approx(result["test_loss"], rel=1e-5)
    assert sorted(load_weights(tmp_path / "run" / "best.pt")) == sorted(run.model(corpus.ntokens).state_dict())


@pytest.mark.parametrize("kind", ["cell", "lstm"])
def test_fast_path_loss_is_close_to_the_plain_path(kind, tiny_data):
    """fused (chunked decoder + loss) and bf16 against fp32 with full logits and F.cross_entropy."""
    corpus = load_corpus(tiny_data)
    x = batchify(corpus.train, 4)[:13]
    gen = lambda: torch.Generator().manual_seed(3)
    plain = LanguageModel(kind, DARTS if kind == "cell" else None, corpus.ntokens, 16, 1, "fp32", False)
    masks = plain.draw_masks(gen(), 4, FinalConfig.preset("test"))
    ref, _, _ = plain.loss(x[:-1], x[1:], plain.init_hidden(4), masks)
    ref.backward()
    for precision, fuse, tol in (("fp32", True, 1e-6), ("bf16", True, 2e-2), ("bf16-decoder", False, 2e-2)):
        m = LanguageModel(kind, DARTS if kind == "cell" else None, corpus.ntokens, 16, 1, precision, fuse)
        got, _, _ = m.loss(x[:-1], x[1:], m.init_hidden(4), masks)
        got.backward()
        assert got.dtype == torch.float32 and got.item() == pytest.approx(ref.item(), rel=tol)
        for (name, a), b in zip(m.named_parameters(), plain.parameters()):
            assert torch.allclose(a.grad, b.grad, atol=max(tol, 1e-6) * b.grad.abs().max() * 5), name


def test_lstm_hidden_dropout_is_dropconnect_on_its_recurrent_matrix(tiny_data):
    corpus = load_corpus(tiny_data)
    x = batchify(corpus.train, 3)[:6]
    m = LanguageModel("lstm", None, corpus.ntokens, 8, 1)
    w = m.draw_masks(torch.Generator().manual_seed(0), 3, FinalConfig.preset("test", dropouth=0.5))["w"]
    assert w.shape == (32, 8) and (w == 0).any() and (w == 2).any()
    out, _, _ = m.hidden(x, m.init_hidden(3), {"w": w})
    ref = copy.deepcopy(m.lstm)                                   # torch's LSTM with the masked matrix
    with torch.no_grad():
        ref.weight_hh_l0.mul_(w)
    expected, _ = ref(F.embedding(x, m.encoder.weight), m.init_hidden(3))
    assert torch.allclose(out, expected, atol=1e-6)
    out.sum().backward()
    assert (m.lstm.weight_hh_l0.grad[w == 0] == 0).all() and m.lstm.weight_hh_l0.grad.abs().sum() > 0


def test_lstm_baseline_is_torchs_lstm_under_the_same_trainer(tmp_path, tiny_data):
    run = FinalRun.create(tmp_path / "lstm", tiny(tiny_data, epochs=1), model="lstm")
    result = run.run()
    H, V = run.cfg.emsize, load_corpus(tiny_data).ntokens
    assert result["params"] == V * H + V + 4 * H * (2 * H) + 8 * H
    model = run.model(V)
    model.load_state_dict(load_weights(tmp_path / "lstm" / "best.pt"))
    assert isinstance(model.lstm, torch.nn.LSTM)
    data = batchify(load_corpus(tiny_data).valid, run.cfg.eval_batch_size)
    assert evaluate(model, data, run.cfg.bptt) == pytest.approx(result["valid_loss"])


def test_load_cell_from_a_search_folder(tmp_path):
    save = tmp_path / "run"
    write_json_atomic(save / "search.json", records.best_first(tmp_path, save))   # best: step 0 of 2
    assert load_cell(save) == records.AFTER0 == load_cell(save, "step:0")
    assert load_cell(save / "search.json", "final") == records.AFTER1
    write_json_atomic(save / "search.json", records.best_first(tmp_path, save, steps=1, final=False))
    with pytest.raises(ConfigError, match="no final cell yet"):
        load_cell(save, "final")
    assert load_cell("darts") == DARTS and load_cell("ShrinkRNN") == SHRINK_RNN


def _cli(*args):
    return [sys.executable, "-m", "autoshrink", "train", *args]


@pytest.mark.slow
def test_cli_kill_9_then_resume_matches_a_straight_run(tmp_path, tiny_data):
    cell = tmp_path / "cell.json"
    cell.write_text(CELL4.to_json())
    common = ["--data", str(tiny_data), "--preset", "test", "--device", "cpu", "--epochs", "4"]
    straight = subprocess.run(_cli("--cell", str(cell), "--out", str(tmp_path / "a"), *common),
                              capture_output=True, text=True, timeout=300, env=ONE_THREAD)
    assert straight.returncode == 0, straight.stderr
    expected = json.loads(straight.stdout.strip().splitlines()[-1])
    proc = subprocess.Popen(_cli("--cell", str(cell), "--out", str(tmp_path / "b"), *common),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ONE_THREAD)
    ck = tmp_path / "b" / "checkpoint.pt"
    deadline = time.time() + 120
    while not ck.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert json.loads((tmp_path / "b" / "run.json").read_text())["result"] is None
    resumed = subprocess.run(_cli("--resume", "--out", str(tmp_path / "b")), capture_output=True, text=True,
                             timeout=300, env=ONE_THREAD)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch" in resumed.stdout
    got = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert got["test_ppl"] == expected["test_ppl"] and got["valid_ppl"] == expected["valid_ppl"]


@pytest.mark.parametrize("args, words", [
    (["--cell", "darts", "--baseline", "lstm"], ["not both"]),
    ([], ["--cell"]),
    (["--cell", "darts", "--dropout", "1.5"], ["--dropout"]),
    (["--resume"], ["no final training"]),
    (["--cell", "nowhere.json"], ["not found"]),
])
def test_cli_bad_train_input_is_one_line(args, words, tmp_path, tiny_data):
    r = subprocess.run(_cli(*args, "--out", str(tmp_path / "o"), "--data", str(tiny_data), "--preset", "test"),
                       capture_output=True, text=True, timeout=120, env=ONE_THREAD)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and all(w in r.stderr for w in words), r.stderr


def test_data_full_checks_every_digest(tmp_path, proxy_dir):
    r = subprocess.run([sys.executable, "-m", "autoshrink", "data", "--full", "--from", str(proxy_dir), "--out",
                        str(tmp_path / "ptb")], capture_output=True, text=True, timeout=120, env=ONE_THREAD)
    assert r.returncode == 2 and "is not full PTB" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "ptb").exists()
