// dglclust::normalized_spmm -- Y = diag(row_scale) (A + I) diag(col_scale) X for a CSR matrix A.
//
// The op is deliberately "scale-parameterized": the Python wrapper (dglclust/ops/spmm.py) turns
// norm="sym" / "row" / "none" into per-node scale vectors computed once per graph from degrees
// (D_r^-1/2 and D_c^-1/2, or D_r^-1 and nothing) and the kernels fold them into the gather loop,
// so no normalized edge values are ever materialized:
//
//   y[i] = rs[i] * ([self] cs[i] x[i] + sum_{k in row i} w[k] cs[indices[k]] x[indices[k]])
//
// Arguments
//   indptr (n+1,), indices (nnz,)  int32 or int64 CSR of the n x n matrix A; row i lists the
//                                  columns j of A[i, j] (for a DGL graph: the sources of edges
//                                  j -> i).
//   x (n, F)                       float32 or float64.
//   edge_weight (nnz,)?            values of A in CSR order (ones when None).
//   row_scale (n,)?, col_scale (n,)?  diagonal scalings (identity when None).
//   add_self_loops                 adds I (with unit weight) to A.
//   t_indptr?, t_indices?, t_perm? only used by the backward: the CSR of A^T and, for weighted
//                                  graphs, t_perm[q] = position (in A's CSR) of the edge stored at
//                                  position q of A^T's CSR. t_indptr = None means "A is symmetric
//                                  (weights included): reuse indptr/indices/edge_weight".
//
// The backward w.r.t. x is the same op on A^T with the two scales swapped (registered in Python
// with torch.library.register_autograd); gradients w.r.t. edge_weight / scales are not provided
// by the op (the Python wrapper routes such calls to the differentiable reference).
#include <ATen/ATen.h>
#include <torch/library.h>

#include <array>
#include <optional>

namespace dglclust {

// Shared argument validation of the CPU and CUDA implementations. Returns, in this order:
// indptr (int64, contiguous), indices (int32 or int64, contiguous), x (contiguous), edge_weight,
// row_scale, col_scale (contiguous, x's dtype, or undefined tensors when absent).
std::array<at::Tensor, 6> normalized_spmm_check_inputs(
    const at::Tensor& indptr, const at::Tensor& indices, const at::Tensor& x,
    const std::optional<at::Tensor>& edge_weight, const std::optional<at::Tensor>& row_scale,
    const std::optional<at::Tensor>& col_scale) {
  TORCH_CHECK(x.dim() == 2, "normalized_spmm: x must be 2-D (nodes x features), got shape ",
              x.sizes());
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble,
              "normalized_spmm: the compiled kernel supports float32 and float64 x, got ",
              x.scalar_type(), "; call dglclust.ops.normalized_spmm, which falls back to the "
              "reference for other dtypes");
  TORCH_CHECK(indptr.dim() == 1 && indices.dim() == 1,
              "normalized_spmm: indptr and indices must be 1-D, got shapes ", indptr.sizes(),
              " and ", indices.sizes());
  auto is_index = [](const at::Tensor& t) {
    return t.scalar_type() == at::kInt || t.scalar_type() == at::kLong;
  };
  TORCH_CHECK(is_index(indptr) && is_index(indices),
              "normalized_spmm: indptr and indices must be int32 or int64, got ",
              indptr.scalar_type(), " and ", indices.scalar_type());
  TORCH_CHECK(indptr.device() == x.device() && indices.device() == x.device(),
              "normalized_spmm: indptr, indices and x must be on the same device, got ",
              indptr.device(), ", ", indices.device(), " and ", x.device(),
              "; move the graph structure with dglclust.ops.graph_csr(g, device)");
  const int64_t n = x.size(0);
  TORCH_CHECK(indptr.numel() == n + 1, "normalized_spmm: x has ", n,
              " rows but indptr describes ", indptr.numel() - 1,
              " nodes (indptr must have num_nodes + 1 entries)");
  const int64_t nnz = indices.numel();
  auto vec = [&](const std::optional<at::Tensor>& t, int64_t len, const char* name) {
    if (!t.has_value() || !t->defined()) return at::Tensor();
    TORCH_CHECK(t->dim() == 1 && t->numel() == len, "normalized_spmm: ", name, " must be 1-D with ",
                len, " entries, got shape ", t->sizes());
    TORCH_CHECK(t->device() == x.device(), "normalized_spmm: ", name, " is on ", t->device(),
                " but x is on ", x.device());
    return t->to(x.scalar_type()).contiguous();
  };
  at::Tensor w = vec(edge_weight, nnz, "edge_weight (one value per edge)");
  at::Tensor rs = vec(row_scale, n, "row_scale (one value per node)");
  at::Tensor cs = vec(col_scale, n, "col_scale (one value per node)");
  return {indptr.to(at::kLong).contiguous(), indices.contiguous(), x.contiguous(), w, rs, cs};
}

}  // namespace dglclust

TORCH_LIBRARY_FRAGMENT(dglclust, m) {
  m.def(
      "normalized_spmm(Tensor indptr, Tensor indices, Tensor x, Tensor? edge_weight, "
      "Tensor? row_scale, Tensor? col_scale, bool add_self_loops, Tensor? t_indptr, "
      "Tensor? t_indices, Tensor? t_perm) -> Tensor");
}
