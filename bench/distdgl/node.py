"""One DistDGL process of probe.sh: ``server DIR`` or ``client DIR RANK``."""
import sys

import torch

import dglclust  # noqa: F401  (first: the torch/DGL compatibility shim)
import dgl  # noqa: E402

role, folder = sys.argv[1], sys.argv[2]
dgl.distributed.initialize(f"{folder}/ip_config.txt")
if role == "client":
    rank = int(sys.argv[3])
    torch.distributed.init_process_group("gloo", init_method="tcp://127.0.0.1:29512", world_size=2, rank=rank)
    dg = dgl.distributed.DistGraph("digits")
    print("rank", rank, "DistGraph", dg.num_nodes(), dg.num_edges(), flush=True)
    seeds = dgl.distributed.node_split(torch.ones(dg.num_nodes(), dtype=torch.bool), dg.get_partition_book(),
                                       force_even=True)
    print("rank", rank, "local seeds", len(seeds), flush=True)
    loader = dgl.dataloading.DistNodeDataLoader(dg, seeds, dgl.dataloading.NeighborSampler([5, 5]),
                                                batch_size=64, shuffle=True)
    total = 0
    for inputs, outputs, blocks in loader:
        feats = dg.ndata["feat"][inputs]
        total += outputs.numel()
    print("rank", rank, "sampled seeds", total, "features", tuple(feats.shape), flush=True)
    dgl.distributed.exit_client()
