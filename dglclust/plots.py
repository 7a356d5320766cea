"""Figures of a fit: training curves from ``history_`` and a 2-D picture of the embedding.

Used by every estimator (``model.plot_history(path)``, ``model.plot_embedding(path)``) and by
``dglclust plot RECORD.json``. Rendering is headless (matplotlib's Agg backend); files are written
atomically. The embedding is projected with scikit-learn's t-SNE (``method="tsne"``), PCA
(``"pca"``), or umap-learn's UMAP (``"umap"``, when installed). t-SNE costs O(n log n) per
iteration; above ``max_points`` nodes (default 5,000) a fixed random subset is drawn.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_history", "plot_embedding", "project_2d"]

_METRICS = ("acc", "nmi", "ari", "f1")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path, dpi):
    from .utils import atomic_write

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    fig.tight_layout()
    with atomic_write(path, "wb") as fh:  # figsize x dpi pixels exactly (no bbox cropping)
        fig.savefig(fh, format=fmt, dpi=dpi)
    return path


def plot_history(history, path, title=None, dpi=100, size=None):
    """Loss terms (left) and, when the history has them, ACC/NMI/ARI/F1 (right) per epoch.

    ``history`` is a list of per-epoch dicts (an estimator's ``history_`` or the ``history`` of a
    ``fit --out`` record; metrics as fractions or percent). Returns the written path."""
    history = [h for h in (history or []) if isinstance(h, dict) and h.get("epoch") is not None]
    if not history:
        raise ValueError("the history is empty: nothing to plot (fit with verbose history, or "
                         "check that the model logs epochs)")
    plt = _pyplot()
    losses = sorted({k for h in history for k, v in h.items()
                     if k not in _METRICS and k not in ("epoch", "seconds", "time")
                     and isinstance(v, (int, float)) and not isinstance(v, bool)})
    metrics = [m for m in _METRICS if any(h.get(m) is not None for h in history)]
    ncols = 2 if metrics else 1
    fig, axes = plt.subplots(1, ncols, figsize=size or (5.5 * ncols, 4.0), squeeze=False)
    ax = axes[0, 0]
    for k in losses:
        pts = [(h["epoch"], h[k]) for h in history if isinstance(h.get(k), (int, float))]
        if pts:
            ax.plot(*zip(*pts), label=k)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if losses and all(h.get(k, 1) is None or h.get(k, 1) > 0 for h in history for k in losses):
        ax.set_yscale("log")
    if losses:
        ax.legend(fontsize=8)
    ax.set_title("training losses")
    if metrics:
        ax = axes[0, 1]
        scale = 100.0 if max(float(h.get(m) or 0) for h in history for m in metrics) <= 1.0 else 1.0
        for m in metrics:
            pts = [(h["epoch"], scale * float(h[m])) for h in history if h.get(m) is not None]
            ax.plot(*zip(*pts), label=m.upper())
        ax.set_xlabel("epoch")
        ax.set_ylabel("percent")
        ax.set_title("metrics against the labels (not used in training)")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    try:
        return _save(fig, path, dpi)
    finally:
        plt.close(fig)


def project_2d(embedding, method="tsne", random_state=0):
    """``(n, 2)`` projection of ``embedding`` by t-SNE, PCA or UMAP."""
    z = np.asarray(embedding, dtype=np.float32)
    if z.ndim != 2 or z.shape[0] < 3:
        raise ValueError(f"embedding must be (n >= 3, d), got shape {z.shape}")
    if z.shape[1] <= 2:
        return np.pad(z, ((0, 0), (0, 2 - z.shape[1])))
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(2, random_state=random_state).fit_transform(z)
    if method == "umap":
        try:
            import umap
        except ImportError:
            raise ImportError("method='umap' needs umap-learn (pip install umap-learn); use "
                              "method='tsne' or 'pca'") from None
        return umap.UMAP(random_state=random_state).fit_transform(z)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(2.0, (z.shape[0] - 1) / 3)))
        return TSNE(2, perplexity=perplexity, init="pca", random_state=random_state).fit_transform(z)
    raise ValueError(f"method must be 'tsne', 'pca' or 'umap', got {method!r}")


def plot_embedding(embedding, labels, path, method="tsne", title=None, max_points=5000,
                   random_state=0, dpi=100, size=(6.0, 5.0)):
    """Scatter of the 2-D projection of ``embedding`` coloured by ``labels`` (clusters, or
    classes). Returns the written path; the image is ``size`` inches at ``dpi``."""
    z = np.asarray(embedding)
    lab = np.asarray(labels).reshape(-1)
    if z.shape[0] != lab.shape[0]:
        raise ValueError(f"embedding has {z.shape[0]} rows but labels has {lab.shape[0]}")
    if z.shape[0] > max_points:
        idx = np.sort(np.random.default_rng(random_state).choice(z.shape[0], max_points, replace=False))
        z, lab = z[idx], lab[idx]
    xy = project_2d(z, method, random_state)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=size)
    ax.scatter(xy[:, 0], xy[:, 1], c=lab, s=4, cmap="tab10" if np.unique(lab).size <= 10 else "tab20")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"embedding ({method.upper()}), coloured by cluster")
    try:
        return _save(fig, path, dpi)
    finally:
        plt.close(fig)
