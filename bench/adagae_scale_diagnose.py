"""Why the large AdaGAE runs collapse: fit the spread-0.5 mixture of bench_adagae_scale.py (n from
argv, default settings of that bench), then count the connected components of the learned graph
and compare spectral clustering with KMeans on the embedding Z.

    OMP_NUM_THREADS=1 python bench/adagae_scale_diagnose.py 10000
"""
import sys; sys.path.insert(0, 'bench')
import numpy as np, torch, scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from bench_adagae_scale import mixture
from dglclust._compat import import_dgl
from dglclust.cluster import AdaGAE
from dglclust.metrics import evaluate
from sklearn.cluster import KMeans
n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000; dgl = import_dgl()
x, y = mixture(n, 64, 10, 0, 0.5)
g = dgl.graph((torch.zeros(0, dtype=torch.int64), torch.zeros(0, dtype=torch.int64)), num_nodes=n)
g.ndata["feat"] = torch.from_numpy(x); g.ndata["label"] = torch.from_numpy(y)
m = AdaGAE(n_clusters=10, random_state=0, verbose=False, k0=5, k_max=50, n_updates=10, steps_per_update=50,
           normalizer="sampled", n_samples=1024, lr=1e-3, lam=1.0, history_metrics=False).fit(g)
w = m.affinity_matrix_
nc, lab = connected_components(w, directed=False)
sizes = np.bincount(lab)
print("spectral", evaluate(y, m.labels_), "components", nc, "largest sizes", sorted(sizes)[-12:])
print("label counts", np.bincount(m.labels_, minlength=10))
z = m.embedding_
print("kmeans on Z", evaluate(y, KMeans(10, n_init=3, random_state=0).fit_predict(z)))
