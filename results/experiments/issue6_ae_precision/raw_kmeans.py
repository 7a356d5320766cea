"""KMeans on the raw features, 10 seeds x n_init=10 (the baseline K-means row of the SDCN-family papers)."""
import os, sys, numpy as np
os.environ.setdefault("OMP_NUM_THREADS", "1")
from dglclust.data import registry
from dglclust.metrics import evaluate
from sklearn.cluster import KMeans
name = sys.argv[1]
ds = registry.load_dataset(name)
g = ds[0]
X = g.ndata["feat"].numpy(); y = g.ndata["label"].numpy()
k = int(y.max()) + 1
rs = []
for s in range(10):
    p = KMeans(k, n_init=10, random_state=s).fit_predict(X)
    rs.append([evaluate(y, p)[m] for m in ("acc", "nmi", "ari", "f1")])
rs = np.array(rs) * (100 if np.array(rs).max() <= 1 else 1)
print(name, X.shape, " ".join(f"{m:.2f}+-{s:.2f}" for m, s in zip(rs.mean(0), rs.std(0))))
