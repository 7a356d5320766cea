import sys, time, numpy as np, torch
import dglclust
from dglclust.data import load_dataset
from dglclust.nn import AE
from dglclust.train import pretrain_autoencoder, kmeans_init
from dglclust.train.precision import autocast
from dglclust.metrics import evaluate
from sklearn.metrics import silhouette_score, calinski_harabasz_score
ds = sys.argv[1]; K = {'acm':3,'dblp':4,'citeseer':6}[ds]
g = load_dataset(ds)[0]; x = g.ndata['feat']; y = g.ndata['label'].numpy()
for seed in range(int(sys.argv[2])):
    ae = AE(x.shape[1])
    info = pretrain_autoencoder(ae, x, epochs=30, batch_size=256, lr=1e-3, seed=seed, precision='bf16')
    with torch.no_grad(), autocast(torch.device('cpu'), 'bf16'):
        z = ae.encode(x)[-1].float()
    c, lab, inertia = kmeans_init(z, K, 20, seed)
    zn = z.numpy()
    tot = ((zn - zn.mean(0))**2).sum()
    print(ds, seed, 'rec %.5f'%info['loss'], 'inertia/tot %.4f'%(inertia/tot), 'sil %.4f'%silhouette_score(zn, lab), 'ch %.1f'%calinski_harabasz_score(zn, lab), {k: round(v,4) for k,v in evaluate(y, lab).items()}, flush=True)
