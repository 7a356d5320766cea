// Schema of the AdaGAE sparse graph solve (Li et al., "Adaptive Graph Auto-Encoder for General Data
// Clustering", Eq. 19):
//
//   adagae_graph(x, k, symmetrize=False) -> (indptr, indices, values)
//
// For every row i of x (n x d): the k nearest other rows N_i by squared Euclidean distance d_ij and
// p_ij = (d_{i,k+1} - d_ij) / sum_{v in N_i} (d_{i,k+1} - d_iv) for j in N_i, returned as a CSR
// matrix P with exactly k entries per row (columns ascending; weights may be 0 at a tie with the
// (k+1)-th distance). symmetrize=True returns W = (P + P^T) / 2 instead (union of the two patterns).
// Ties: candidates are ordered by (distance, column index); equal distances give equal weights; if
// the k+1 distances are all equal the row is uniform 1/k; for k = n-1 (no (k+1)-th neighbour)
// d_{i,k+1} := d_{i,k}. Never materializes an n x n matrix. See dglclust/ops/adagae.py.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(dglclust, m) {
  m.def("adagae_graph(Tensor x, int k, bool symmetrize=False) -> (Tensor, Tensor, Tensor)");
}
