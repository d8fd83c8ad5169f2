"""Minimal inputs on which the oracle was once wrong or raised, checked against the truth worked
out by hand (never against the oracle itself)."""

from __future__ import annotations

import numpy as np
import pytest

from reference import shape as S


def test_take_along_axis_vjp_counts_negative_indices_from_the_end() -> None:
    # x = [1, 2, 3], indices = [-1]: z = [3], so dz = [1] lands on x[2]; the oracle once gave [0, 0, 0]
    g = S.take_along_axis_vjp(np.array([1.0, 2.0, 3.0]), np.array([-1]), np.array([1.0]), axis=0)["x"]
    assert g.value.tolist() == [0.0, 0.0, 1.0]
    assert g.magnitude.tolist() == [0.0, 0.0, 1.0]


def test_gather_vjp_scatters_negative_and_repeated_indices() -> None:
    # take(x, [-1, 0, 2], axis 1) on a (2, 3) x: columns 2, 0 and 2 again
    x = np.zeros((2, 3))
    dz = np.array([[1.0, 2.0, 4.0], [8.0, 16.0, 32.0]])
    g = S.gather_vjp(x, np.array([-1, 0, 2]), dz, axis=1)["x"]
    assert g.value.tolist() == [[2.0, 0.0, 5.0], [16.0, 0.0, 40.0]]
    assert g.terms == 2  # column 2 receives two contributions
    assert np.array_equal(S.gather(np.arange(6.0).reshape(2, 3), np.array([-1]), 1), [[2.0], [5.0]])


def test_out_of_range_indices_are_refused_with_the_range() -> None:
    with pytest.raises(IndexError, match="axis of length 3"):
        S.gather_vjp(np.zeros(3), np.array([3]), np.ones(1), axis=0)
    with pytest.raises(IndexError, match="axis of length 3"):
        S.take_along_axis_vjp(np.zeros(3), np.array([-4]), np.ones(1), axis=0)
