"""Every graph model gets the same labels from memory-mapped features as from features in memory
(short fits on digits, seed 0; each pair pretrains in its own cache folder, so both fits train).

    DGLCLUST_CACHE=/tmp/mmcheck python tools/check_mmap_labels.py

Prints one line per model; exits 1 if any pair differs. (The suite tests DEC and KMeans on
propagated features the same way: tests/test_feature_store.py.)"""
import os
import sys
import tempfile
import warnings

import numpy as np

from dglclust.cluster import get_estimator
from dglclust.data import is_memory_mapped, load_dataset

SHORT = {"sdcn": dict(pretrain_epochs=5, epochs=3), "agcn-s": dict(pretrain_epochs=5, epochs=3),
         "dfcn": dict(pretrain_epochs=3, epochs=3), "gae": dict(epochs=5), "vgae": dict(epochs=5),
         "daegc": dict(pretrain_epochs=5, epochs=3), "adagae": {},
         "caegcn": dict(pretrain_epochs=3, epochs=2), "idec": dict(pretrain_epochs=5, epochs=3),
         "ae": dict(pretrain_epochs=5), "kmeans": {}, "kmeans-prop": {}}


def main():
    warnings.filterwarnings("ignore")
    whole = load_dataset("digits")[0]
    mapped = load_dataset("digits", mmap_features=True)[0]
    assert is_memory_mapped(mapped.ndata["feat"])
    bad = []
    for name, kw in SHORT.items():
        labels = []
        for g in (whole, mapped):
            with tempfile.TemporaryDirectory() as cache:
                os.environ["DGLCLUST_CACHE"] = cache  # its own AE pretraining
                est = get_estimator(name).from_config("digits", random_state=0, verbose=False, **kw)
                labels.append(est.fit(g).labels_)
        same = np.array_equal(*labels)
        print(f"{name}: {'same labels' if same else 'DIFFERENT labels'}", flush=True)
        bad += [] if same else [name]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
