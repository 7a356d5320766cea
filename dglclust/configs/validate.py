"""One validation layer for every estimator argument and hyperparameter.

:data:`RULES` is the table of what is accepted; the constructor, ``set_params``,
``from_config`` and the CLI's ``--set`` all go through :func:`validate_params`, so a bad value is
rejected before any data is loaded, with a message that names the parameter, the value and the
valid range. A hyperparameter without an entry in :data:`RULES` must have the type of its config
default (an int default takes an int, a list default a list, ...). Model-specific choices that
depend on other settings (e.g. AdaGAE's ``k_max``) are checked by the model at fit time.

``docs/errors.md`` lists the same table, and ``tests/test_bad_input.py`` walks it.
"""
from __future__ import annotations

import numbers

__all__ = ["RULES", "COMMON_RULES", "InvalidParameterError", "validate_params", "validate_value",
           "Rule"]


class InvalidParameterError(ValueError, TypeError):
    """A constructor argument or hyperparameter with a wrong type or out of its range. It is both a
    ``ValueError`` and a ``TypeError`` (as scikit-learn's error of the same name), so either
    ``except`` catches it."""


class Rule:
    """A predicate with a human description (``"an int >= 1"``)."""

    def __init__(self, check, text):
        self.check, self.text = check, text

    def __call__(self, value) -> bool:
        try:
            return bool(self.check(value))
        except Exception:  # noqa: BLE001 - a failing check means "not accepted"
            return False

    def __or__(self, other):
        return Rule(lambda v: self(v) or other(v), f"{self.text} or {other.text}")


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_num(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and v == v  # not NaN


def Int(lo=None, hi=None):
    if lo is not None and hi is not None:
        text = f"an int in [{lo}, {hi}]"
    else:
        text = "an int" + (f" >= {lo}" if lo is not None else "") + (f" <= {hi}" if hi is not None else "")
    return Rule(lambda v: _is_int(v) and (lo is None or v >= lo) and (hi is None or v <= hi), text)


def Float(lo=None, hi=None, lo_open=False):
    op = ">" if lo_open else ">="
    text = "a number" + (f" {op} {lo:g}" if lo is not None else "") + (f" <= {hi:g}" if hi is not None else "")
    return Rule(lambda v: _is_num(v) and abs(v) != float("inf")
                and (lo is None or (v > lo if lo_open else v >= lo)) and (hi is None or v <= hi), text)


def Choice(*values):
    return Rule(lambda v: isinstance(v, str) and v in values, "one of " + ", ".join(map(repr, values)))


def Const(value):
    return Rule(lambda v: v is value or v == value and type(v) is type(value), repr(value))


BOOL = Rule(lambda v: isinstance(v, bool), "true or false")
NONE = Rule(lambda v: v is None, "None")
STR = Rule(lambda v: isinstance(v, str) and v != "", "a non-empty string")


def ListOf(item, min_len=0):
    return Rule(lambda v: isinstance(v, (list, tuple)) and len(v) >= min_len and all(item(x) for x in v),
                f"a list of {item.text.replace('an ', '').replace('a ', '')}"
                + (f" (at least {min_len})" if min_len else ""))


POS_INT = Int(1)
NONNEG_INT = Int(0)
POS = Float(0, lo_open=True)
NONNEG = Float(0)
PROB = Float(0, 1)
DIMS = ListOf(POS_INT, 1)
WEIGHTS = ListOf(NONNEG, 1)


def _device(v):
    if v is None:
        return True
    import torch

    if isinstance(v, torch.device):
        return True
    if not isinstance(v, str):
        return False
    if v == "auto":
        return True
    return torch.device(v).type in ("cpu", "cuda", "mps")


COMMON_RULES = {
    "n_clusters": NONE | Int(2),
    "random_state": NONE | Int(0, 2**32 - 1),
    "device": Rule(_device, "None, 'auto', 'cpu', 'cuda' or 'cuda:N' (a torch.device)"),
    "verbose": BOOL | Int(0),
}

RULES = {
    # training schedule
    "epochs": POS_INT,
    "lr": POS,
    "weight_decay": NONNEG,
    "update_interval": POS_INT,
    "eval_every": POS_INT,
    "batch_size": NONE | POS_INT,
    "minibatch": Const("auto") | BOOL,
    "batch_lr": Choice("epoch", "step", "accumulate"),
    "batch_order": Choice("random", "rows"),
    "precision": Choice("auto", "fp32", "bf16"),
    "stop": Choice("fixed", "labels"),
    "stop_tol": PROB,
    "stop_patience": POS_INT,
    "stop_min_epochs": NONNEG_INT,
    "start": Choice("paper", "graph"),
    "start_hops": POS_INT,
    "target": Choice("q", "graph"),
    "target_hops": POS_INT,
    "target_power": Float(0, lo_open=True),
    "q_hops": NONNEG_INT,
    "start_select": Choice("loss", "silhouette", "calinski_harabasz", "davies_bouldin"),
    "input_pca": NONE | Int(1) | Choice("clusters"),
    # pretraining
    "pretrain_epochs": NONNEG_INT,
    "pretrain_batch_size": POS_INT,
    "pretrain_lr": POS,
    "pretrain_restarts": POS_INT,
    "igae_pretrain_epochs": NONNEG_INT,
    "igae_pretrain_lr": POS,
    "joint_pretrain_epochs": NONNEG_INT,
    "joint_pretrain_lr": POS,
    "warmup_steps": NONNEG_INT,
    "warmup_lr": POS,
    # architecture
    "ae_dims": DIMS,
    "latent_dim": POS_INT,
    "hidden_dims": DIMS,
    "igae_dims": DIMS,
    "cae_hidden": DIMS,
    "cae_decoder": DIMS,
    "cae_latent": POS_INT,
    "encoder_dims": DIMS,
    "decoder_dims": DIMS,
    "heads": POS_INT,
    "head_dim": NONE | POS_INT,
    "pca_dim": NONE | POS_INT,
    "gcn_hidden": POS_INT,
    "width": POS,
    "embed_dim": NONE | POS_INT,
    "norm": Choice("sym", "row"),
    "hops": NONNEG_INT,
    "sigma": PROB,
    "alpha": POS,
    "negative_slope": NONNEG,
    "ae_negative_slope": NONNEG,
    # clustering
    "n_init": POS_INT,
    # loss weights
    "kl_weight": NONNEG,
    "gcn_kl_weight": NONNEG,
    "recon_weight": NONNEG,
    "lambda_global": NONNEG,
    "lambda_local": NONNEG,
    "lam": NONNEG,
    "gamma": NONNEG,
    "fusion_alpha": PROB,
    "loss_weights": WEIGHTS,
    "semi_weights": WEIGHTS,
    "threshold": PROB,
    "lr_gamma": POS,
    "lr_step": POS_INT,
    "max_rotation": Float(0, 360),
    "source_batch_size": POS_INT,
    "min_size": POS_INT,
    "tile": POS_INT,
    "tile_elements": POS_INT,
    # AdaGAE
    "k0": POS_INT,
    "k_step": NONE | POS_INT,
    "k_max": Const("n/c") | POS_INT,
    "n_updates": NONNEG_INT,
    "steps_per_update": POS_INT,
    "n_samples": POS_INT,
    "normalizer": Choice("auto", "exact", "sampled"),
    "neighbor_search": Choice("auto", "exact", "approximate"),
    "assign": Choice("spectral", "kmeans", "auto"),
    "hidden": Const("auto") | DIMS,
    "proximity_order": POS_INT,
    "checkpoint": Const("auto") | BOOL,
    "attn_scale": NONE | POS,
}


def _default_rule(default):
    if isinstance(default, bool):
        return BOOL
    if isinstance(default, numbers.Integral):
        return Int()
    if isinstance(default, numbers.Real):
        return Float()
    if isinstance(default, str):
        return STR
    if isinstance(default, (list, tuple)):
        return Rule(lambda v: isinstance(v, (list, tuple)), "a list")
    return None  # None default: any value (the model checks it)


def rule_for(key: str, default=None) -> Rule | None:
    """The rule that applies to ``key`` (its :data:`RULES` entry, else its default's type)."""
    return COMMON_RULES.get(key) or RULES.get(key) or _default_rule(default)


def validate_value(owner: str, key: str, value, default=None):
    """Raise :class:`InvalidParameterError` naming ``key``, the value and the valid range."""
    rule = rule_for(key, default)
    if rule is None or rule(value):
        return
    raise InvalidParameterError(f"{owner}: {key}={value!r} is invalid; {key} must be {rule.text}")


def validate_params(owner: str, params: dict, defaults: dict):
    """Validate every entry of ``params`` (constructor arguments and hyperparameters)."""
    for key, value in params.items():
        validate_value(owner, key, value, defaults.get(key))
