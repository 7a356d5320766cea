"""``input_pca``: the AE-based models read the top principal components of the features."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dglclust.cluster import DEC, SDCN
from dglclust.configs.validate import InvalidParameterError
from dglclust.data.projection import apply_pca, fit_pca

TINY = dict(ae_dims=[16, 16, 32], latent_dim=4, pretrain_epochs=3, pretrain_restarts=1, epochs=2, n_init=2)


def test_projection_equals_scikit_learn_pca():
    from sklearn.decomposition import PCA

    x = torch.randn(500, 12) @ torch.randn(12, 12)
    mean, comps = fit_pca(x, 4)
    ref = PCA(4, random_state=0).fit_transform(x.numpy())
    got = apply_pca(x, mean, comps).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
    assert mean.shape == (12,) and comps.shape == (4, 12)


def test_model_reads_the_components_and_new_nodes_are_projected(digits_graph, tmp_path):
    digits = digits_graph
    x = digits.ndata["feat"].numpy()
    est = DEC(n_clusters=10, random_state=0, verbose=False, input_pca="clusters", **TINY).fit(digits)
    assert est.input_components_.shape == (10, 64) and est.input_mean_.shape == (64,)
    assert est.module_.ae.encoder[0].in_features == 10  # the AE reads 10 components, not 64 columns
    assert est.n_features_in_ == 64  # new nodes are given with their 64 raw features
    np.testing.assert_allclose(est.transform(x), est.embedding_, rtol=1e-4, atol=1e-4)
    est.save(tmp_path / "dec.pt")
    back = DEC.load(tmp_path / "dec.pt")
    np.testing.assert_array_equal(back.predict(x), est.predict(x))
    with pytest.raises(ValueError, match="X has 10 features, but DEC was fitted with 64"):
        est.predict(x[:, :10])
    plain = DEC(n_clusters=10, random_state=0, verbose=False, **TINY).fit(digits)
    assert plain.input_components_ is None and plain.module_.ae.encoder[0].in_features == 64


def test_graph_model_with_components(digits_graph):
    est = SDCN(n_clusters=10, random_state=0, verbose=False, input_pca=20, **TINY).fit(digits_graph)
    assert est.input_components_.shape == (20, 64) and est.module_.ae.encoder[0].in_features == 20
    np.testing.assert_allclose(est.transform(digits_graph), est.embedding_, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("value,msg", [
    (0, "DEC: input_pca=0 is invalid; input_pca must be None or an int >= 1 or one of 'clusters'"),
    ("all", "DEC: input_pca='all' is invalid; input_pca must be None or an int >= 1 or one of 'clusters'"),
])
def test_bad_values(value, msg):
    with pytest.raises(InvalidParameterError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        DEC(n_clusters=3, input_pca=value)


def test_more_components_than_features(digits_graph):
    with pytest.raises(ValueError, match=r"input_pca=65: the number of principal components must be between "
                                         r"1 and min\(nodes, features\) = 64"):
        DEC(n_clusters=10, verbose=False, input_pca=65, **TINY).fit(digits_graph)
