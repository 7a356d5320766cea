"""The self-training loop shared by DEC, IDEC, SDCN and the SDCN family.

One forward pass per epoch: the target distribution P is computed from the same forward pass
that is then differentiated (the official codes run a second, identical forward for it).
Metrics logged at epoch ``e`` describe the parameters *before* that epoch's update; a final
evaluation after the last update gives the reported (final-epoch) predictions.

Every history row carries ``changed``: the fraction of nodes whose hard label differs from the
previous row's (label-free; no ground truth is read). ``stop="labels"`` ends training at the first
epoch ``e >= min_epochs`` where ``changed < tol`` held for ``patience`` consecutive epochs (DEC's
original rule, Xie et al. 2016, Sec. 3.1.3, with a patience), and reports that epoch's predictions;
``stop="fixed"`` trains all ``epochs`` (the papers' recipe).

Mini-batch mode (``batches`` and ``full_forward`` given, see :mod:`dglclust.train.minibatch`):
an epoch starts with a forward-only full pass (``full_forward()``, chunked by the caller), which
refreshes P when due and gives the epoch's labels for the history and the stop rule; then one
optimizer step per batch of ``batches(epoch)`` on ``loss_fn(forward(idx), P[idx], idx)``, each
with the learning rate ``lr * lr_scale`` (the estimators pass ``1 / steps per epoch`` by default,
``batch_lr: epoch``, so an epoch moves as far as one full-batch step). With ``accumulate`` the
epoch takes one step of ``lr * lr_scale`` on the sum of its batches' gradients, each batch's loss
weighted by its share of the nodes (``batch size / n``, n the rows of P): for a loss that is a mean
over nodes of per-node terms, the full-batch gradient (``batch_lr: accumulate``). The
history row of epoch ``e`` holds the labels before the epoch's steps and the mean batch loss of its
steps (absent for an epoch the stop rule ended before its steps). In a multi-process fit
(:mod:`dglclust.train.distributed`) each rank steps on its share of the batches and the gradients
are averaged over the ranks before every step (with ``accumulate``: before the epoch's one step,
the weights scaled by the number of ranks so that the average is the sum over all batches).
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from ..ops import target_distribution

__all__ = ["SelfTrainer", "kl_div", "label_change_stop"]


def kl_div(log_q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """KL(P || Q) averaged over rows (``F.kl_div(log_q, p, reduction="batchmean")``)."""
    return torch.nn.functional.kl_div(log_q, p, reduction="batchmean")


def _stop_step(calm: int, row: dict, tol: float, patience: int,
               min_epochs: int) -> tuple[int, bool]:
    """One step of the label-change rule on the history row just recorded: the new count of
    consecutive calm epochs (``changed < tol``) and whether to stop there. A row without
    ``changed`` leaves the count as it is. Reads no ground truth."""
    if row.get("changed") is None:
        return calm, False
    calm = calm + 1 if row["changed"] < tol else 0
    return calm, row["epoch"] >= min_epochs and calm >= patience


def label_change_stop(history, tol: float, patience: int = 1, min_epochs: int = 0) -> int:
    """Replay ``SelfTrainer(stop="labels", tol=, patience=, min_epochs=)`` on a recorded
    ``history`` (rows with ``epoch`` and ``changed``, e.g. a ``stop: fixed`` fit's ``history_``):
    the index of the row where the rule stops, or the last index when it never fires."""
    calm = 0
    for i, row in enumerate(history):
        calm, stop = _stop_step(calm, row, tol, patience, min_epochs)
        if stop:
            return i
    return len(history) - 1


class SelfTrainer:
    """Runs ``epochs`` full-batch steps of ``loss_fn(out, p)`` with ``P = target_fn(out)`` refreshed
    every ``update_interval`` epochs.

    Callables: ``forward() -> out``; ``loss_fn(out, p) -> (loss, parts: dict)``;
    ``predict(out) -> labels`` (numpy); ``target_fn(out) -> P`` (default: the target distribution of
    ``out["q"]``).
    """

    def __init__(self, params, forward: Callable, loss_fn: Callable, predict: Callable, *,
                 epochs: int, lr: float, update_interval: int = 1, target_fn: Callable | None = None,
                 weight_decay: float = 0.0, y_true=None, eval_every: int = 1, verbose: bool = False,
                 desc: str = "train", optimizer=None, stop: str = "fixed", tol: float = 1e-3,
                 patience: int = 1, min_epochs: int = 0, batches: Callable | None = None,
                 full_forward: Callable | None = None, lr_scale: float = 1.0, accumulate: bool = False):
        if stop not in ("fixed", "labels"):
            raise ValueError(f"stop must be 'fixed' or 'labels', got {stop!r}")
        if not 0.0 <= tol <= 1.0 or patience < 1 or min_epochs < 0:
            raise ValueError(f"invalid stop rule: tol={tol} (in [0, 1]), patience={patience} (>= 1), "
                             f"min_epochs={min_epochs} (>= 0)")
        if epochs < 0:
            raise ValueError(f"epochs must be >= 0, got {epochs}")
        if update_interval < 1:
            raise ValueError(f"update_interval must be >= 1, got {update_interval}")
        self.forward, self.loss_fn, self.predict = forward, loss_fn, predict
        self.target_fn = target_fn or (lambda out: target_distribution(out["q"]))
        self.epochs, self.update_interval = int(epochs), int(update_interval)
        if not lr_scale > 0:
            raise ValueError(f"lr_scale must be > 0, got {lr_scale}")
        if optimizer is not None and batches is not None and lr_scale != 1.0:
            raise ValueError("lr_scale sets the learning rate of the Adam optimizer SelfTrainer "
                             "builds; with your own optimizer, set its lr instead")
        if batches is not None:  # mini-batch: the step size of each batch (see the module docstring)
            lr = lr * float(lr_scale)
        self.optimizer = optimizer or torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
        self.y_true, self.eval_every = y_true, max(int(eval_every), 1)
        self.verbose, self.desc = verbose, desc
        self.stop, self.tol, self.patience, self.min_epochs = stop, float(tol), int(patience), int(min_epochs)
        if (batches is None) != (full_forward is None):
            raise ValueError("mini-batch training needs both batches(epoch) and full_forward()")
        self.batches, self.full_forward = batches, full_forward
        self.accumulate = bool(accumulate)
        self.history: list[dict] = []
        self.stopped_epoch: int | None = None
        self._prev_labels = None
        self._calm = 0

    def _record(self, epoch: int, out, loss=None, parts=None, final: bool = False) -> dict:
        row: dict = {"epoch": epoch}
        if loss is not None:
            row["loss"] = float(loss)
        if parts:
            row.update({k: float(v) for k, v in parts.items()})
        due = epoch % self.eval_every == 0 or final
        if not (due or self.stop == "labels"):
            self.history.append(row)
            return row
        labels = np.asarray(self.predict(out))
        if self._prev_labels is not None:
            # vs the last row that computed labels: the previous epoch when eval_every == 1 or
            # the stop rule is on
            row["changed"] = float(np.mean(labels != self._prev_labels))
        self._prev_labels = labels
        if self.y_true is not None and due:
            from ..metrics import evaluate

            row.update(evaluate(self.y_true, labels))
        self.history.append(row)
        return row

    def _should_stop(self, row: dict) -> bool:
        """The label-change rule on the row just recorded (reads no ground truth)."""
        if self.stop != "labels":
            return False
        self._calm, stop = _stop_step(self._calm, row, self.tol, self.patience, self.min_epochs)
        return stop

    def run(self):
        if self.batches is not None:
            return self._run_minibatch()
        from tqdm.auto import tqdm

        p = None
        t0 = time.perf_counter()
        bar = tqdm(range(self.epochs), desc=self.desc, disable=not self.verbose, leave=False)
        for epoch in bar:
            out = self.forward()
            if p is None or epoch % self.update_interval == 0:
                with torch.no_grad():
                    p = self.target_fn(out)
            loss, parts = self.loss_fn(out, p)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"{self.desc}: loss became {loss.item()} at epoch {epoch}; "
                                         "lower the learning rate or check the input features")
            with torch.no_grad():
                row = self._record(epoch, out, loss.item(), parts)
            if self._should_stop(row):
                # the predictions of this forward pass are the result: no update after it
                self.stopped_epoch = epoch
                if self.y_true is not None and "acc" not in row:
                    from ..metrics import evaluate

                    row.update(evaluate(self.y_true, self._prev_labels))
                break
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            if self.verbose and "acc" in row:
                bar.set_postfix(loss=f"{row['loss']:.4f}", acc=f"{row['acc']:.4f}")
        if self.stopped_epoch is None:
            with torch.no_grad():
                out = self.forward()
                if p is None:
                    p = self.target_fn(out)
                loss, parts = self.loss_fn(out, p)
                self._record(self.epochs, out, loss.item(), parts, final=True)
        self.seconds = time.perf_counter() - t0
        return out

    def _run_minibatch(self):
        from tqdm.auto import tqdm

        from . import distributed as dist

        params = [q for g in self.optimizer.param_groups for q in g["params"]]
        dist.broadcast(params)  # multi-process: every replica starts from rank 0's weights

        p = None
        t0 = time.perf_counter()
        bar = tqdm(range(self.epochs), desc=self.desc, disable=not self.verbose, leave=False)
        out = None
        for epoch in bar:
            out = self.full_forward()
            if p is None or epoch % self.update_interval == 0:
                p = self.target_fn(out)
            with torch.no_grad():
                row = self._record(epoch, out)
            if self._should_stop(row):
                self.stopped_epoch = epoch
                if self.y_true is not None and "acc" not in row:
                    from ..metrics import evaluate

                    row.update(evaluate(self.y_true, self._prev_labels))
                break
            total, count, sums = 0.0, 0, {}
            if self.accumulate:
                self.optimizer.zero_grad(set_to_none=True)
                share = dist.world_size() / p.shape[0]  # the ranks' average of the sums is the sum
            for idx in self.batches(epoch):
                loss, parts = self.loss_fn(self.forward(idx), p[idx], idx)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"{self.desc}: loss became {loss.item()} at epoch "
                                             f"{epoch}; lower the learning rate or check the input "
                                             "features")
                b = int(idx.numel())
                if self.accumulate:
                    (loss * (b * share)).backward()
                else:
                    self.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    dist.average_gradients(params)
                    self.optimizer.step()
                total += loss.item() * b
                count += b
                for k, v in (parts or {}).items():
                    sums[k] = sums.get(k, 0.0) + float(v) * b
            if self.accumulate:
                dist.average_gradients(params)
                self.optimizer.step()
            row["loss"] = total / max(count, 1)
            row.update({k: v / max(count, 1) for k, v in sums.items()})
            if self.verbose and "acc" in row:
                bar.set_postfix(loss=f"{row['loss']:.4f}", acc=f"{row['acc']:.4f}")
        if self.stopped_epoch is None:
            out = self.full_forward()
            with torch.no_grad():
                self._record(self.epochs, out, final=True)
        self.seconds = time.perf_counter() - t0
        return out
