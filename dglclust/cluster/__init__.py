"""scikit-learn-style clustering estimators (``fit``, ``fit_predict``, ``labels_``)."""
from .base import BaseClusterer, GraphTooLargeError, check_graph
from .estimators import AEKMeans, DEC, IDEC, SDCN
from .agcn import AGCN, AGCNH, AGCNS
from .dfcn import DFCN
from .adagae import AdaGAE
from .caegcn import CaEGCN
from .gae import DAEGC, GAE, VGAE
from .gfdc import GFDC
from .baselines import KMeansFeatures, KMeansPropagated

ESTIMATORS = {
    "ae": AEKMeans,
    "dec": DEC,
    "idec": IDEC,
    "sdcn": SDCN,
    "agcn": AGCN,
    "agcn-h": AGCNH,
    "agcn-s": AGCNS,
    "dfcn": DFCN,
    "adagae": AdaGAE,
    "caegcn": CaEGCN,
    "gae": GAE,
    "vgae": VGAE,
    "daegc": DAEGC,
    "gfdc": GFDC,
    "kmeans": KMeansFeatures,
    "kmeans-prop": KMeansPropagated,
}

#: the trivial baselines ``reproduce`` reports beside every model (see :mod:`.baselines`)
BASELINES = ("kmeans", "kmeans-prop")


def get_estimator(name: str):
    """Estimator class registered under ``name`` (case-insensitive)."""
    try:
        return ESTIMATORS[name.lower()]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; available: {sorted(ESTIMATORS)}") from None


__all__ = ["BaseClusterer", "GraphTooLargeError", "check_graph", "ESTIMATORS", "get_estimator", "AEKMeans", "DEC", "IDEC", "SDCN", "GFDC",
           "KMeansFeatures", "KMeansPropagated", "BASELINES"]
