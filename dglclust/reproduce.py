"""Reproduction harness: fit one model on one dataset over several seeds and report the protocol.

Protocol (see the README): the reported result is the **final epoch's** clustering (``labels_``),
mean +- std over the seeds (``seed0 .. seed0 + runs - 1``). The epoch with the highest ACC among
the logged epochs is *label-selected* (it peeks at the ground truth, as several official codes do);
it is recorded and shown only in its own column, named as such, never as the result.

All metric values written here are percentages (0-100). Standard deviations are population
standard deviations (``numpy.std``, ``ddof=0``).

Used by ``dglclust reproduce`` (:mod:`dglclust.cli`); usable from Python::

    from dglclust.reproduce import reproduce, format_table
    result = reproduce("sdcn", "digits", runs=3, overrides={"epochs": 20})
    print(format_table(result))
"""
from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

__all__ = [
    "METRICS",
    "UsageError",
    "reproduce",
    "run_one",
    "summarize",
    "format_table",
    "format_multi_table",
    "write_results",
    "machine_info",
    "peak_rss_mb",
    "graph_labels",
]

METRICS = ("acc", "nmi", "ari", "f1")
BEST_COLUMN = "best epoch (label-selected, not the protocol)"
PROTOCOL = (
    "Final-epoch metrics (labels_ after the last epoch), mean +- population std (ddof=0) over "
    "seeds seed0..seed0+runs-1. 'best_label_selected' = epoch with max ACC among logged epochs: "
    "it uses the ground truth for model selection and is NOT the reported result."
)


class UsageError(Exception):
    """A problem with what the user asked for (unknown model or dataset, bad option, missing
    data). The CLI prints the message and exits with status 2, without a traceback."""


# --------------------------------------------------------------------------------------------------
# the library contract, imported lazily (tests replace these hooks with fakes)
# --------------------------------------------------------------------------------------------------
def _get_estimator(name):
    from dglclust.cluster import get_estimator

    return get_estimator(name)


def _estimator_names():
    try:
        from dglclust.cluster import ESTIMATORS
    except ImportError:
        return []
    return sorted(ESTIMATORS)


def _load_dataset(name, data_dir=None, mmap_features=False):
    from dglclust.data import load_dataset

    return load_dataset(name, data_dir=data_dir, mmap_features=mmap_features)


def _list_datasets():
    from dglclust.data import list_datasets

    return list_datasets()


def _paper_numbers(model, dataset):
    from dglclust.configs import paper_numbers

    return paper_numbers(model, dataset)


def _evaluate(y_true, y_pred):
    from dglclust.metrics import evaluate

    return evaluate(y_true, y_pred)


# --------------------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------------------
def resolve_estimator(model):
    """The estimator class for ``model``, or :class:`UsageError` naming the available models."""
    try:
        return _get_estimator(model)
    except (KeyError, ValueError, LookupError) as exc:
        names = _estimator_names()
        if names:
            raise UsageError(f"unknown model {model!r}. Available: {', '.join(names)}.") from None
        raise UsageError(f"unknown model {model!r} ({_msg(exc)})") from None


def load_graph(dataset, data_dir=None, mmap_features=False):
    """``load_dataset(dataset)[0]`` with user errors turned into :class:`UsageError`."""
    try:
        ds = _load_dataset(dataset, data_dir=data_dir, mmap_features=mmap_features)
    except (KeyError, ValueError, LookupError, OSError, ImportError, RuntimeError) as exc:
        raise UsageError(f"cannot load dataset {dataset!r}: {_msg(exc)}") from None
    return ds[0]


def build_estimator(model, dataset, seed, device=None, verbose=False, overrides=None):
    """``get_estimator(model).from_config(dataset, random_state=seed, ...)``; configuration
    errors (unknown ``--set`` key, bad value, no config) become :class:`UsageError`."""
    cls = resolve_estimator(model)
    try:
        return cls.from_config(
            dataset, random_state=seed, device=device, verbose=verbose, **(overrides or {})
        )
    except (TypeError, ValueError, KeyError, LookupError, FileNotFoundError) as exc:
        raise UsageError(
            f"cannot configure {model} for {dataset!r}: {_msg(exc)} (check --set key=value "
            "overrides against the model's hyperparameters)"
        ) from None


def graph_labels(graph):
    """Ground-truth labels of a DGL graph as a numpy array, or ``None`` if it has none."""
    ndata = getattr(graph, "ndata", {})
    if "label" not in ndata:
        return None
    lab = ndata["label"]
    if hasattr(lab, "detach"):
        lab = lab.detach().cpu().numpy()
    return np.array(lab, copy=True)


def peak_rss_mb():
    """Resident-set-size high-water mark of this process in MiB (``resource.getrusage``), or
    ``None`` where unavailable. Process-wide and monotonic: it covers everything this process has
    done so far (earlier runs, dataset loading), not one fit."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


def _is_cuda(device):
    return device is not None and str(device).startswith("cuda")


def _percent(metrics):
    return {k: 100.0 * float(metrics[k]) for k in METRICS if k in metrics}


def best_epoch(history):
    """The history entry with the highest ACC (first one on ties), or ``None`` if no logged epoch
    has metrics. Label-selected: for its own column only."""
    best = None
    for entry in history or []:
        if entry.get("acc") is None:
            continue
        if best is None or float(entry["acc"]) > float(best["acc"]):
            best = entry
    return best


def run_one(model, dataset, graph, seed, device=None, overrides=None, verbose=False):
    """Fit one seed and return its row: final-epoch metrics (percent), the label-selected best
    epoch, fit time and peak memory."""
    y_true = graph_labels(graph)
    if y_true is None:
        raise UsageError(
            f"dataset {dataset!r} has no ground-truth labels (ndata['label']); reproduce needs "
            "them to score runs. Use `dglclust fit` for unlabeled data."
        )
    est = build_estimator(model, dataset, seed, device=device, verbose=verbose, overrides=overrides)
    cuda = _is_cuda(device)
    if cuda:
        import torch

        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    est.fit(graph)
    elapsed = time.perf_counter() - t0
    fit_time = float(getattr(est, "fit_time_", elapsed))

    row = {"model": model, "dataset": dataset, "seed": int(seed)}
    row.update(_percent(_evaluate(y_true, est.labels_)))
    history = list(getattr(est, "history_", []) or [])
    row["final_epoch"] = history[-1].get("epoch") if history else None
    best = best_epoch(history)
    row["best_epoch_label_selected"] = None if best is None else best.get("epoch")
    for k in METRICS:
        row[f"best_{k}_label_selected"] = (
            None if best is None or k not in best else 100.0 * float(best[k])
        )
    start = getattr(est, "start_labels_", None)  # the KMeans partition self-training started from
    if start is not None:
        row["start_acc"] = 100.0 * float(_evaluate(y_true, start)["acc"])
    if any("changed" in h for h in history):  # per-epoch ACC and label change (stop-rule replays)
        row["curve"] = {"epoch": [h.get("epoch") for h in history],
                        "acc": [None if h.get("acc") is None else round(100.0 * float(h["acc"]), 3)
                                for h in history],
                        "changed": [h.get("changed") for h in history]}
    row["fit_time_s"] = fit_time
    pre = getattr(est, "pretrain_time_", None)  # included in fit_time_s (0 when loaded from cache)
    row["pretrain_time_s"] = None if pre is None else float(pre)
    row["peak_rss_mb"] = peak_rss_mb()
    if cuda:
        import torch

        row["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return row, est


def _stats(values):
    vals = [float(v) for v in values if v is not None and not _isnan(v)]
    if not vals:
        return None
    arr = np.asarray(vals, dtype=np.float64)
    return {
        "mean": float(arr.mean()),
        "std": float(arr.std(ddof=0)),
        "min": float(arr.min()),
        "max": float(arr.max()),
        "n": int(arr.size),
    }


def _isnan(v):
    try:
        return math.isnan(float(v))
    except (TypeError, ValueError):
        return True


def summarize(rows):
    """Mean / population std / min / max of the final-epoch metrics, the label-selected best
    epoch, fit time; the largest peak RSS."""
    best = {k: _stats(r.get(f"best_{k}_label_selected") for r in rows) for k in METRICS}
    rss = [r.get("peak_rss_mb") for r in rows if r.get("peak_rss_mb") is not None]
    out = {
        "n_runs": len(rows),
        "final": {k: _stats(r.get(k) for r in rows) for k in METRICS},
        "best_label_selected": best if any(v is not None for v in best.values()) else None,
        "fit_time_s": _stats(r.get("fit_time_s") for r in rows),
        "peak_rss_mb": max(rss) if rss else None,
    }
    cuda = [r["peak_cuda_mb"] for r in rows if r.get("peak_cuda_mb") is not None]
    if cuda:
        out["peak_cuda_mb"] = max(cuda)
    return out


def machine_info(device=None):
    """Where the numbers were measured."""
    info = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "device": None if device is None else str(device),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["cuda_available"] = torch.cuda.is_available()
        if _is_cuda(device) and torch.cuda.is_available():
            info["cuda_device"] = torch.cuda.get_device_name(torch.device(device))
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    try:
        import dglclust

        info["dglclust"] = dglclust.__version__
        dgl = sys.modules.get("dgl")
        info["dgl"] = getattr(dgl, "__version__", None)
        from dglclust.ops import backend

        info["ops_backend"] = backend()
    except Exception as exc:  # noqa: BLE001 - informational only
        info["ops_backend"] = f"unknown ({type(exc).__name__})"
    info["cpu"] = cpu_model()
    try:
        import torch

        from .train.precision import resolve_precision

        # what precision="auto" (every model's default) resolves to here: bf16 autocast or fp32
        info["precision_auto"] = resolve_precision("auto", torch.device(device or "cpu"))
    except Exception as exc:  # noqa: BLE001 - informational only
        info["precision_auto"] = f"unknown ({type(exc).__name__})"
    return info


def cpu_model() -> str | None:
    """``"<model name> (family F model M)"`` from /proc/cpuinfo (Linux), e.g. ``"Intel(R) Xeon(R)
    Processor (family 6 model 167)"``; ``platform.processor()`` elsewhere (``None`` if empty).
    Two machines of one architecture can give different floating-point results (bf16 autocast is
    native on some), so each run record names the CPU."""
    from .train.precision import cpu_info

    fields = cpu_info()
    if not fields:
        return platform.processor() or None
    name = fields.get("model name") or platform.processor() or "unknown CPU"
    return f"{name} (family {fields.get('cpu family', '?')} model {fields.get('model', '?')})"


def _safe_params(est):
    try:
        params = dict(est.get_params())
    except Exception:  # noqa: BLE001 - a config record must not break a finished run
        return None
    params.pop("random_state", None)
    return params


# --------------------------------------------------------------------------------------------------
# the harness
# --------------------------------------------------------------------------------------------------
def reproduce(
    model,
    dataset,
    runs=10,
    seed0=0,
    device=None,
    overrides=None,
    data_dir=None,
    out=None,
    verbose=False,
    graph=None,
    command=None,
    log=print,
    overwrite=False,
    baselines=True,
):
    """Fit ``model`` on ``dataset`` for seeds ``seed0 .. seed0 + runs - 1``.

    Returns a JSON-ready dict (``rows``, ``summary``, ``paper``, ``config``, ``machine``,
    ``command``, ``protocol``). With ``out`` (a directory) ``<model>_<dataset>.json`` and ``.csv``
    are written atomically after every run, so an interrupted reproduction keeps its finished
    runs (``"complete": false``). An existing complete result in ``out`` is never replaced
    unless ``overwrite=True``; an interrupted one with the same seeds and overrides is resumed
    (its finished seeds are kept, not rerun).
    """
    if runs < 1:
        raise UsageError(f"--runs must be at least 1, got {runs}")
    resolve_estimator(model)  # fail before loading data
    previous = _previous_rows(out, model, dataset, list(range(seed0, seed0 + runs)), overrides,
                              overwrite)
    if graph is None:
        graph = load_graph(dataset, data_dir=data_dir)
    paper = _paper_numbers(model, dataset)
    result = {
        "model": model,
        "dataset": dataset,
        "runs": int(runs),
        "seeds": list(range(seed0, seed0 + runs)),
        "complete": False,
        "protocol": PROTOCOL,
        "metric_units": "percent",
        "paper": paper,
        "overrides": dict(overrides or {}),
        "config": None,
        "machine": machine_info(device),
        "command": command if command is not None else " ".join(sys.argv),
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "rows": [],
        "summary": None,
    }
    if previous:
        result["rows"] = previous["rows"]
        result["summary"] = summarize(result["rows"]) if result["rows"] else None
        result["config"] = previous.get("config")
        result["started"] = previous.get("started", result["started"])
        (log or print)(f"[{model}/{dataset}] resuming: seeds {[r['seed'] for r in previous['rows']]} "
                       f"already in {output_paths(out, model, dataset)[0]}")
    done = {r["seed"] for r in result["rows"]}
    for i, seed in enumerate(result["seeds"]):
        if seed in done:
            continue
        if log is not None:
            log(f"[{model}/{dataset}] run {i + 1}/{runs} seed={seed}: fitting ...")
        row, est = run_one(model, dataset, graph, seed, device=device, overrides=overrides,
                           verbose=verbose)
        if result["config"] is None:
            result["config"] = _safe_params(est)
        fitted = getattr(est, "params_", None) or {}
        if "start" in fitted:  # which KMeans start (a table variant)
            result["start"] = fitted["start"]
        if fitted.get("target", "q") != "q":  # the self-training target, where not the paper's
            result["target"] = fitted["target"]
        result["rows"].append(row)
        result["rows"].sort(key=lambda r: r["seed"])
        result["summary"] = summarize(result["rows"])
        if log is not None:
            log(
                f"[{model}/{dataset}] run {i + 1}/{runs} seed={seed}: "
                + "  ".join(f"{k.upper()} {row[k]:.2f}" for k in METRICS)
                + f"  ({row['fit_time_s']:.1f} s)"
            )
        if out is not None:
            write_results(result, out)
    if baselines and model not in _baseline_names() and not result.get("baselines"):
        result["baselines"] = run_baselines(dataset, graph, result["seeds"], device=device, log=log)
    result["complete"] = True
    result["finished"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    if out is not None:
        result["files"] = [str(p) for p in write_results(result, out)]
    return result


def _baseline_names():
    """The registered trivial baselines (none when the estimator registry lacks them)."""
    from .cluster import BASELINES

    names = []
    for name in BASELINES:
        try:
            resolve_estimator(name)
        except (UsageError, KeyError):
            continue
        names.append(name)
    return tuple(names)


def run_baselines(dataset, graph, seeds, device=None, log=print):
    """The trivial baselines on ``seeds``: ``{name: {"summary": final-metric stats, "rows"}}``."""
    out = {}
    for name in _baseline_names():
        rows = [run_one(name, dataset, graph, s, device=device)[0] for s in seeds]
        keep = ("seed", *METRICS, "fit_time_s")
        out[name] = {"summary": summarize(rows)["final"], "rows": [{k: r[k] for k in keep} for r in rows]}
        if log is not None:
            st = out[name]["summary"]
            log(f"[baseline {name}/{dataset}] " + "  ".join(
                f"{k.upper()} {_pm(st[k])}" for k in METRICS))
    return out


def output_paths(out, model, dataset):
    out = Path(out)
    stem = f"{model}_{dataset}"
    return out / f"{stem}.json", out / f"{stem}.csv"


CSV_COLUMNS = (
    ["model", "dataset", "seed", *METRICS, "final_epoch", "best_epoch_label_selected"]
    + [f"best_{k}_label_selected" for k in METRICS]
    + ["fit_time_s", "peak_rss_mb"]
)


def _previous_rows(out, model, dataset, seeds, overrides, overwrite):
    """The finished rows of an interrupted result with the same settings in ``out`` (to resume),
    ``None`` when there is nothing to resume; :class:`UsageError` rather than replacing a
    complete result, or one made with other settings, unless ``overwrite``."""
    if out is None:
        return None
    json_path, csv_path = output_paths(out, model, dataset)
    from dglclust.utils import remove_stale_temp_files

    for p in (json_path, csv_path):
        remove_stale_temp_files(p)  # left by a killed writer
    if overwrite or not json_path.exists():
        return None
    try:
        old = json.loads(json_path.read_text())
    except (OSError, json.JSONDecodeError):
        raise UsageError(f"{json_path} exists but is unreadable; move it away or pass "
                         "--overwrite") from None
    if old.get("complete"):
        raise UsageError(f"{json_path} already holds a complete result "
                         f"({len(old.get('rows', []))} runs); pass --overwrite to replace it or "
                         "choose another --out")
    if old.get("seeds") != seeds or (old.get("overrides") or {}) != dict(overrides or {}):
        raise UsageError(f"{json_path} holds an interrupted result with other seeds or --set "
                         "overrides; pass --overwrite to replace it or choose another --out")
    return old


def write_results(result, out):
    """Write ``<model>_<dataset>.csv`` (one row per run), then ``.json`` (everything), each
    atomically. The JSON is the manifest: written last, it records the CSV's row count and
    sha256 (``csv_rows``, ``csv_sha256``), so a reader can tell whether the pair agrees (both are
    rewritten after every run; a process killed between the two renames leaves a CSV one run
    ahead of its JSON, which the checksum exposes)."""
    import hashlib
    import io

    from dglclust.utils import atomic_write, jsonable

    json_path, csv_path = output_paths(out, result["model"], result["dataset"])
    columns = list(CSV_COLUMNS)
    if any("peak_cuda_mb" in r for r in result["rows"]):
        columns.append("peak_cuda_mb")
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in result["rows"]:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})
    text = buf.getvalue()
    with atomic_write(csv_path, newline="") as fh:
        fh.write(text)
    result["csv_rows"] = len(result["rows"])
    result["csv_sha256"] = hashlib.sha256(text.encode()).hexdigest()
    with atomic_write(json_path) as fh:
        json.dump(result, fh, indent=2, default=jsonable)
        fh.write("\n")
    return json_path, csv_path


# --------------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------------
def _pm(stats, digits=2):
    if stats is None:
        return "n/a"
    return f"{stats['mean']:.{digits}f} +- {stats['std']:.{digits}f}"


def _render(headers, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]

    def line(cells):
        return " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

    sep = "-+-".join("-" * w for w in widths)
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def _paper_cell(paper, k):
    if not paper or paper.get(k) is None:
        return "-"
    return f"{float(paper[k]):.2f}"


def format_table(result):
    """The per-combination table: metric | ours (final epoch) | paper | label-selected best."""
    s = result["summary"] or summarize(result["rows"])
    paper = result.get("paper")
    n = s["n_runs"]
    seeds = result.get("seeds") or [r.get("seed") for r in result["rows"]]
    title = (
        f"{result['model']} on {result['dataset']}: {n} run{'s' * (n != 1)}"
        + (f" (seeds {seeds[0]}..{seeds[n - 1]})" if n and None not in seeds[:n] else "")
        + (f", device {result['machine'].get('device')}"
           if result.get("machine", {}).get("device") else "")
        + ("" if result.get("complete", True) else "  [INCOMPLETE]")
    )
    src = f"paper ({paper['source']})" if paper and paper.get("source") else "paper"
    headers = ["metric", "ours: final epoch, mean +- std", src, f"{BEST_COLUMN}, mean +- std"]
    best = s.get("best_label_selected") or {}
    rows = [
        [k.upper(), _pm(s["final"][k]), _paper_cell(paper, k), _pm(best.get(k))] for k in METRICS
    ]
    for name, b in (result.get("baselines") or {}).items():
        rows.append([f"{name} (baseline) ACC", _pm(b["summary"]["acc"]), "", ""])
        rows.append([f"{name} (baseline) NMI", _pm(b["summary"]["nmi"]), "", ""])
    lines = [title, _render(headers, rows)]
    lines.append(f"wall time per run (fit_time_): {_pm(s['fit_time_s'])} s")
    if s.get("peak_rss_mb") is not None:
        lines.append(
            f"peak RSS: {s['peak_rss_mb']:.0f} MiB (process-wide high-water mark, includes "
            "data loading and earlier runs)"
        )
    if s.get("peak_cuda_mb") is not None:
        lines.append(f"peak CUDA memory allocated: {s['peak_cuda_mb']:.0f} MiB (per-run max)")
    lines.append("metrics in percent; std is the population std over seeds")
    return "\n".join(lines)


def format_multi_table(results):
    """One summary line per (model, dataset): final-epoch mean +- std with the paper value in
    parentheses, and the time per run. Failed combinations are listed with their error."""
    headers = ["model", "dataset", "runs"] + [f"{k.upper()} ours (paper)" for k in METRICS]
    headers += ["s/run"]
    rows, failures = [], []
    for res in results:
        if res.get("error"):
            rows.append([res["model"], res["dataset"], "FAILED", "", "", "", "", ""])
            failures.append(f"FAILED {res['model']} on {res['dataset']}: {res['error']}")
            continue
        s = res["summary"]
        paper = res.get("paper")
        rows.append(
            [res["model"], res["dataset"], str(s["n_runs"])]
            + [f"{_pm(s['final'][k])} ({_paper_cell(paper, k)})" for k in METRICS]
            + [_pm(s["fit_time_s"], 1)]
        )
    note = (
        "ours = final epoch, mean +- std over seeds (percent); paper value in parentheses; the "
        f"{BEST_COLUMN} is in each per-combination table and JSON"
    )
    return "\n".join(["Summary", _render(headers, rows), *failures, note])


def _msg(exc):
    """An exception's message without KeyError's extra quotes."""
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc) or type(exc).__name__
