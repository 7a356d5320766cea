"""KMeans on the raw features, 10 seeds x n_init=10 (the baseline K-means row of the SDCN-family papers).

    python results/experiments/issue6_ae_precision/raw_kmeans.py dblp
"""
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402

from dglclust.data import load_dataset  # noqa: E402
from dglclust.metrics import evaluate  # noqa: E402

METRICS = ("acc", "nmi", "ari", "f1")
name = sys.argv[1]
g = load_dataset(name)[0]
X, y = g.ndata["feat"].numpy(), g.ndata["label"].numpy()
k = int(y.max()) + 1
rs = []
for s in range(10):
    scores = evaluate(y, KMeans(k, n_init=10, random_state=s).fit_predict(X))  # fractions
    rs.append([scores[m] for m in METRICS])
rs = 100 * np.array(rs)
print(name, X.shape, " ".join(f"{m:.2f}+-{s:.2f}" for m, s in zip(rs.mean(0), rs.std(0))))
