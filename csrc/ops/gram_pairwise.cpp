// Schema of the all-pairs sum of inner-product decoders (GAE / VGAE / CaEGCN reconstruction losses).
//
//   gram_pairwise_sum(z, kind, need_grad) -> (total, grad)
//     total = sum_{i,j} h(z_i . z_j) over all n^2 ordered pairs (float64 scalar),
//     grad  = d total / d z = 2 sum_j h'(z_i . z_j) z_j  (n x d; empty when need_grad is false),
//     kind 0: h(s) = sigmoid(s)^2,  kind 1: h(s) = softplus(s).
//
// Kernel: csrc/cpu/gram_pairwise_cpu.cpp (no n x n matrix: one triangle in 64 x 2048 tiles, each
// scored, transformed and multiplied back while in cache). The Python side (dglclust/nn/recon.py) wraps it in an autograd
// function and falls back to torch block products where no kernel exists (CUDA, other dtypes).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(dglclust, m) {
  m.def("gram_pairwise_sum(Tensor z, int kind, bool need_grad) -> (Tensor, Tensor)");
}
