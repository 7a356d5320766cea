"""Metrics: hand-computed values, independent cross-checks, no mutation, actionable errors."""
import itertools
import math
import re

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score

from dglclust import metrics
from dglclust.metrics import (
    accuracy,
    ari,
    contingency,
    davies_bouldin,
    evaluate,
    f1,
    match_labels,
    nmi,
)

# A known 2x2 confusion (rows: true class, cols: predicted cluster):
#            cluster 0  cluster 1
#  class 0       4          1
#  class 1       2          3
Y_TRUE_2x2 = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
Y_PRED_2x2 = [0, 0, 0, 0, 1, 0, 0, 1, 1, 1]


def _nmi_by_hand(yt, yp):
    yt, yp = np.asarray(yt), np.asarray(yp)
    n = len(yt)
    mi = 0.0
    for a in np.unique(yt):
        for b in np.unique(yp):
            nij = np.sum((yt == a) & (yp == b))
            if nij:
                mi += nij / n * math.log(n * nij / (np.sum(yt == a) * np.sum(yp == b)))

    def h(y):
        p = np.unique(y, return_counts=True)[1] / n
        return -float(np.sum(p * np.log(p)))

    return mi / ((h(yt) + h(yp)) / 2)


def _brute_force_acc(yt, yp):
    yt, yp = np.asarray(yt), np.asarray(yp)
    classes, clusters = np.unique(yt), np.unique(yp)
    best = 0
    # every injective map of clusters into classes + "unmatched" slots
    slots = list(classes) + [None] * len(clusters)
    for perm in itertools.permutations(slots, len(clusters)):
        if len({p for p in perm if p is not None}) != sum(p is not None for p in perm):
            continue
        hits = sum(np.sum((yp == c) & (yt == k)) for c, k in zip(clusters, perm) if k is not None)
        best = max(best, hits)
    return best / len(yt)


# --------------------------------------------------------------------------------------------------
# hand-computed values
# --------------------------------------------------------------------------------------------------
def test_permuted_labels_score_one():
    yt = [0, 0, 1, 1, 2, 2, 2]
    yp = [2, 2, 0, 0, 1, 1, 1]
    assert evaluate(yt, yp) == {"acc": 1.0, "nmi": pytest.approx(1.0), "ari": 1.0, "f1": 1.0}
    assert match_labels(yt, yp).tolist() == yt


def test_known_2x2_confusion():
    # matching is the identity: 4 + 3 correct out of 10
    assert accuracy(Y_TRUE_2x2, Y_PRED_2x2) == pytest.approx(0.7)
    # F1 class 0: TP=4, |pred=0|=6, |true=0|=5 -> 8/11; class 1: TP=3, 4, 5 -> 6/9
    assert f1(Y_TRUE_2x2, Y_PRED_2x2) == pytest.approx((8 / 11 + 6 / 9) / 2)
    # ARI: sum C(n_ij,2)=6+1+0+3=10, clusters 21, classes 20, C(10,2)=45
    expected_index = 21 * 20 / 45
    want = (10 - expected_index) / (20.5 - expected_index)
    assert ari(Y_TRUE_2x2, Y_PRED_2x2) == pytest.approx(want)
    assert ari(Y_TRUE_2x2, Y_PRED_2x2) == pytest.approx(4 / 67)
    assert nmi(Y_TRUE_2x2, Y_PRED_2x2) == pytest.approx(_nmi_by_hand(Y_TRUE_2x2, Y_PRED_2x2))
    # swapping the cluster ids changes nothing
    swapped = [1 - p for p in Y_PRED_2x2]
    assert evaluate(Y_TRUE_2x2, swapped) == pytest.approx(evaluate(Y_TRUE_2x2, Y_PRED_2x2))


def test_contingency_matrix():
    m, clusters, classes = contingency(Y_TRUE_2x2, Y_PRED_2x2)
    assert m.tolist() == [[4, 2], [1, 3]]
    assert clusters.tolist() == [0, 1] and classes.tolist() == [0, 1]


def test_more_clusters_than_classes():
    yt = [0, 0, 0, 1, 1, 1]
    yp = [0, 0, 1, 1, 2, 2]
    # cluster 0 -> class 0 (2 hits), cluster 2 -> class 1 (2 hits), cluster 1 unmatched
    assert accuracy(yt, yp) == pytest.approx(4 / 6)
    mapped = match_labels(yt, yp)
    assert mapped.tolist() == [0, 0, 2, 2, 1, 1]  # unmatched cluster -> fresh id max(y_true)+1
    # F1 per class: TP=2, |pred|=2, |true|=3 -> 0.8 for both; unmatched cluster adds no class
    assert f1(yt, yp) == pytest.approx(0.8)


def test_one_cluster_per_node_is_not_perfect():
    yt = [0, 0, 1, 1, 2, 2]
    yp = [0, 1, 2, 3, 4, 5]
    assert accuracy(yt, yp) == pytest.approx(3 / 6)
    assert f1(yt, yp) == pytest.approx(2 * 1 / (1 + 2))  # each class: TP=1, |pred|=1, |true|=2


def test_fewer_clusters_than_classes():
    yt = [0, 0, 1, 1, 2, 2]
    yp = [0, 0, 0, 0, 1, 1]
    assert accuracy(yt, yp) == pytest.approx(4 / 6)
    # matched merged class: 2*2/(4+2); the other merged class gets no cluster: 0; class 2: 1
    assert f1(yt, yp) == pytest.approx((4 / 6 + 0 + 1) / 3)
    mapped = match_labels(yt, yp)
    assert set(mapped.tolist()) <= {0, 1, 2}
    assert mapped[4:].tolist() == [2, 2]


def test_single_cluster():
    yt = [0, 0, 1, 1]
    assert accuracy(yt, [3, 3, 3, 3]) == pytest.approx(0.5)
    assert nmi(yt, [3, 3, 3, 3]) == pytest.approx(0.0)
    assert ari(yt, [3, 3, 3, 3]) == pytest.approx(0.0)
    assert f1(yt, [3, 3, 3, 3]) == pytest.approx((2 * 2 / (4 + 2) + 0) / 2)


def test_independent_partitions_and_negative_ari():
    yt = [0, 0, 1, 1]
    yp = [0, 1, 0, 1]
    assert nmi(yt, yp) == pytest.approx(0.0, abs=1e-12)
    # sum C(n_ij,2)=0; expected index 2*2/6; max index 2 -> (0 - 2/3) / (2 - 2/3) = -0.5
    assert ari(yt, yp) == pytest.approx(-0.5)
    assert accuracy(yt, yp) == pytest.approx(0.5)


def test_arbitrary_label_values():
    yt = [1, 1, 2, 2, 6, 6]  # like cite_label.txt (1-based)
    yp = [7, 7, -1, -1, 0, 0]  # e.g. -1 as a cluster id
    assert evaluate(yt, yp)["acc"] == 1.0
    assert match_labels(yt, yp).tolist() == yt
    assert match_labels(yt, [7, 7, -1, -1, 0, 3]).tolist() == [1, 1, 2, 2, 6, 7]


@pytest.mark.parametrize("seed", range(6))
def test_accuracy_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_classes, n_clusters = [(3, 3), (3, 4), (4, 2), (2, 5), (4, 4), (1, 3)][seed]
    yt = rng.integers(0, n_classes, size=40)
    yp = rng.integers(0, n_clusters, size=40)
    assert accuracy(yt, yp) == pytest.approx(_brute_force_acc(yt, yp))


@pytest.mark.parametrize("seed", range(4))
def test_f1_and_nmi_cross_checked(seed):
    rng = np.random.default_rng(100 + seed)
    yt = rng.integers(0, 4, size=60)
    yp = np.where(rng.random(60) < 0.6, (yt + 1) % 4, rng.integers(0, 5, size=60))
    mapped = match_labels(yt, yp)
    want = f1_score(yt, mapped, labels=np.unique(yt), average="macro", zero_division=0)
    assert f1(yt, yp) == pytest.approx(want)
    assert nmi(yt, yp) == pytest.approx(_nmi_by_hand(yt, yp))
    # ACC is the fraction of nodes whose mapped label is right
    assert accuracy(yt, yp) == pytest.approx(np.mean(mapped == yt))
    res = evaluate(yt, yp)
    assert set(res) == {"acc", "nmi", "ari", "f1"}
    assert all(type(v) is float for v in res.values())
    assert res == pytest.approx({"acc": accuracy(yt, yp), "nmi": nmi(yt, yp),
                                 "ari": ari(yt, yp), "f1": f1(yt, yp)})


# --------------------------------------------------------------------------------------------------
# input types and no mutation
# --------------------------------------------------------------------------------------------------
def test_accepts_lists_numpy_tensors_and_integral_floats():
    want = evaluate(Y_TRUE_2x2, Y_PRED_2x2)
    assert evaluate(np.array(Y_TRUE_2x2, dtype=np.int32), np.array(Y_PRED_2x2)) == want
    assert evaluate(torch.tensor(Y_TRUE_2x2), torch.tensor(Y_PRED_2x2)) == want
    assert evaluate(torch.tensor(Y_TRUE_2x2, dtype=torch.float32), tuple(Y_PRED_2x2)) == want
    assert evaluate(np.array(Y_TRUE_2x2)[:, None], Y_PRED_2x2) == want  # (n, 1) column
    assert evaluate([True, True, False], [1, 1, 0])["acc"] == 1.0


@pytest.mark.parametrize(
    "fn", [accuracy, nmi, ari, f1, evaluate, match_labels, contingency]
)
def test_inputs_not_mutated(fn):
    yt_np = np.array([2, 2, 0, 0, 1, 1, 1])
    yp_np = np.array([5, 5, 3, 3, 3, 9, 9])
    yt_t = torch.tensor(yt_np)
    yp_t = torch.tensor(yp_np)
    yt_l, yp_l = yt_np.tolist(), yp_np.tolist()
    copies = [a.copy() for a in (yt_np, yp_np)]
    fn(yt_np, yp_np)
    fn(yt_t, yp_t)
    fn(yt_l, yp_l)
    assert np.array_equal(yt_np, copies[0]) and np.array_equal(yp_np, copies[1])
    assert torch.equal(yt_t, torch.tensor(copies[0])) and torch.equal(yp_t, torch.tensor(copies[1]))
    assert yt_l == copies[0].tolist() and yp_l == copies[1].tolist()


def test_match_labels_returns_new_array():
    yp = np.array([1, 1, 0, 0])
    out = match_labels(np.array([1, 1, 0, 0]), yp)
    assert out.dtype == np.int64
    assert not np.shares_memory(out, yp)
    out[:] = 99
    assert yp.tolist() == [1, 1, 0, 0]


def test_davies_bouldin_by_hand_and_no_mutation():
    emb = np.array([[0.0], [2.0], [10.0], [12.0]])
    labels = np.array([0, 0, 1, 1])
    before = emb.copy()
    # scatter s = mean distance to centroid = 1 in both; centroid distance 10 -> (1 + 1) / 10
    assert davies_bouldin(emb, labels) == pytest.approx(0.2)
    assert davies_bouldin(torch.tensor(emb, dtype=torch.float32), torch.tensor(labels)) == (
        pytest.approx(0.2)
    )
    assert davies_bouldin(emb[:, 0], labels.tolist()) == pytest.approx(0.2)
    assert np.array_equal(emb, before)


# --------------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------------
def test_error_lengths_differ():
    with pytest.raises(
        ValueError, match=re.escape("y_true and y_pred have different lengths (3 vs 2)")
    ):
        evaluate([0, 1, 1], [0, 1])


@pytest.mark.parametrize("fn", [accuracy, nmi, ari, f1, evaluate, match_labels])
def test_error_empty(fn):
    with pytest.raises(ValueError, match=re.escape("y_true is empty; pass at least one label")):
        fn([], [])
    with pytest.raises(ValueError, match=re.escape("y_pred is empty; pass at least one label")):
        fn([1], np.array([], dtype=np.int64))


def test_error_non_integer_labels():
    with pytest.raises(
        ValueError,
        match=re.escape("y_pred must contain integer labels, got non-integer value 0.5 at index 1"),
    ):
        accuracy([0, 1], [1.0, 0.5])
    with pytest.raises(ValueError, match=re.escape("non-integer value nan at index 0")):
        accuracy([np.nan, 1.0], [1, 0])
    with pytest.raises(
        ValueError, match=re.escape("y_true must contain integer labels, got dtype <U1")
    ):
        accuracy(["a", "b"], [0, 1])
    with pytest.raises(ValueError, match=re.escape("np.unique(y_true, return_inverse=True)[1]")):
        f1(["a", "b"], [0, 1])


def test_error_soft_assignments_instead_of_labels():
    q = np.full((4, 3), 1 / 3)
    with pytest.raises(
        ValueError,
        match=re.escape("y_pred must be 1-D, got shape (4, 3); for soft assignments or one-hot "
                        "labels pass the hard labels, e.g. y_pred.argmax(1)"),
    ):
        evaluate([0, 1, 2, 0], q)


def test_davies_bouldin_errors():
    emb = np.array([[0.0, 1.0], [np.nan, 1.0], [3.0, 1.0], [4.0, np.inf]])
    with pytest.raises(
        ValueError,
        match=re.escape("embedding contains NaN or inf in 2 of 4 rows (first: row 1); the model "
                        "likely diverged"),
    ):
        davies_bouldin(emb, [0, 0, 1, 1])
    with pytest.raises(ValueError, match=re.escape("needs between 2 and n_nodes - 1 = 3 distinct "
                                                   "labels, got 1")):
        davies_bouldin(np.zeros((4, 2)), [0, 0, 0, 0])
    with pytest.raises(ValueError, match=re.escape("embedding and labels have different lengths "
                                                   "(4 vs 3)")):
        davies_bouldin(np.zeros((4, 2)), [0, 1, 1])
    with pytest.raises(ValueError, match=re.escape("embedding must be 2-D (n_nodes x n_dims), got "
                                                   "shape (2, 2, 2)")):
        davies_bouldin(np.zeros((2, 2, 2)), [0, 1])


def test_public_names():
    assert set(metrics.__all__) >= {"accuracy", "nmi", "ari", "f1", "evaluate", "davies_bouldin",
                                    "match_labels"}
