"""Image datasets as ``(N, C, H, W)`` tensors: MNIST (10k test set, 60k train set), and the image
view of the pixel datasets USPS and digits.

Image datasets use the same machinery as every other dataset: they are registered
:class:`~dglclust.data.ClusteringDataset` subclasses (``load_dataset("mnist-10k")`` returns a
DGLGraph with the flattened pixels in ``ndata["feat"]`` and ``ndata["label"]``), their raw files
are listed in :data:`dglclust.data.FILES` (sha256-verified, read from the local data directory,
else downloaded unless ``DGLCLUST_OFFLINE=1``), and processed results are cached.

:func:`load_images` is the image view of a registered dataset: it loads the dataset through
:func:`load_dataset` and reshapes ``ndata["feat"]`` to the image shape registered for the name with
:func:`register_image_shape` (``usps``: 1x16x16, ``digits``: 1x8x8, ``mnist-10k`` /
``mnist-train``: 1x28x28). Pixels are in ``[0, 1]`` (USPS as stored, digits / 16, MNIST / 255);
images smaller than ``min_size`` are upsampled (bilinear) so that convolutional feature extractors
with five pooling stages (VGG) get at least 16x16 inputs.

The MNIST datasets carry **no graph** by default (``graph="none"``: zero edges, as a kNN graph on
70k images is expensive and GFDC builds its own per-batch graphs); ``graph="knn"`` builds a
``k``-nearest-neighbour graph on the pixels like the other feature datasets.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass

import numpy as np
import torch

from ._files import register_file
from .base import ClusteringDataset
from .registry import _norm, load_dataset, register_dataset

__all__ = [
    "MNIST10k",
    "MNISTTrain",
    "ImageInfo",
    "IMAGE_DATASETS",
    "register_image_shape",
    "image_datasets",
    "load_images",
    "resize_images",
    "read_idx",
]

# --- MNIST raw files (LeCun idx format, gzip) ------------------------------------------------------
_TCCN = ("https://raw.githubusercontent.com/wang2506/tccn_domain_adaptation/"
         "b1f641b5692b45aa732d108cf5c6eeb4b0bd2590/data/MNIST/raw")
# the 60k training images are not in that snapshot; torchvision's mirror of the LeCun originals
_OSSCI = "https://ossci-datasets.s3.amazonaws.com/mnist"
for _path, _url, _sha, _size in [
    ("mnist/t10k-images-idx3-ubyte.gz", f"{_TCCN}/t10k-images-idx3-ubyte.gz",
     "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
    ("mnist/t10k-labels-idx1-ubyte.gz", f"{_TCCN}/t10k-labels-idx1-ubyte.gz",
     "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
    ("mnist/train-labels-idx1-ubyte.gz", f"{_TCCN}/train-labels-idx1-ubyte.gz",
     "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
    ("mnist/train-images-idx3-ubyte.gz", f"{_OSSCI}/train-images-idx3-ubyte.gz",
     "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
]:
    register_file(_path, _url, _sha, _size)

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Read a (gzip-compressed or plain) LeCun ``idx`` file into a numpy array of its shape."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an idx file (bad magic number {data[:4]!r})")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    offset = 4 + 4 * ndim
    count = int(np.prod(dims)) if dims else 0
    if len(data) - offset != count * dtype.itemsize:
        raise ValueError(f"{path}: idx header promises shape {dims} but the file holds "
                         f"{len(data) - offset} bytes of data; the file is truncated or corrupt")
    return np.frombuffer(data, dtype=dtype, offset=offset, count=count).reshape(dims)


class _MNISTBase(ClusteringDataset):
    """MNIST digits: 28x28 grayscale, pixels / 255 in ``[0, 1]`` (784 features), 10 classes.

    Args:
        data_dir: folder holding ``mnist/<file>`` (default ``$DGLCLUST_DATA`` /
            ``../shared/datasets``; downloaded and sha256-verified otherwise).
        graph: ``"none"`` (default: no edges) or ``"knn"`` (kNN graph on the pixels).
        k, metric: neighbours and similarity of the ``"knn"`` graph (default 3, ``"heat"``).
    """

    _IMAGES = ""
    _LABELS = ""
    version = 1

    def __init__(self, data_dir=None, graph="none", k=3, metric="heat", force_reload=False,
                 verbose=False, transform=None, mmap_features=False):
        if graph not in ("none", "knn"):
            raise ValueError(f"{self.name_}: graph must be 'none' (no edges) or 'knn', got {graph!r}")
        options = {"graph": graph}
        if graph == "knn":
            if metric not in ("heat", "cosine", "ip"):
                raise ValueError(f"{self.name_}: metric must be 'heat', 'cosine' or 'ip', got "
                                 f"{metric!r}")
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
                raise ValueError(f"{self.name_}: k must be a positive int, got {k!r}")
            options.update(k=int(k), metric=metric)
        super().__init__(data_dir, options, force_reload, verbose, transform, mmap_features)

    def raw_files(self):
        return [self._IMAGES, self._LABELS]

    def build(self, paths):
        images = read_idx(paths[self._IMAGES])
        labels = read_idx(paths[self._LABELS]).astype(np.int64).reshape(-1)
        if images.ndim != 3 or images.shape[0] != labels.shape[0]:
            raise ValueError(f"{self.name_}: {images.shape} images for {labels.shape[0]} labels; "
                             "the raw files do not belong together")
        x = (images.reshape(images.shape[0], -1).astype(np.float32) / 255.0)
        if self.options["graph"] == "knn":
            edges = self.knn_edges(x)
        else:
            edges = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        return {"features": x, "labels": labels, "edges": edges, "num_classes": 10}


@register_dataset(
    "mnist-10k",
    nodes=10000,
    features=784,
    classes=10,
    source="MNIST test set t10k-images/labels-idx*-ubyte.gz (LeCun originals); pixels / 255; "
    "no graph by default",
    description="MNIST 10k test images (28x28), the image datasets' offline MNIST",
)
class MNIST10k(_MNISTBase):
    __doc__ = _MNISTBase.__doc__.replace("MNIST digits", "MNIST test set (10000 images)")
    name_ = "mnist-10k"
    _IMAGES = "mnist/t10k-images-idx3-ubyte.gz"
    _LABELS = "mnist/t10k-labels-idx1-ubyte.gz"


@register_dataset(
    "mnist-train",
    nodes=60000,
    features=784,
    classes=10,
    source="MNIST training set train-images/labels-idx*-ubyte.gz (LeCun originals; the images "
    "download, 9.9 MB); pixels / 255; no graph by default",
    description="MNIST 60k training images (28x28)",
)
class MNISTTrain(_MNISTBase):
    __doc__ = _MNISTBase.__doc__.replace("MNIST digits", "MNIST training set (60000 images)")
    name_ = "mnist-train"
    _IMAGES = "mnist/train-images-idx3-ubyte.gz"
    _LABELS = "mnist/train-labels-idx1-ubyte.gz"


# --- image view of registered datasets ---------------------------------------------------------------
@dataclass(frozen=True)
class ImageInfo:
    """How to read a registered dataset as images: ``shape`` ``(C, H, W)`` of one image (the
    flattened ``ndata["feat"]`` is reshaped to it, row-major), ``scale`` dividing the stored
    features to bring them into ``[0, 1]``, ``load_kwargs`` passed to :func:`load_dataset` (e.g.
    ``{"graph": "none"}`` to skip a kNN graph)."""

    shape: tuple
    scale: float = 1.0
    load_kwargs: tuple = ()


IMAGE_DATASETS: dict[str, ImageInfo] = {}


def register_image_shape(name, shape, scale=1.0, **load_kwargs):
    """Declare that the registered dataset ``name`` holds images of ``shape`` ``(C, H, W)``."""
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"image shape must be (C, H, W) with positive sizes, got {shape}")
    IMAGE_DATASETS[_norm(name)] = ImageInfo(shape, float(scale), tuple(sorted(load_kwargs.items())))


# USPS (usps.h5) and digits (features already / 16) are stored in [0, 1]
register_image_shape("usps", (1, 16, 16))
register_image_shape("digits", (1, 8, 8))
register_image_shape("mnist-10k", (1, 28, 28), graph="none")
register_image_shape("mnist-train", (1, 28, 28), graph="none")


def image_datasets() -> list[str]:
    """Names that :func:`load_images` accepts."""
    return sorted(IMAGE_DATASETS)


def resize_images(images: torch.Tensor, size) -> torch.Tensor:
    """Resize a ``(N, C, H, W)`` float batch to ``size`` (int or ``(H, W)``): bilinear, with
    anti-aliasing when shrinking; values are clamped back into the input's range."""
    if isinstance(size, int):
        size = (size, size)
    size = (int(size[0]), int(size[1]))
    if tuple(images.shape[-2:]) == size:
        return images
    shrink = size[0] < images.shape[-2] or size[1] < images.shape[-1]
    out = torch.nn.functional.interpolate(images, size=size, mode="bilinear", align_corners=False,
                                          antialias=shrink)
    return out.clamp_(float(images.min()), float(images.max())) if images.numel() else out


def load_images(name, data_dir=None, min_size=16, **kw):
    """Load a registered image dataset as ``(images, labels)``.

    Args:
        name: ``"usps"`` (9298 x 1 x 16 x 16), ``"mnist-10k"`` (10000 x 1 x 28 x 28),
            ``"mnist-train"`` (60000 x 1 x 28 x 28, downloads the images), ``"digits"``
            (1797 x 1 x 8 x 8, upsampled to ``min_size``); see :func:`image_datasets`.
        data_dir: local data directory (see :func:`dglclust.data.load_dataset`).
        min_size: images whose height or width is smaller are upsampled (bilinear) to at least
            ``min_size`` on both sides, keeping the aspect ratio of square images; ``None`` or 0
            keeps the native size.
        **kw: dataset options forwarded to :func:`load_dataset` (override the registered ones).

    Returns:
        ``(images, labels)``: float32 ``(N, C, H, W)`` tensor in ``[0, 1]`` and int64 ``(N,)``
        0-based labels, both on the CPU.

    Example:
        >>> from dglclust.data import load_images
        >>> x, y = load_images("digits")
        >>> tuple(x.shape), int(y.max()) + 1
        ((1797, 1, 16, 16), 10)
    """
    key = _norm(name)
    if key not in IMAGE_DATASETS:
        raise ValueError(f"{name!r} is not an image dataset; image datasets: "
                         f"{', '.join(image_datasets())} (register others with "
                         "dglclust.data.register_image_shape)")
    info = IMAGE_DATASETS[key]
    opts = dict(info.load_kwargs)
    opts.update(kw)
    g = load_dataset(key, data_dir=data_dir, **opts)[0]
    feat = g.ndata["feat"]
    c, h, w = info.shape
    if feat.dim() != 2 or feat.shape[1] != c * h * w:
        raise ValueError(f"{key}: features of shape {tuple(feat.shape)} cannot be images of shape "
                         f"{info.shape}")
    images = feat.reshape(-1, c, h, w).float()
    if info.scale != 1.0:
        images = images / info.scale
    images = images.clone()
    if min_size and min(h, w) < int(min_size):
        f = int(min_size) / min(h, w)
        images = resize_images(images, (int(round(h * f)), int(round(w * f))))
    return images.contiguous(), g.ndata["label"].clone().to(torch.int64)
