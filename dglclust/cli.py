"""Command line: ``dglclust fit | reproduce | plot | datasets | bench`` (also ``python -m dglclust``).

Examples::

    dglclust datasets
    dglclust fit --model sdcn --dataset digits --set epochs=50 --out results/fit.json
    dglclust fit --model dec --features X.npy --edges E.csv --n-clusters 5 --out run.json
    dglclust reproduce --model sdcn --dataset acm --runs 10 --out results/
    dglclust reproduce --models sdcn,dec --datasets acm,citeseer --runs 10
    dglclust plot run.json

Exit status: 0 on success, 1 when a run fails, 2 for a usage error (unknown model or dataset,
bad option, missing data), 130 when interrupted.
"""
from __future__ import annotations

import argparse
import json
import os
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
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UsageError(f"--set {item!r}: the value is not valid YAML ({first}); quote "
                             "strings and close brackets, e.g. --set ae_dims=[500,500,2000]") from None
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
def _names(fn):
    try:
        return ", ".join(fn())
    except Exception:  # noqa: BLE001 - help text only
        return "see `dglclust datasets`"


def _dataset_names():
    return [r["name"] if isinstance(r, dict) else str(r) for r in _records(_r._list_datasets())]


def build_parser():
    from dglclust import __version__

    models, datasets = _names(_r._estimator_names), _names(_dataset_names)
    p = argparse.ArgumentParser(
        prog="dglclust", description="Deep graph clustering on DGL.",
        epilog=f"models: {models}\ndatasets: {datasets}\n"
               "Run `dglclust <command> -h` for the options of a command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"dglclust {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks for usage errors")
    sub = p.add_subparsers(dest="command", metavar="{fit,reproduce,plot,datasets,bench}")

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

    f = sub.add_parser("fit", parents=[common], help="fit one model on one dataset or your own data",
                       description="Fit one model on one dataset with its paper configuration (or "
                                   "on your own --features) and print the final epoch's "
                                   "ACC/NMI/ARI/F1 when labels are known.",
                       epilog=f"models: {models}\ndatasets: {datasets}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    f.add_argument("--model", required=True, help=f"model name, one of: {models}")
    f.add_argument("--dataset", default=None, help=f"dataset name, one of: {datasets}")
    f.add_argument("--features", default=None, metavar="FILE",
                   help="your own node features instead of --dataset: .npy or .csv/.tsv/.txt "
                        "(one row per node, numbers only)")
    f.add_argument("--edges", default=None, metavar="FILE",
                   help="edge list for --features: .npy/.csv/.txt with two 0-based node ids per "
                        "row (default: a kNN graph over the features)")
    f.add_argument("--labels", default=None, metavar="FILE",
                   help="ground truth for --features (one label per line or .npy); only used "
                        "for the metrics")
    f.add_argument("--mmap-features", action="store_true",
                   help="keep the features on disk, memory-mapped, instead of in memory: "
                        "--dataset's from its processed cache, --features from a float32 .npy")
    f.add_argument("--knn", type=int, default=10,
                   help="neighbours of the kNN graph built when --features has no --edges "
                        "(not built for the models that read no graph: ae, dec, idec)")
    f.add_argument("--n-clusters", type=int, default=None,
                   help="number of clusters (default: the number of classes of the labels)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    f.add_argument("--nproc", type=int, default=1,
                   help="train in N processes on torch.distributed (gloo, 127.0.0.1): node "
                        "mini-batches dealt to the ranks, gradients averaged; rank 0 writes the "
                        "result (also works under torchrun)")
    f.add_argument("--out", default=None,
                   help="write a JSON record here, and the labels to <out stem>.labels.csv "
                        "(atomically)")
    f.add_argument("--save-embedding", action="store_true",
                   help="with --out: also write the embedding to <out stem>.embedding.npy")
    f.add_argument("--save-model", default=None, metavar="FILE",
                   help="save the fitted estimator (Estimator.load(FILE) restores it)")
    f.add_argument("--source", default=None,
                   help="labeled source dataset of a source-guided model (gfdc), e.g. digits; "
                        "shorthand for --set source=NAME")

    r = sub.add_parser("reproduce", parents=[common], help="mean +- std over seeds vs the paper",
                       description="Fit over seeds seed0..seed0+runs-1 and report the final "
                                   "epoch's metrics (the protocol), mean +- std, next to the "
                                   "paper's numbers. The label-selected best epoch is shown only "
                                   "in its own column.",
                       epilog=f"models: {models}\ndatasets: {datasets}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--model", "--models", dest="models", action="append", required=True,
                   help=f"model name(s), comma-separated, from: {models}")
    r.add_argument("--dataset", "--datasets", dest="datasets", action="append", required=True,
                   help=f"dataset name(s), comma-separated, from: {datasets}")
    r.add_argument("--runs", type=int, default=10)
    r.add_argument("--mmap-features", action="store_true",
                   help="keep each dataset's features on disk, memory-mapped, instead of in memory")
    r.add_argument("--seed0", type=int, default=0)
    r.add_argument("--out", default="results", help="output directory (default: results/)")
    r.add_argument("--overwrite", action="store_true",
                   help="replace an existing result in --out (by default a complete result is "
                        "kept and an interrupted one with the same settings is resumed)")
    r.add_argument("--no-baselines", action="store_true",
                   help="skip the trivial baselines (KMeans on the features and on propagated "
                        "features, same seeds) that are otherwise reported beside the model")
    r.add_argument("--verbose", action="store_true", help="per-epoch progress of every fit")
    r.add_argument("--quiet", action="store_true", help="no per-run lines, only the tables")

    pl = sub.add_parser("plot", help="training curves and embedding of a `fit --out` record",
                        description="Draw the training curves (loss and, with labels, metrics per "
                                    "epoch) of a JSON record written by `fit --out`, and its "
                                    "embedding (t-SNE, or UMAP when installed) when the record "
                                    "was written with --save-embedding.")
    pl.add_argument("record", help="JSON file written by `dglclust fit --out`")
    pl.add_argument("--out-dir", default=None, help="where to write the PNGs (default: next to "
                                                    "the record)")
    pl.add_argument("--method", default="tsne", choices=["tsne", "umap", "pca"],
                    help="2-D projection of the embedding")

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


def _check_common(args):
    """Usage errors every command shares, found before any data is loaded: a missing --data-dir,
    a device this torch cannot use."""
    if getattr(args, "data_dir", None) and not Path(args.data_dir).expanduser().is_dir():
        raise UsageError(f"--data-dir {args.data_dir!r} is not a directory; give the folder that "
                         "holds the dataset files (or leave it out to use $DGLCLUST_DATA)")
    if getattr(args, "device", None):
        try:
            from dglclust.train import resolve_device

            resolve_device(args.device)
        except (RuntimeError, ValueError, TypeError) as exc:
            raise UsageError(f"--device {args.device!r}: {_r._msg(exc)}") from None


def _read_matrix(path, what):
    """A numeric matrix from .npy or a delimited text file (comma, tab or whitespace)."""
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{what} file {path!r} does not exist")
    try:
        if p.suffix == ".npy":
            return np.load(p, allow_pickle=False)
        text = p.read_text()
        delim = "," if "," in text.split("\n", 1)[0] else ("\t" if "\t" in text else None)
        try:
            return np.loadtxt(p, delimiter=delim, ndmin=2)
        except ValueError:  # a header line
            return np.loadtxt(p, delimiter=delim, ndmin=2, skiprows=1)
    except (ValueError, OSError) as exc:
        raise UsageError(f"cannot read {what} from {path!r}: {exc} (expected .npy or a text file "
                         "with one row of numbers per line)") from None


def _read_labels(path):
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"labels file {path!r} does not exist")
    if p.suffix == ".npy":
        return np.load(p, allow_pickle=False).reshape(-1)
    lines = [ln.strip() for ln in p.read_text().splitlines() if ln.strip()]
    return np.asarray([ln.split(",")[-1].strip() for ln in lines])


def _own_graph(args, reads_graph=True):
    """The graph of ``--features`` (+ ``--edges``, ``--labels``); without ``--edges``, a kNN graph
    over the features, unless the model reads no graph (``reads_graph=False``: AE+KMeans, DEC,
    IDEC), which gets the nodes without edges (a kNN graph of a million rows would cost more than
    the fit)."""
    from dglclust.data import from_arrays

    if args.mmap_features:
        from dglclust.data import open_features

        if Path(args.features).suffix != ".npy":
            raise UsageError(f"--mmap-features needs --features as a float32 .npy file, got "
                             f"{args.features!r}; write one with dglclust.data.save_features")
        try:
            x = open_features(args.features, check=False)  # from_arrays checks it (one pass)
        except (ValueError, OSError) as exc:
            raise UsageError(f"cannot memory-map --features {args.features!r}: {_r._msg(exc)}"
                             ) from None
    else:
        x = _read_matrix(args.features, "features")
    edges = None if args.edges is None else _read_matrix(args.edges, "edges")
    if edges is None and not reads_graph:
        import numpy as np

        edges = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    labels = None if args.labels is None else _read_labels(args.labels)
    try:
        return from_arrays(x, edges=edges, labels=labels, knn=args.knn,
                           copy=not args.mmap_features)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"cannot build a graph from --features {args.features!r}: {_r._msg(exc)}") from None


def _out_paths(out):
    out = Path(out)
    stem = out.with_suffix("") if out.suffix == ".json" else out
    return out, Path(f"{stem}.labels.csv"), Path(f"{stem}.embedding.npy")


def _strip_nproc(argv):
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "--nproc":
            skip = True
            continue
        if a.startswith("--nproc="):
            continue
        out.append(a)
    return out


def _fit_rank(argv):
    """One rank of ``fit --nproc``: the same command in this process; only rank 0 prints."""
    from dglclust.train import distributed as dist

    if dist.rank() != 0:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the rank's lifetime
    code = main(argv)
    if code:
        raise SystemExit(code)


def _fit_distributed(args, argv):
    from dglclust.train import distributed as dist

    try:
        dist.launch(int(args.nproc), _fit_rank, (_strip_nproc(argv),))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - a rank failed: say which and why, exit 1
        print(f"dglclust fit: a training process failed, the others were stopped: {exc}",
              file=sys.stderr)
        return 1
    return 0


def cmd_fit(args, argv):
    model = args.model.lower()
    _check_common(args)
    if args.nproc != 1:
        if args.nproc < 1:
            raise UsageError(f"--nproc must be >= 1, got {args.nproc}")
        return _fit_distributed(args, argv)
    from dglclust.train import distributed as dist

    dist.init_from_env(args.device or "cpu")  # under torchrun: join its process group
    lead = dist.rank() == 0
    if (args.dataset is None) == (args.features is None):
        raise UsageError("give either --dataset NAME or --features FILE (your own data)")
    if args.features is None and (args.edges or args.labels):
        raise UsageError("--edges and --labels go with --features")
    dataset = args.dataset.lower() if args.dataset else Path(args.features).name
    overrides = _overrides(args)
    if getattr(args, "source", None):
        overrides["source"] = args.source.lower()
    if args.n_clusters is not None:
        overrides["n_clusters"] = args.n_clusters
    cls = _r.resolve_estimator(model)
    images = getattr(cls, "input_kind", "graph") == "images"
    if images and args.features:
        raise UsageError(f"{model} clusters images: use --dataset with an image dataset")
    if images:  # image models (gfdc) take (N, C, H, W) tensors, not graphs
        x_img, y_img = _load_images(dataset, data_dir=args.data_dir)
    elif args.features:
        graph = _own_graph(args, reads_graph=getattr(cls, "inference", "graph") != "features")
    else:
        graph = _r.load_graph(dataset, data_dir=args.data_dir, mmap_features=args.mmap_features)
    config_name = dataset if args.dataset else None
    est = _r.build_estimator(model, config_name, args.seed, device=args.device,
                             verbose=not args.quiet, overrides=overrides)
    t0 = time.perf_counter()
    try:
        if images:
            est.fit(x_img, y_img, data_dir=args.data_dir)
        else:
            est.fit(graph)
    except (ValueError, TypeError) as exc:
        # the user's data or settings do not fit the model (own data, image source, n_clusters
        # out of range, a bad hyperparameter): a usage error; anything else is a failure
        from dglclust.configs.validate import InvalidParameterError

        if images or args.features or isinstance(exc, InvalidParameterError) or \
                "n_clusters" in str(exc):
            raise UsageError(_r._msg(exc)) from None
        raise
    wall = time.perf_counter() - t0
    fit_time = float(getattr(est, "fit_time_", wall))

    import numpy as np

    y_true = y_img.numpy() if images else _r.graph_labels(graph)
    history = list(getattr(est, "history_", []) or [])
    final_epoch = history[-1].get("epoch") if history else None
    print(f"{model} on {dataset} (seed {args.seed}"
          + (f", device {args.device}" if args.device else "")
          + (f", final epoch {final_epoch}" if final_epoch is not None else "") + ")")
    metrics = None
    n_found = int(len(np.unique(est.labels_)))
    if y_true is not None:
        metrics = {k: 100.0 * v for k, v in _r._evaluate(y_true, est.labels_).items()}
        print("  ".join(f"{k.upper()} {metrics[k]:.2f}" for k in METRICS) + "   (percent)")
    else:
        print(f"no ground-truth labels: {n_found} clusters found, metrics not computed")
    if getattr(est, "dbi_", None) is not None:
        print(f"DBI {est.dbi_:.4f} (Davies-Bouldin index of the embedding, lower is better)")
    print(f"wall time {fit_time:.2f} s")
    if args.save_model and lead:
        est.save(args.save_model)  # atomically
        print(f"wrote {args.save_model} (load with {type(est).__name__}.load)")
    if args.out and lead:
        _write_fit_record(args, argv, est, model, dataset, metrics, final_epoch, fit_time,
                          overrides, history)
    return 0


def _write_fit_record(args, argv, est, model, dataset, metrics, final_epoch, fit_time, overrides,
                      history):
    import csv

    import numpy as np

    from dglclust.utils import atomic_write, jsonable

    def pct(entry):
        return {k: (100.0 * float(v) if k in METRICS and v is not None else v)
                for k, v in entry.items()}

    json_path, labels_path, emb_path = _out_paths(args.out)
    labels = np.asarray(est.labels_, dtype=np.int64)
    n_found = int(np.unique(labels).size)
    with atomic_write(labels_path, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["node", "cluster"])
        w.writerows(zip(range(labels.size), labels.tolist()))
    files = {"labels": labels_path.name}
    if args.save_embedding:
        emb = getattr(est, "embedding_", None)
        if emb is None:
            raise UsageError(f"{model} has no embedding_ to save")
        with atomic_write(emb_path, "wb") as fh:
            np.save(fh, np.asarray(emb))
        files["embedding"] = emb_path.name
    effective = getattr(est, "params_", None)
    record = {
        "model": model, "dataset": dataset, "seed": args.seed, "device": args.device,
        "metric_units": "percent", "metrics": metrics, "final_epoch": final_epoch,
        "n_clusters": int(getattr(est, "n_clusters_", n_found)),
        "n_clusters_found": n_found,
        "dbi": getattr(est, "dbi_", None),
        "fit_time_s": fit_time, "pretrain_time_s": getattr(est, "pretrain_time_", None),
        "batch_size": getattr(est, "batch_size_", None), "n_iter": getattr(est, "n_iter_", None),
        "timings": getattr(est, "timings_", None),
        "pretrained_from_cache": getattr(est, "pretrain_cached_", None),
        "precision": getattr(est, "precision_", None),
        "device_used": str(getattr(est, "device_", "")) or None,
        "overrides": overrides, "params": _r._safe_params(est),
        "hyperparameters": effective if isinstance(effective, dict) else None,
        "files": files,
        "history": [pct(e) for e in history], "machine": _r.machine_info(args.device),
        "command": _command(argv),
    }
    with atomic_write(json_path) as fh:  # written last: the record names the files it describes
        json.dump(record, fh, indent=2, default=jsonable)
        fh.write("\n")
    print(f"wrote {json_path}, {labels_path}" + (f", {emb_path}" if args.save_embedding else ""))


def cmd_plot(args, argv):
    from dglclust import plots

    rec_path = Path(args.record)
    if not rec_path.is_file():
        raise UsageError(f"{args.record!r} does not exist (give a JSON file written by "
                         "`dglclust fit --out`)")
    try:
        record = json.loads(rec_path.read_text())
    except json.JSONDecodeError as exc:
        raise UsageError(f"{args.record!r} is not JSON: {exc}") from None
    if "history" not in record:
        raise UsageError(f"{args.record!r} has no history: is it a `dglclust fit --out` record?")
    out_dir = Path(args.out_dir) if args.out_dir else rec_path.parent
    stem = rec_path.stem
    title = f"{record.get('model')} on {record.get('dataset')} (seed {record.get('seed')})"
    written = [plots.plot_history(record["history"], out_dir / f"{stem}.history.png", title=title)]
    emb_name = (record.get("files") or {}).get("embedding")
    labels_name = (record.get("files") or {}).get("labels")
    if emb_name and labels_name:
        import numpy as np

        emb = np.load(rec_path.parent / emb_name)
        lab = np.loadtxt(rec_path.parent / labels_name, delimiter=",", skiprows=1,
                         dtype=np.int64, ndmin=2)[:, 1]
        written.append(plots.plot_embedding(emb, lab, out_dir / f"{stem}.embedding.png",
                                            method=args.method, title=title))
    else:
        print("no embedding in the record (write it with `fit --out ... --save-embedding`)")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def cmd_reproduce(args, argv):
    models, datasets = _split(args.models), _split(args.datasets)
    _check_common(args)
    if args.runs < 1:
        raise UsageError(f"--runs must be at least 1, got {args.runs}")
    overrides = _overrides(args)
    for m in models:  # fail fast, before any data is loaded or any model trained
        if getattr(_r.resolve_estimator(m), "input_kind", "graph") == "images":
            raise UsageError(f"`reproduce` runs graph models; {m} clusters images: use "
                             f"`dglclust fit --model {m} --dataset NAME --source NAME --seed S` "
                             "per seed (see results/gfdc/run.sh)")
    graphs = {d: _r.load_graph(d, data_dir=args.data_dir, mmap_features=args.mmap_features)
              for d in datasets}
    log = None if args.quiet else print
    results, status = [], 0
    multi = len(models) * len(datasets) > 1
    for m in models:
        for d in datasets:
            try:
                res = _r.reproduce(m, d, runs=args.runs, seed0=args.seed0, device=args.device,
                                   overrides=overrides, out=args.out, verbose=args.verbose,
                                   graph=graphs[d], command=_command(argv), log=log,
                                   overwrite=args.overwrite, baselines=not args.no_baselines)
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


COMMANDS = {"fit": cmd_fit, "reproduce": cmd_reproduce, "plot": cmd_plot,
            "datasets": cmd_datasets, "bench": cmd_bench}


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
