"""Data: the dictionary and batches of docs/algorithm.md, and the two word-vector formats."""
import pickle

import numpy as np
import pytest
import torch

from autoshrink.core.data import batchify, initial_embedding, load_corpus, load_vectors
from autoshrink.core.errors import ConfigError


def test_dictionary_is_train_valid_test_in_order_of_first_appearance(tmp_path):
    (tmp_path / "train.txt").write_text(" a b a \n b c \n")
    (tmp_path / "valid.txt").write_text(" d a \n")
    (tmp_path / "test.txt").write_text(" e \n")
    c = load_corpus(tmp_path)
    assert c.words == ["a", "b", "<eos>", "c", "d", "e"]
    assert c.train.tolist() == [0, 1, 0, 2, 1, 3, 2]
    assert c.valid.tolist() == [4, 0, 2] and c.test.tolist() == [5, 2]


def test_batchify_cuts_columns_and_drops_the_rest():
    b = batchify(torch.arange(11), 3)
    assert b.shape == (3, 3)
    assert b[:, 0].tolist() == [0, 1, 2] and b[:, 2].tolist() == [6, 7, 8]


def test_pickled_dict_and_glove_text_give_the_same_embedding(tmp_path):
    vecs = {"a": np.array([1.0, 2.0, 3.0]), "c": np.array([-1.0, 0.5, 0.25])}
    with open(tmp_path / "w2v.pkl", "wb") as f:
        pickle.dump(vecs, f)
    (tmp_path / "glove.txt").write_text("a 1.0 2.0 3.0\nc -1.0 0.5 0.25\n")
    words = ["a", "b", "c"]
    e1 = initial_embedding(words, 3, 5, load_vectors(tmp_path / "w2v.pkl"))
    e2 = initial_embedding(words, 3, 5, load_vectors(tmp_path / "glove.txt"))
    assert torch.equal(e1, e2)
    assert e1[0].tolist() == [1.0, 2.0, 3.0] and e1[2].tolist() == [-1.0, 0.5, 0.25]
    assert (e1[1].abs() <= 0.5).all()
    assert torch.equal(e1[1], initial_embedding(words, 3, 5)[1])  # unknown words: U(-0.5, 0.5) from the seed


def test_vectors_of_the_wrong_size_are_a_clear_error(tmp_path):
    (tmp_path / "glove.txt").write_text("a 1.0 2.0\n")
    with pytest.raises(ConfigError, match="--emsize"):
        initial_embedding(["a"], 3, 0, load_vectors(tmp_path / "glove.txt"))
    (tmp_path / "bad.txt").write_text("a one two\n")
    with pytest.raises(ConfigError, match="GloVe"):
        load_vectors(tmp_path / "bad.txt")
