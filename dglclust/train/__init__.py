"""Training loops shared by the models: AE pretraining (cached on disk), KMeans initialization,
the self-training loop with the target distribution, and device/seed helpers."""
from .kmeans import kmeans_init
from .pretrain import pretrain_autoencoder, fingerprint
from .selftrain import SelfTrainer, kl_div, label_change_stop
from .device import resolve_device

__all__ = ["kmeans_init", "pretrain_autoencoder", "fingerprint", "SelfTrainer", "kl_div",
           "label_change_stop", "resolve_device"]
