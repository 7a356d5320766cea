"""Attributed degree-corrected planted partitions: benchmark graphs of any size, no download.

:func:`planted_partition` draws a graph whose ground truth is known and whose two signals, the
edges and the features, can each be made as informative as wanted:

* **communities**: ``k`` balanced blocks (node ``i`` in block ``labels[i]``, sizes differ by at
  most one), in a random node order;
* **degrees**: each node has a weight ``theta_i`` drawn from a power law (Pareto, density
  ``~ theta^-degree_exponent``, capped at ``max_degree_ratio`` times the mean), scaled to mean 1;
  its expected degree is ``avg_degree * theta_i`` (degree-corrected SBM, Karrer & Newman 2011);
* **edges**: ``n * avg_degree / 2`` endpoint pairs; the first endpoint is drawn ``~ theta``, the
  second ``~ theta`` inside the same block with probability ``1 - mixing``, else inside one of
  the ``k - 1`` other blocks chosen uniformly; so ``mixing`` is the expected fraction of edges
  between blocks (LFR's mixing parameter). Duplicates and self-loops are dropped and the graph is
  symmetrized (the library's graph convention), so the realized average degree is a little lower;
* **features**: a Gaussian mixture in ``d`` dimensions: block ``c`` has a mean ``mu_c`` of norm
  ``feature_snr`` in a random direction, and ``x_i = mu_{labels_i} + N(0, I_d)``. ``feature_snr``
  is the distance of a block mean from the origin in units of the noise's standard deviation.

Everything is vectorized: O(n d + E log n) time and O(n d + E) memory, deterministic for a given
``seed`` (numpy's PCG64 stream, independent of the number of threads).

Registered datasets (``load_dataset("sbm-1m")``), generated on first use and cached like the other
datasets: ``sbm-10k``, ``sbm-100k``, ``sbm-300k``, ``sbm-1m``, ``sbm-10m``: ``k = 10`` blocks,
average degree 20, ``d = 128`` features, ``mixing = 0.5``, ``feature_snr = 1.5``, degree exponent
2.5, seed 0 (options of :func:`planted_partition` may be passed to ``load_dataset`` to change them).
Peak memory of the generation is about ``n (4 d + 200)`` bytes plus the graph (``sbm-1m``: ~1.5
GB; ``sbm-10m``: ~15 GB).
"""
from __future__ import annotations

import numpy as np

from .base import ClusteringDataset
from .registry import register_dataset

__all__ = ["planted_partition", "PlantedPartition", "SBM_PRESETS"]

#: the registered sizes; the remaining settings are :data:`SBM_DEFAULTS`
SBM_PRESETS = {"sbm-10k": 10_000, "sbm-100k": 100_000, "sbm-300k": 300_000, "sbm-1m": 1_000_000,
               "sbm-10m": 10_000_000}
SBM_DEFAULTS = {"k": 10, "avg_degree": 20.0, "d": 128, "mixing": 0.5, "feature_snr": 1.5,
                "degree_exponent": 2.5, "max_degree_ratio": 50.0, "seed": 0}


def _check(n, k, avg_degree, d, mixing, feature_snr, degree_exponent, max_degree_ratio):
    def bad(msg):
        raise ValueError(f"planted_partition: {msg}")

    for name, v in (("n", n), ("k", k), ("d", d)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            bad(f"{name} must be an int, got {v!r}")
    if n < 2:
        bad(f"n must be >= 2 nodes, got {n}")
    if not 2 <= k <= n:
        bad(f"k must be between 2 and n ({n}), got {k}")
    if d < 1:
        bad(f"d (feature dimension) must be >= 1, got {d}")
    if not 0 <= avg_degree < n:
        bad(f"avg_degree must be in [0, n), got {avg_degree}")
    if not 0.0 <= mixing <= 1.0:
        bad(f"mixing (fraction of edges between blocks) must be in [0, 1], got {mixing}")
    if not feature_snr >= 0:
        bad(f"feature_snr must be >= 0, got {feature_snr}")
    if not degree_exponent > 2.0:
        bad(f"degree_exponent must be > 2 (a power law with a finite mean degree), got "
            f"{degree_exponent}")
    if not max_degree_ratio >= 1.0:
        bad(f"max_degree_ratio must be >= 1, got {max_degree_ratio}")


def planted_partition(n: int, k: int = 10, avg_degree: float = 20.0, d: int = 128, *,
                      mixing: float = 0.5, feature_snr: float = 1.5, degree_exponent: float = 2.5,
                      max_degree_ratio: float = 50.0, seed: int = 0) -> dict:
    """Draw an attributed degree-corrected planted partition (see the module docstring).

    Args:
        n: nodes; k: blocks (balanced); avg_degree: expected average degree before duplicates are
            dropped; d: feature dimension.
        mixing: expected fraction of edges between blocks (0: disjoint blocks; ``1 - 1/k``: the
            edges carry no block information).
        feature_snr: norm of each block's feature mean, in noise standard deviations (0: the
            features carry no block information).
        degree_exponent: power-law exponent of the degree weights (> 2); max_degree_ratio: cap of
            a weight relative to the mean.
        seed: the random seed (the result is a function of the arguments).

    Returns:
        ``{"features": (n, d) float32, "labels": (n,) int64, "edges": (src, dst) int64 arrays}``
        with each undirected edge once (``src < dst``, not yet symmetrized), and ``"num_classes"``.

    Example:
        >>> from dglclust.data import planted_partition, from_arrays
        >>> out = planted_partition(2000, k=4, avg_degree=10, d=16, seed=0)
        >>> g = from_arrays(out["features"], edges=out["edges"], labels=out["labels"])
    """
    _check(n, k, avg_degree, d, mixing, feature_snr, degree_exponent, max_degree_ratio)
    n, k, d = int(n), int(k), int(d)
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n, dtype=np.int64) % k)

    # degree weights: Pareto(alpha = exponent - 1) on [1, inf), capped, mean 1
    u = rng.random(n)
    theta = (1.0 - u) ** (-1.0 / (degree_exponent - 1.0))
    del u
    theta /= theta.mean()
    np.minimum(theta, max_degree_ratio, out=theta)
    theta /= theta.mean()

    # cumulative weights of the nodes sorted by block: a block's nodes are a contiguous range
    order = np.argsort(labels, kind="stable")
    cum = np.cumsum(theta[order])
    del theta
    sizes = np.bincount(labels, minlength=k)
    ends = np.cumsum(sizes)
    lo = np.concatenate([[0.0], cum[ends[:-1] - 1]])  # cumulative weight before each block
    hi = cum[ends - 1]

    def draw_in(blocks):
        """One node per entry of ``blocks``, ~ theta inside that block."""
        r = lo[blocks] + rng.random(blocks.shape[0]) * (hi[blocks] - lo[blocks])
        pos = np.searchsorted(cum, r, side="right")
        # float rounding at a block's upper end: stay inside the block
        np.minimum(pos, ends[blocks] - 1, out=pos)
        return order[pos]

    m = int(round(n * float(avg_degree) / 2.0))
    src = order[np.minimum(np.searchsorted(cum, rng.random(m) * cum[-1], side="right"), n - 1)]
    blocks = labels[src]
    across = rng.random(m) < mixing
    # another block, uniformly among the k - 1 others
    shift = rng.integers(1, k, size=int(across.sum()))
    blocks[across] = (blocks[across] + shift) % k
    del shift, across
    dst = draw_in(blocks)
    del blocks, cum, order
    keep = src != dst
    src, dst = src[keep], dst[keep]
    a, b = np.minimum(src, dst), np.maximum(src, dst)
    del src, dst, keep
    key = np.unique(a * np.int64(n) + b)
    del a, b
    src, dst = key // n, key % n
    del key

    # features: block means of norm feature_snr in random directions, unit Gaussian noise
    means = rng.standard_normal((k, d))
    means *= float(feature_snr) / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    means = means.astype(np.float32)
    feats = np.empty((n, d), dtype=np.float32)
    step = max(1, (64 << 20) // (4 * d))  # 64 MB of noise at a time
    for s in range(0, n, step):
        e = min(n, s + step)
        rng.standard_normal((e - s, d), dtype=np.float32, out=feats[s:e])
        feats[s:e] += means[labels[s:e]]
    return {"features": feats, "labels": labels, "edges": (src, dst), "num_classes": k}


class PlantedPartition(ClusteringDataset):
    """A registered planted partition (``sbm-*``): generated by :func:`planted_partition` from its
    options on first use, then read from the processed cache."""

    version = 1
    _n = 0

    def __init__(self, data_dir=None, force_reload=False, verbose=False, transform=None,
                 mmap_features=False, **options):
        unknown = sorted(set(options) - set(SBM_DEFAULTS))
        if unknown:
            raise TypeError(f"{self.name_}: unknown option(s) {unknown}; valid ones: "
                            f"{sorted(SBM_DEFAULTS)}")
        opts = {**SBM_DEFAULTS, **options, "n": self._n}
        _check(opts["n"], opts["k"], opts["avg_degree"], opts["d"], opts["mixing"],
               opts["feature_snr"], opts["degree_exponent"], opts["max_degree_ratio"])
        super().__init__(data_dir, opts, force_reload, verbose, transform, mmap_features)

    def build(self, paths):
        o = dict(self.options)
        return planted_partition(o.pop("n"), o.pop("k"), o.pop("avg_degree"), o.pop("d"), **o)


def _register(name, n):
    cls = type(f"PlantedPartition_{name.replace('-', '_')}", (PlantedPartition,),
               {"name_": name, "_n": n, "__doc__": f"``{name}``: a planted partition with {n:,} "
                "nodes (:func:`dglclust.data.planted_partition`, default settings)."})
    register_dataset(name, nodes=n, features=SBM_DEFAULTS["d"], classes=SBM_DEFAULTS["k"],
                     source="generated (dglclust.data.planted_partition, seed 0)",
                     description=(f"attributed degree-corrected planted partition, {n:,} nodes, "
                                  "10 blocks, avg degree 20, mixing 0.5, 128-d features"))(cls)
    return cls


for _name, _n in SBM_PRESETS.items():
    _register(_name, _n)
