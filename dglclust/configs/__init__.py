"""Paper hyperparameters and reported numbers, one YAML file per model.

Each ``<model>.yaml`` has::

    defaults:   {hyperparameter: value, ...}      # the paper's general setting
    datasets:   {<dataset>: {overrides}, ...}     # dataset-specific settings (e.g. CiteSeer's lr)
    paper:      {source: "...", <dataset>: {acc: .., nmi: .., ari: .., f1: ..}}  # percent

No per-dataset logic lives in code: estimators read ``load_config(model, dataset)``.
"""
from __future__ import annotations

import copy
import functools
from importlib import resources

import yaml

__all__ = ["load_config", "paper_numbers", "available_configs", "DATASET_ALIASES"]

#: datasets that are another node order of a benchmark dataset: they take that dataset's paper
#: settings and paper numbers unless a config names them itself
DATASET_ALIASES = {"dblp-magnn": "dblp"}


def _dataset_key(table: dict, dataset: str) -> str:
    dataset = dataset.lower()
    if dataset in table:
        return dataset
    return DATASET_ALIASES.get(dataset, dataset)


@functools.lru_cache(maxsize=None)
def _read(model: str) -> dict:
    fname = f"{model}.yaml"
    try:
        text = resources.files(__name__).joinpath(fname).read_text()
    except FileNotFoundError:
        if "-" in model:  # "<base>-<variant>": a `variants:` entry of <base>.yaml
            variant = _read_variant(model)
            if variant is not None:
                return variant
        raise KeyError(f"no config file for model {model!r} (expected dglclust/configs/{fname}); "
                       f"available: {available_configs()}") from None
    data = yaml.safe_load(text) or {}
    data.setdefault("defaults", {})
    data.setdefault("datasets", {})
    data.setdefault("paper", {})
    return data


def _read_variant(model: str) -> dict | None:
    """``<base>-<v>`` -> ``<base>.yaml`` with ``variants: {<v>: {defaults, datasets, paper}}``
    applied (variant defaults/dataset overrides update the base ones; its ``paper`` replaces)."""
    base, _, name = model.rpartition("-")
    try:
        data = _read(base)
    except KeyError:
        return None
    var = (data.get("variants") or {}).get(name)
    if var is None:
        return None
    out = copy.deepcopy(data)
    out.pop("variants", None)
    out["defaults"].update(copy.deepcopy(var.get("defaults") or {}))
    for ds, over in (var.get("datasets") or {}).items():
        out["datasets"][ds] = {**(out["datasets"].get(ds) or {}), **copy.deepcopy(over or {})}
    if var.get("paper"):
        out["paper"] = copy.deepcopy(var["paper"])
    return out


def available_configs() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".yaml"))


def load_config(model: str, dataset: str | None = None) -> dict:
    """Hyperparameters for ``model`` (defaults updated by the dataset's overrides, if any)."""
    data = _read(model.lower())
    cfg = copy.deepcopy(data["defaults"])
    if dataset is not None:
        cfg.update(copy.deepcopy(data["datasets"].get(_dataset_key(data["datasets"], dataset), {}) or {}))
    return cfg


def paper_numbers(model: str, dataset: str) -> dict | None:
    """Numbers the paper reports for ``model`` on ``dataset`` (percent), with their ``source``."""
    try:
        paper = _read(model.lower())["paper"]
    except KeyError:
        return None
    row = paper.get(_dataset_key(paper, dataset))
    if not row:
        return None
    out = dict(row)
    out.setdefault("source", paper.get("source", ""))
    return out
