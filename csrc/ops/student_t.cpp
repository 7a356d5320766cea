// Schemas of the DEC soft-assignment ops (Student's-t kernel) and the sharpened target distribution.
//
//   student_t(z, centers, alpha)     q_ij = u_ij / sum_j' u_ij',  u_ij = (1 + ||z_i - mu_j||^2 / alpha)^(-(alpha+1)/2)
//   student_t_backward(grad_q, z, centers, q, alpha) -> (grad_z, grad_centers)
//   target_distribution(q)           p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j'),  f_j = sum_i q_ij
//
// Kernels: csrc/cpu/student_t_cpu.cpp, csrc/cuda/student_t_{kernel.cu,cuda.cpp}. Autograd and fake
// (meta) implementations are registered from Python (dglclust/ops/student_t.py).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(dglclust, m) {
  m.def("student_t(Tensor z, Tensor centers, float alpha=1.0) -> Tensor");
  m.def(
      "student_t_backward(Tensor grad_q, Tensor z, Tensor centers, Tensor q, float alpha) -> "
      "(Tensor, Tensor)");
  m.def("target_distribution(Tensor q) -> Tensor");
}
