"""Partition the digits graph into 2 parts with METIS (dgl.distributed.partition_graph)."""
import sys


import dglclust  # noqa: F401  (first: the torch/DGL compatibility shim)
import dgl  # noqa: E402
from dglclust.data import load_dataset

g = load_dataset("digits")[0]
dgl.distributed.partition_graph(g, "digits", 2, sys.argv[1], part_method="metis")
