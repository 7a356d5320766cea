"""GFDC estimator: image clustering guided by a labeled source dataset (see
:mod:`dglclust.models.gfdc` for the network and the losses)."""
from __future__ import annotations

import sys
import time

import numpy as np
import torch

from ..models.gfdc import (
    GFDCNet,
    check_images,
    cluster_loss,
    global_loss,
    local_loss,
    local_weight,
    random_rotation,
)
from ..ops import target_distribution
from ..train import resolve_device
from ..utils import torch_rng_scope
from .base import BaseClusterer

__all__ = ["GFDC", "prepare_source"]


def _labels_array(y, n, name):
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"{name} must hold one label per image ({n}), got shape {y.shape}")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{name} contain NaN or inf; every image needs a label")
    return y


def _match_channels(x, channels, name):
    c = x.shape[1]
    if c == channels:
        return x
    if c == 1:
        return x.expand(-1, channels, -1, -1).contiguous()
    if channels == 1:
        return x.mean(1, keepdim=True)
    raise ValueError(f"{name} have {c} channels but the target images {channels}; convert them "
                     "(GFDC converts only between 1 channel and any other count)")


def prepare_source(source, target_shape, data_dir=None, min_size=16):
    """Resolve ``source`` (a dataset name for :func:`dglclust.data.load_images`, or an ``(images,
    labels)`` pair) to ``(images, labels 0..K-1 int64, K)`` with the target's channel count (1 <-> C
    by repetition / averaging) and height x width (bilinear, anti-aliased when shrinking)."""
    from ..data.images import load_images, resize_images

    if isinstance(source, str):
        xs, ys = load_images(source, data_dir=data_dir, min_size=min_size)
    elif isinstance(source, (tuple, list)) and len(source) == 2:
        xs, ys = source
    else:
        raise TypeError("source must be a dataset name (e.g. 'mnist-10k', see "
                        "dglclust.data.image_datasets()) or an (images, labels) pair, got "
                        f"{type(source).__name__}")
    xs = check_images(xs, "source images", min_size=1)
    ys = _labels_array(ys, xs.shape[0], "source labels")
    classes, ys = np.unique(ys, return_inverse=True)
    if classes.size < 2:
        raise ValueError(f"the source has {classes.size} class; GFDC needs at least 2")
    xs = _match_channels(xs, int(target_shape[0]), "source images")
    xs = resize_images(xs, tuple(int(s) for s in target_shape[1:]))
    return xs.contiguous(), torch.as_tensor(ys.reshape(-1), dtype=torch.int64), int(classes.size)


class GFDC(BaseClusterer):
    r"""GFDC (Chen et al. 2022): deep clustering of images with a VGG11 feature extractor and a
    2-layer GCN clusterer on per-batch similarity graphs, guided by a labeled source dataset whose
    classes are the target's clusters.

    Each step takes ``batch_size`` (240) unlabeled target images, their random rotations and
    ``source_batch_size`` (60) labeled source images, and minimizes
    :math:`L = L_{cls} + \lambda_1 L_{global} + \lambda_2 \gamma_e L_{local}` with Adam (lr 1e-4,
    x0.1 every 50 epochs); see :mod:`dglclust.models.gfdc` for the definitions. Cluster ``k`` is
    tied to source class ``k`` by the cross-entropy and the local (centroid) loss, so the source
    must have exactly ``n_clusters`` classes. With ``guided=False`` (ablation) the source is not
    used and :math:`L = L_{cls}`.

    Parameters (besides those of every estimator): ``source`` (dataset name of
    :func:`dglclust.data.load_images`, or an ``(images, labels)`` pair; resized to the target's
    size and channel count), ``guided`` and the hyperparameters of ``configs/gfdc.yaml``
    (``width``, ``threshold``, ``batch_size``, ``epochs``, ...).

    ``fit(X, y=None)``: ``X`` is a float ``(N, C, H, W)`` tensor/array of images of at least 16x16
    pixels in a fixed range (e.g. ``[0, 1]``), or a dataset name (then ``y`` defaults to its
    labels). ``y`` (optional) is **only** used to log metrics in ``history_``. Labels are predicted
    in batches of ``batch_size`` target images (in a fixed order drawn from ``random_state``), each
    with its own graph, as in training.

    Fitted attributes: ``labels_``, ``soft_assignments_`` (Q), ``embedding_`` (Z = f(x)),
    ``dbi_`` (Davies-Bouldin index of ``embedding_`` under ``labels_``), ``history_`` (per epoch:
    losses, mean edges per batch graph, seconds, and metrics when ``y`` is given), ``fit_time_``,
    ``epoch_time_`` (mean seconds per epoch), ``module_``, ``n_clusters_``, ``device_``.

    Example:
        >>> from dglclust.cluster import GFDC
        >>> from dglclust.data import load_images
        >>> x, y = load_images("usps")
        >>> model = GFDC(10, source="digits", width=0.125, epochs=1, random_state=0,
        ...              verbose=False).fit(x[:500], y[:500])
        >>> model.labels_.shape
        (500,)
    """

    name = "gfdc"
    #: the CLI loads ``--dataset`` with :func:`dglclust.data.load_images` for this estimator
    input_kind = "images"

    def __repr__(self):
        params = self.get_params()
        src = params.get("source")
        if src is not None and not isinstance(src, str):
            params["source"] = "<(images, labels)>"
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in params.items()) + ")"

    # ---- input handling ------------------------------------------------------------------------
    def _target(self, X, y, params, data_dir):
        if hasattr(X, "ndata") and hasattr(X, "num_nodes"):
            raise TypeError("GFDC clusters images: pass an (N, C, H, W) tensor or an image dataset "
                            "name (dglclust.data.load_images), not a DGLGraph")
        if isinstance(X, str):
            from ..data.images import load_images

            X, y_loaded = load_images(X, data_dir=data_dir, min_size=int(params["min_size"]))
            y = y_loaded if y is None else y
        x = check_images(X, "images")
        if y is not None:
            y = _labels_array(y, x.shape[0], "y").astype(np.int64)
        return x, y

    def _check_classes(self, k_source, y):
        k = self.n_clusters
        if k is not None and not isinstance(k, bool) and isinstance(k, (int, np.integer)) \
                and int(k) != k_source:
            raise ValueError(
                f"source/target class-count mismatch: the source has {k_source} classes but "
                f"n_clusters={int(k)}. GFDC ties cluster k to source class k, so the source must "
                f"have exactly n_clusters classes: pass n_clusters={k_source} or a source with "
                f"{int(k)} classes")
        if k is None and y is not None:
            k_target = int(np.unique(y).size)
            if k_target != k_source:
                raise ValueError(
                    f"source/target class-count mismatch: the source has {k_source} classes but "
                    f"the target labels y have {k_target}. GFDC ties cluster k to source class k; "
                    "use a source with the target's classes (or pass n_clusters explicitly if y "
                    "does not cover every class)")

    # ---- fitting -------------------------------------------------------------------------------
    def fit(self, X, y=None, data_dir=None):
        """Cluster the images ``X`` (see the class docstring); returns ``self``."""
        params = self.params_
        x, y = self._target(X, y, params, data_dir)
        guided = bool(params["guided"])
        src = params["source"]
        if guided:
            if src is None:
                raise ValueError("GFDC(guided=True) needs a labeled source: pass source='<dataset>' "
                                 "(e.g. 'mnist-10k') or source=(images, labels); or guided=False "
                                 "for the unguided ablation")
            xs, ys, k_src = prepare_source(src, tuple(x.shape[1:]), data_dir,
                                           int(params["min_size"]))
            self._check_classes(k_src, y)
            k = k_src if self.n_clusters is None else self.n_clusters
        else:
            xs = ys = None
            k = self.n_clusters
        if k is None:
            if y is None:
                raise ValueError("n_clusters is required when neither a source nor labels y are "
                                 "given")
            k = int(np.unique(y).size)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"n_clusters must be an int, got {k!r}")
        if not 2 <= int(k) <= x.shape[0]:
            raise ValueError(f"n_clusters={k} must be between 2 and the number of images "
                             f"({x.shape[0]})")
        self.n_clusters_ = int(k)
        self.device_ = resolve_device(self.device)
        seed = self._seed()
        self.seed_ = seed
        t0 = time.perf_counter()
        with torch_rng_scope(seed):
            self._fit_images(x, y, xs, ys, params, seed)
        self.fit_time_ = time.perf_counter() - t0
        return self

    def _fit_images(self, x, y, xs, ys, params, seed):
        dev = self.device_
        k = self.n_clusters_
        guided = xs is not None
        gen = torch.Generator().manual_seed(seed)
        module = GFDCNet(x.shape[1], k, float(params["width"]), params["embed_dim"],
                         int(params["gcn_hidden"]), bool(params["batch_norm"]),
                         float(params["threshold"]), bool(params["l2_normalize"]),
                         bool(params["edge_grad"])).to(dev)
        self.module_ = module
        x = x.to(dev)
        if guided:
            xs, ys = xs.to(dev), ys.to(dev)
        epochs, bs, bs_l = int(params["epochs"]), int(params["batch_size"]), \
            int(params["source_batch_size"])
        if epochs < 1 or bs < 2 or (guided and bs_l < 1):
            raise ValueError(f"epochs must be >= 1, batch_size >= 2 and source_batch_size >= 1; "
                             f"got {epochs}, {bs}, {bs_l}")
        lam1, lam2 = float(params["lambda_global"]), float(params["lambda_local"])
        rot, eval_every = float(params["max_rotation"]), max(1, int(params["eval_every"]))
        opt = torch.optim.Adam(module.parameters(), lr=float(params["lr"]))
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, int(params["lr_step"])),
                                                gamma=float(params["lr_gamma"]))
        n = x.shape[0]
        self.warmup_history_ = []
        self.warmup_time_ = 0.0
        if guided and int(params["warmup_steps"]) > 0:
            self._warmup(module, xs, ys, params, gen)
        self._predict_perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed + 1))
        src_perm, src_pos = None, 0
        self.history_ = []
        epoch_times = []
        for epoch in range(1, epochs + 1):
            t_ep = time.perf_counter()
            module.train()
            gamma = local_weight(epoch, epochs) if params["local_schedule"] else 1.0
            sums, steps = {}, 0
            perm = torch.randperm(n, generator=gen)
            for start in range(0, n, bs):
                idx = perm[start:start + bs]
                if idx.numel() < 2:  # a 1-image remainder: no batch statistics, no graph
                    continue
                xu = x[idx.to(dev)]
                xa = random_rotation(xu, rot, gen)
                n1 = xu.shape[0]
                if guided:
                    if src_perm is None or src_pos + bs_l > src_perm.numel():
                        src_perm, src_pos = torch.randperm(xs.shape[0], generator=gen), 0
                    sidx = src_perm[src_pos:src_pos + bs_l].to(dev)
                    src_pos += bs_l
                    xl, yl = xs[sidx], ys[sidx]
                    z = module.embed(torch.cat([xu, xa, xl]))
                    z_u, z_a, z_l = z[:n1], z[n1:2 * n1], z[2 * n1:]
                    logits, g1 = module.assign(torch.cat([z_u, z_l]))
                    logits_u, logits_l = logits[:n1], logits[n1:]
                    logits_a, g2 = module.assign(torch.cat([z_a, z_l]))
                    logits_a = logits_a[:n1]
                else:
                    z = module.embed(torch.cat([xu, xa]))
                    z_u, z_a = z[:n1], z[n1:]
                    logits_u, g1 = module.assign(z_u)
                    logits_a, g2 = module.assign(z_a)
                q = torch.softmax(logits_u.float(), 1)
                p = target_distribution(torch.softmax(logits_a.float(), 1))
                l_cls, kl, mse = cluster_loss(q, p, z_u, z_a)
                loss = l_cls
                parts = {"l_cls": l_cls.detach(), "kl": kl, "mse": mse}
                if guided:
                    l_glob, ce, gap = global_loss(logits_l, yl, z_u, z_l)
                    l_loc = local_loss(z_u.float(), q.detach().argmax(1), z_l.float(), yl, k)
                    loss = loss + lam1 * l_glob + lam2 * gamma * l_loc
                    parts.update(l_global=l_glob.detach(), ce=ce, gap=gap, l_local=l_loc.detach())
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"GFDC loss became {float(loss)} at epoch {epoch}; lower lr or check the "
                        "images")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                parts["loss"] = loss.detach()
                parts["edges"] = torch.tensor(float(g1.num_edges() + g2.num_edges()) / 2.0)
                for key, v in parts.items():
                    sums[key] = sums.get(key, 0.0) + float(v)
                steps += 1
            sched.step()
            row = {"epoch": epoch, **{key: v / max(1, steps) for key, v in sums.items()},
                   "gamma": gamma, "lr": opt.param_groups[0]["lr"]}
            epoch_times.append(time.perf_counter() - t_ep)
            row["seconds"] = epoch_times[-1]
            if y is not None and (epoch % eval_every == 0 or epoch == epochs):
                row.update(self._scores(x, y, params))
            self.history_.append(row)
            if self.verbose:
                msg = " ".join(f"{key}={row[key]:.4g}" for key in ("loss", "l_cls", "l_global",
                                                                    "l_local", "edges", "acc", "nmi")
                               if key in row)
                print(f"[GFDC] epoch {epoch}/{epochs} {msg} ({row['seconds']:.1f} s)",
                      file=sys.stderr, flush=True)
        self.epoch_time_ = float(np.mean(epoch_times))
        z, q = self._infer(x, params)
        self.embedding_ = z.cpu().numpy()
        self.soft_assignments_ = q.cpu().numpy()
        self.labels_ = self.soft_assignments_.argmax(1).astype(np.int64)
        self.dbi_ = _dbi(self.embedding_, self.labels_)
        self.n_iter_ = epochs

    def _warmup(self, module, xs, ys, params, gen):
        """Supervised warm-up on the labeled source (ours, ``warmup_steps``): f and g are trained
        with the cross-entropy alone on batches of ``batch_size + source_batch_size`` source
        images, without graph edges (the GCN then acts on each image alone: at initialization the
        pooled ReLU features are so alike that the batch graph is nearly complete and smooths all
        outputs together). It stands in for the "mature" (pretrained) VGG11 of the paper, whose
        weights we do not use; without it the view-consistency MSE collapses the features of a
        randomly initialized network before the source labels shape them."""
        opt = torch.optim.Adam(module.parameters(), lr=float(params["warmup_lr"]))
        bs = min(int(params["batch_size"]) + int(params["source_batch_size"]), xs.shape[0])
        steps, log_every = int(params["warmup_steps"]), max(1, int(params["warmup_steps"]) // 5)
        module.train()
        perm, pos, total, t0 = None, 0, 0.0, time.perf_counter()
        for step in range(1, steps + 1):
            if perm is None or pos + bs > perm.numel():
                perm, pos = torch.randperm(xs.shape[0], generator=gen), 0
            idx = perm[pos:pos + bs].to(xs.device)
            pos += bs
            logits, _ = module.assign(module.embed(xs[idx]), graph=False)
            loss = torch.nn.functional.cross_entropy(logits.float(), ys[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach())
            if step % log_every == 0 or step == steps:
                row = {"step": step, "ce": total / (step - (self.warmup_history_[-1]["step"]
                                                            if self.warmup_history_ else 0)),
                       "seconds": time.perf_counter() - t0}
                self.warmup_history_.append(row)
                total = 0.0
                if self.verbose:
                    print(f"[GFDC] warm-up step {step}/{steps} ce={row['ce']:.4g} "
                          f"({row['seconds']:.1f} s)", file=sys.stderr, flush=True)
        self.warmup_time_ = time.perf_counter() - t0

    def _scores(self, x, y, params):
        from ..metrics import evaluate

        z, q = self._infer(x, params)
        pred = q.argmax(1).cpu().numpy()
        out = evaluate(y, pred)
        out["dbi"] = _dbi(z.cpu().numpy(), pred)
        return out

    @torch.no_grad()
    def _infer(self, x, params, perm=None):
        """``(Z, Q)`` of all images: batches of ``batch_size`` in the order ``perm`` (default: the
        fixed prediction order), one graph per batch, the network in eval mode."""
        module = self.module_
        was_training = module.training
        module.eval()
        n, bs = x.shape[0], int(params["batch_size"])
        perm = self._predict_perm if perm is None else perm
        zs = torch.empty(n, module.features.out_dim, device=x.device)
        qs = torch.empty(n, module.n_clusters, device=x.device)
        for start in range(0, n, bs):
            idx = perm[start:start + bs].to(x.device)
            z = module.embed(x[idx])
            logits, _ = module.assign(z)
            zs[idx] = z.float()
            qs[idx] = torch.softmax(logits.float(), 1)
        module.train(was_training)
        return zs, qs

    def predict(self, X):
        """Cluster new images ``(N, C, H, W)`` with the fitted network (batches of ``batch_size``
        in a fixed order, one graph per batch)."""
        self._check_fitted()
        x = check_images(X, "images")
        if x.shape[1] != self.module_.features.in_channels:
            raise ValueError(f"the model was fitted on {self.module_.features.in_channels}-channel "
                             f"images, got {x.shape[1]} channels")
        perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(self.seed_ + 1))
        _, q = self._infer(x.to(self.device_), self.params_, perm)
        return q.argmax(1).cpu().numpy().astype(np.int64)

    def fit_predict(self, X, y=None):
        return self.fit(X, y).labels_


def _dbi(z, labels):
    from ..metrics import davies_bouldin

    k = np.unique(labels).size
    if not 2 <= k <= z.shape[0] - 1:
        return float("nan")
    return davies_bouldin(z, labels)
