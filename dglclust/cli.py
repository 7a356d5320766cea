"""Command line: ``dglclust fit | reproduce | datasets | bench``.

Examples::

    dglclust datasets
    dglclust fit --model sdcn --dataset digits --set epochs=50 --out results/fit.json
    dglclust reproduce --model sdcn --dataset acm --runs 10 --out results/
    dglclust reproduce --models sdcn,dec --datasets acm,citeseer --runs 10

Exit status: 0 on success, 1 when a run fails, 2 for a usage error (unknown model or dataset,
bad option, missing data), 130 when interrupted.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from . import reproduce as _r
from .reproduce import METRICS, UsageError

__all__ = ["main", "build_parser", "parse_overrides"]

_REPO_ROOT = Path(__file__).resolve().parent.parent


def parse_overrides(items):
    """``["epochs=5", "lr=1e-3", "name=foo"]`` -> ``{"epochs": 5, "lr": 0.001, "name": "foo"}``.

    Values are read as YAML (ints, floats, booleans, ``null``, lists ``[1, 2]``); ``1e-3`` is a
    float too."""
    import yaml

    out = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set expects key=value, got {item!r} (e.g. --set epochs=50)")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        out[key] = value
    return out


def _split(values):
    names = []
    for v in values or []:
        names.extend(x.strip().lower() for x in v.split(",") if x.strip())
    return list(dict.fromkeys(names))


# --------------------------------------------------------------------------------------------------
# parser
# --------------------------------------------------------------------------------------------------
def build_parser():
    p = argparse.ArgumentParser(
        prog="dglclust", description="Deep graph clustering on DGL.",
        epilog="Run `dglclust <command> -h` for the options of a command.",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks for usage errors")
    sub = p.add_subparsers(dest="command", metavar="{fit,reproduce,datasets,bench}")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=None,
                        help="directory with local dataset files (default: $DGLCLUST_DATA)")
    common.add_argument("--device", default=None,
                        help="cpu, cuda, cuda:1 ... (default: the estimator's choice)")
    common.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="override a hyperparameter of the config (repeatable), e.g. "
                             "--set epochs=50 --set lr=1e-4")
    common.add_argument("--epochs", type=int, default=None, help="shorthand for --set epochs=N")

    f = sub.add_parser("fit", parents=[common], help="fit one model on one dataset",
                       description="Fit one model on one dataset with its paper configuration and "
                                   "print the final epoch's ACC/NMI/ARI/F1.")
    f.add_argument("--model", required=True, help="model name, e.g. sdcn")
    f.add_argument("--dataset", required=True, help="dataset name, e.g. acm (see `datasets`)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    f.add_argument("--out", default=None, help="write a JSON record here (atomically)")
    f.add_argument("--source", default=None,
                   help="labeled source dataset of a source-guided model (gfdc), e.g. digits; "
                        "shorthand for --set source=NAME")

    r = sub.add_parser("reproduce", parents=[common], help="mean +- std over seeds vs the paper",
                       description="Fit over seeds seed0..seed0+runs-1 and report the final "
                                   "epoch's metrics (the protocol), mean +- std, next to the "
                                   "paper's numbers. The label-selected best epoch is shown only "
                                   "in its own column.")
    r.add_argument("--model", "--models", dest="models", action="append", required=True,
                   help="model name(s), comma-separated")
    r.add_argument("--dataset", "--datasets", dest="datasets", action="append", required=True,
                   help="dataset name(s), comma-separated")
    r.add_argument("--runs", type=int, default=10)
    r.add_argument("--seed0", type=int, default=0)
    r.add_argument("--out", default="results", help="output directory (default: results/)")
    r.add_argument("--verbose", action="store_true", help="per-epoch progress of every fit")
    r.add_argument("--quiet", action="store_true", help="no per-run lines, only the tables")

    sub.add_parser("datasets", parents=[], help="list the built-in datasets").add_argument(
        "--data-dir", default=None, help="directory with local dataset files")
    b = sub.add_parser("bench", help="how to run the benchmarks")
    b.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return p


# --------------------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------------------
def _overrides(args):
    ov = parse_overrides(args.overrides)
    if args.epochs is not None:
        ov["epochs"] = args.epochs
    return ov


def _load_images(dataset, data_dir=None):
    """``dglclust.data.load_images(dataset)`` with user errors turned into ``UsageError``."""
    try:
        from dglclust.data import load_images

        return load_images(dataset, data_dir=data_dir)
    except (KeyError, ValueError, LookupError, OSError, ImportError, RuntimeError) as exc:
        raise UsageError(f"cannot load image dataset {dataset!r}: {_r._msg(exc)}") from None


def cmd_fit(args, argv):
    model, dataset = args.model.lower(), args.dataset.lower()
    overrides = _overrides(args)
    if getattr(args, "source", None):
        overrides["source"] = args.source.lower()
    cls = _r.resolve_estimator(model)
    images = getattr(cls, "input_kind", "graph") == "images"
    if images:  # image models (gfdc) take (N, C, H, W) tensors, not graphs
        x_img, y_img = _load_images(dataset, data_dir=args.data_dir)
    else:
        graph = _r.load_graph(dataset, data_dir=args.data_dir)
    est = _r.build_estimator(model, dataset, args.seed, device=args.device,
                             verbose=not args.quiet, overrides=overrides)
    t0 = time.perf_counter()
    if images:
        try:
            est.fit(x_img, y_img, data_dir=args.data_dir)
        except (ValueError, TypeError) as exc:  # bad source, class-count mismatch, ...
            raise UsageError(_r._msg(exc)) from None
    else:
        est.fit(graph)
    wall = time.perf_counter() - t0
    fit_time = float(getattr(est, "fit_time_", wall))

    y_true = y_img.numpy() if images else _r.graph_labels(graph)
    history = list(getattr(est, "history_", []) or [])
    final_epoch = history[-1].get("epoch") if history else None
    print(f"{model} on {dataset} (seed {args.seed}"
          + (f", device {args.device}" if args.device else "")
          + (f", final epoch {final_epoch}" if final_epoch is not None else "") + ")")
    metrics = None
    if y_true is not None:
        metrics = {k: 100.0 * v for k, v in _r._evaluate(y_true, est.labels_).items()}
        print("  ".join(f"{k.upper()} {metrics[k]:.2f}" for k in METRICS) + "   (percent)")
    if getattr(est, "dbi_", None) is not None:
        print(f"DBI {est.dbi_:.4f} (Davies-Bouldin index of the embedding, lower is better)")
    else:
        import numpy as np

        print(f"no ground-truth labels: {len(np.unique(est.labels_))} clusters found, metrics "
              "not computed")
    print(f"wall time {fit_time:.2f} s")
    if args.out:
        from dglclust.utils import atomic_write

        def pct(entry):
            return {k: (100.0 * float(v) if k in METRICS and v is not None else v)
                    for k, v in entry.items()}

        record = {
            "model": model, "dataset": dataset, "seed": args.seed, "device": args.device,
            "metric_units": "percent", "metrics": metrics, "final_epoch": final_epoch,
            "dbi": getattr(est, "dbi_", None),
            "fit_time_s": fit_time, "overrides": overrides, "params": _r._safe_params(est),
            "history": [pct(e) for e in history], "machine": _r.machine_info(args.device),
            "command": _command(argv),
        }
        with atomic_write(args.out) as fh:
            json.dump(record, fh, indent=2, default=_r._jsonable)
            fh.write("\n")
        print(f"wrote {args.out}")
    return 0


def cmd_reproduce(args, argv):
    models, datasets = _split(args.models), _split(args.datasets)
    if args.runs < 1:
        raise UsageError(f"--runs must be at least 1, got {args.runs}")
    overrides = _overrides(args)
    for m in models:  # fail fast, before any data is loaded or any model trained
        if getattr(_r.resolve_estimator(m), "input_kind", "graph") == "images":
            raise UsageError(f"`reproduce` runs graph models; {m} clusters images: use "
                             f"`dglclust fit --model {m} --dataset NAME --source NAME --seed S` "
                             "per seed (see results/issue8/run.sh)")
    graphs = {d: _r.load_graph(d, data_dir=args.data_dir) for d in datasets}
    log = None if args.quiet else print
    results, status = [], 0
    multi = len(models) * len(datasets) > 1
    for m in models:
        for d in datasets:
            try:
                res = _r.reproduce(m, d, runs=args.runs, seed0=args.seed0, device=args.device,
                                   overrides=overrides, out=args.out, verbose=args.verbose,
                                   graph=graphs[d], command=_command(argv), log=log)
            except Exception as exc:  # noqa: BLE001 - keep going with the other combinations
                if not multi:
                    raise
                msg = str(exc) if isinstance(exc, UsageError) else f"{type(exc).__name__}: {exc}"
                res, status = {"model": m, "dataset": d, "error": msg}, 1
                print(f"[{m}/{d}] failed: {msg}", file=sys.stderr)
            else:
                print()
                print(_r.format_table(res))
                if res.get("files"):
                    print("wrote " + ", ".join(res["files"]))
            results.append(res)
    if multi:
        print()
        print(_r.format_multi_table(results))
    return status


def _records(listing):
    """``list_datasets()`` as a list of dicts, whatever shape it returns."""
    if hasattr(listing, "to_dict"):  # pandas DataFrame
        return listing.to_dict("records")
    if isinstance(listing, dict):
        return [{"name": k, **(v if isinstance(v, dict) else {"source": v})}
                for k, v in listing.items()]
    out = []
    for item in listing:
        if isinstance(item, str):
            out.append({"name": item})
        elif isinstance(item, dict):
            out.append(dict(item))
        else:
            out.append({k: getattr(item, k) for k in dir(item) if not k.startswith("_")
                        and not callable(getattr(item, k))})
    return out


def cmd_datasets(args, argv):
    recs = _records(_r._list_datasets())
    cols = ["name", "nodes", "features", "classes", "source"]
    aliases = {"nodes": ("nodes", "num_nodes", "n_nodes"),
               "features": ("features", "num_features", "n_features", "feat_dim"),
               "classes": ("classes", "num_classes", "n_classes")}

    def get(rec, col):
        for key in aliases.get(col, (col,)):
            if rec.get(key) is not None:
                return str(rec[key])
        return "-"

    print(_r._render(cols, [[get(rec, c) for c in cols] for rec in recs]))
    from dglclust.utils import data_dir

    where = data_dir(args.data_dir)
    print(f"local data directory: {where if where else 'none (set DGLCLUST_DATA or --data-dir)'}")
    return 0


def cmd_bench(args, argv):
    bench = _REPO_ROOT / "bench"
    scripts = sorted(bench.glob("*.py")) if bench.is_dir() else []
    if not scripts:
        print("The benchmarks are scripts in bench/ of the source checkout (not installed with the "
              "package); none were found next to this installation.")
        return 0
    print("Benchmarks are plain scripts; run them from the repository root:")
    for s in scripts:
        print(f"  python bench/{s.name} --help")
    results = bench / "RESULTS.md"
    if results.exists():
        print("Recorded results: bench/RESULTS.md")
    return 0


def _command(argv):
    return "dglclust " + shlex.join(argv)


COMMANDS = {"fit": cmd_fit, "reproduce": cmd_reproduce, "datasets": cmd_datasets,
            "bench": cmd_bench}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args, argv)
    except UsageError as exc:
        if args.debug:
            raise
        print(f"dglclust {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted (finished runs of `reproduce` are already written to --out)",
              file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
