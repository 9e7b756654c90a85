"""The small statistics of the quality report and the rank study, against hand computations."""
import itertools
import math

import pytest

from autoshrink.core.stats import DIVERGED_LOSS, argbest, kendall_tau, mean_sd, permutation_pvalue, perplexity


def test_kendall_tau_by_hand():
    # pairs of (1,2,3,4) against (1,3,2,4): 5 concordant, 1 discordant -> (5 - 1) / 6
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    assert kendall_tau([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)
    assert kendall_tau([1, 2], [5, 5]) is None


def test_kendall_tau_b_with_ties_by_hand():
    # a = (1, 1, 2), b = (1, 2, 3): pairs (0,1) tied in a only, (0,2) and (1,2) concordant
    # tau-b = (2 - 0) / sqrt((2 + 0 + 1) * (2 + 0 + 0)) = 2 / sqrt(6)
    assert kendall_tau([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / math.sqrt(6))
    assert kendall_tau([math.inf, 1, 2], [3, 1, 2]) == pytest.approx(1.0)


def test_mean_sd_leaves_out_failures():
    assert mean_sd([1.0, None, 3.0, math.inf]) == (2.0, pytest.approx(math.sqrt(2)))
    assert mean_sd([None]) == (None, None)
    assert mean_sd([5.0]) == (5.0, None)        # one value measures no spread: none, not 0


def test_argbest():
    assert argbest([1, 5, 5, None]) == 1
    assert argbest([3, None, 1], higher=False) == 2


def test_permutation_pvalue_by_hand():
    # mine (1, 2) against (3, 4): of the 6 ways to pick two of four values, only {1, 2} sums to 3 or less
    assert permutation_pvalue([1, 2], [3, 4]) == pytest.approx(1 / 6)
    # mine (2, 3) against (1, 4): splits with sum <= 5: {1,2},{1,3},{1,4},{2,3} -> 4 of 6
    assert permutation_pvalue([2, 3], [1, 4]) == pytest.approx(4 / 6)


def test_permutation_pvalue_counts_a_failure_as_worst():
    # a failed run (None) is worse than every finished one, on either side
    assert permutation_pvalue([1, None], [3, 4]) == pytest.approx(permutation_pvalue([1, 100], [3, 4]))
    assert permutation_pvalue([1, 2], [3, None]) == pytest.approx(1 / 6)


def test_permutation_pvalue_sampled_agrees_with_exact():
    mine, others = [5.0, 6.0, 7.0], [float(v) for v in range(4, 16)]
    exact = permutation_pvalue(mine, others)
    total = sum(1 for _ in itertools.combinations(range(15), 3))
    assert exact * total == pytest.approx(round(exact * total))
    assert permutation_pvalue(mine, others, exact_limit=0, draws=40000) == pytest.approx(exact, abs=0.01)


def test_perplexity_is_exp_of_the_loss_until_it_diverges():
    assert perplexity(math.log(412.5)) == pytest.approx(412.5)
    assert perplexity(29.999) == pytest.approx(math.exp(29.999))
    assert perplexity(DIVERGED_LOSS) is None and perplexity(float("nan")) is None and perplexity(None) is None
