// CUDA glue of student_t / student_t_backward / target_distribution: input checks, workspaces,
// the current stream, and TORCH_LIBRARY_IMPL(dglclust, CUDA). Kernels: student_t_kernel.cu.
#ifdef WITH_CUDA
#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime.h>
#include <torch/library.h>

#include <cmath>

namespace dglclust {
namespace cuda {
// launchers (student_t_kernel.cu)
int64_t student_t_num_splits(int64_t n);
cudaError_t student_t_forward_f32(const float*, const float*, float*, int64_t, int64_t, int64_t, double,
                                  cudaStream_t);
cudaError_t student_t_forward_f64(const double*, const double*, double*, int64_t, int64_t, int64_t, double,
                                  cudaStream_t);
cudaError_t student_t_backward_f32(const float*, const float*, const float*, const float*, float*, float*, float*,
                                   float*, int64_t, int64_t, int64_t, double, cudaStream_t);
cudaError_t student_t_backward_f64(const double*, const double*, const double*, const double*, double*, double*,
                                   double*, double*, int64_t, int64_t, int64_t, double, cudaStream_t);
cudaError_t target_distribution_f32(const float*, float*, double*, double*, int64_t, int64_t, cudaStream_t);
cudaError_t target_distribution_f64(const double*, double*, double*, double*, int64_t, int64_t, cudaStream_t);
}  // namespace cuda

namespace {

void check_student_t_inputs(const at::Tensor& z, const at::Tensor& mu, double alpha) {
  TORCH_CHECK(z.dim() == 2 && mu.dim() == 2 && z.size(1) == mu.size(1),
              "student_t: z must be (n, d) and centers (k, d) with the same d, got ", z.sizes(), " and ",
              mu.sizes());
  TORCH_CHECK(z.scalar_type() == mu.scalar_type(), "student_t: z and centers must have the same dtype, got ",
              z.scalar_type(), " and ", mu.scalar_type());
  TORCH_CHECK(z.scalar_type() == at::kFloat || z.scalar_type() == at::kDouble,
              "student_t: the kernel supports float32 and float64, got ", z.scalar_type());
  TORCH_CHECK(mu.size(0) >= 1, "student_t: need at least one center");
  TORCH_CHECK(mu.size(0) <= 65535, "student_t: the CUDA kernel supports at most 65535 centers, got ", mu.size(0));
  TORCH_CHECK(alpha > 0 && std::isfinite(alpha), "student_t: alpha must be a positive finite number, got ", alpha);
  TORCH_CHECK(z.is_cuda() && mu.is_cuda() && z.device() == mu.device(),
              "student_t: z and centers must be on the same CUDA device");
}

void check_launch(cudaError_t err, const char* what) {
  TORCH_CHECK(err == cudaSuccess, what, ": CUDA launch failed: ", cudaGetErrorString(err));
}

at::Tensor student_t_cuda(const at::Tensor& z_, const at::Tensor& mu_, double alpha) {
  check_student_t_inputs(z_, mu_, alpha);
  const c10::cuda::CUDAGuard guard(z_.device());
  const at::Tensor z = z_.contiguous(), mu = mu_.contiguous();
  const int64_t n = z.size(0), k = mu.size(0), d = z.size(1);
  at::Tensor q = at::empty({n, k}, z.options());
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();
  if (z.scalar_type() == at::kFloat) {
    check_launch(cuda::student_t_forward_f32(z.data_ptr<float>(), mu.data_ptr<float>(), q.data_ptr<float>(), n, k, d,
                                             alpha, stream),
                 "student_t");
  } else {
    check_launch(cuda::student_t_forward_f64(z.data_ptr<double>(), mu.data_ptr<double>(), q.data_ptr<double>(), n, k,
                                             d, alpha, stream),
                 "student_t");
  }
  return q;
}

std::tuple<at::Tensor, at::Tensor> student_t_backward_cuda(const at::Tensor& grad_q_, const at::Tensor& z_,
                                                           const at::Tensor& mu_, const at::Tensor& q_,
                                                           double alpha) {
  check_student_t_inputs(z_, mu_, alpha);
  const int64_t n = z_.size(0), k = mu_.size(0), d = z_.size(1);
  TORCH_CHECK(q_.dim() == 2 && q_.size(0) == n && q_.size(1) == k && grad_q_.sizes() == q_.sizes(),
              "student_t_backward: grad_q and q must be (n, k) = (", n, ", ", k, "), got ", grad_q_.sizes(), " and ",
              q_.sizes());
  TORCH_CHECK(grad_q_.device() == z_.device() && q_.device() == z_.device(),
              "student_t_backward: all tensors must be on the same CUDA device");
  const c10::cuda::CUDAGuard guard(z_.device());
  const at::Tensor z = z_.contiguous(), mu = mu_.contiguous();
  const at::Tensor g = grad_q_.to(z.scalar_type()).contiguous(), q = q_.to(z.scalar_type()).contiguous();
  at::Tensor grad_z = at::empty_like(z);
  at::Tensor grad_mu = at::empty_like(mu);
  at::Tensor coef = at::empty({n, k}, z.options());
  at::Tensor partial = at::empty({cuda::student_t_num_splits(n), k, d}, z.options());
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();
  if (z.scalar_type() == at::kFloat) {
    check_launch(cuda::student_t_backward_f32(g.data_ptr<float>(), z.data_ptr<float>(), mu.data_ptr<float>(),
                                              q.data_ptr<float>(), grad_z.data_ptr<float>(),
                                              grad_mu.data_ptr<float>(), coef.data_ptr<float>(),
                                              partial.data_ptr<float>(), n, k, d, alpha, stream),
                 "student_t_backward");
  } else {
    check_launch(cuda::student_t_backward_f64(g.data_ptr<double>(), z.data_ptr<double>(), mu.data_ptr<double>(),
                                              q.data_ptr<double>(), grad_z.data_ptr<double>(),
                                              grad_mu.data_ptr<double>(), coef.data_ptr<double>(),
                                              partial.data_ptr<double>(), n, k, d, alpha, stream),
                 "student_t_backward");
  }
  if (n == 0) grad_mu.zero_();
  return std::make_tuple(grad_z, grad_mu);
}

at::Tensor target_distribution_cuda(const at::Tensor& q_) {
  TORCH_CHECK(q_.dim() == 2, "target_distribution: q must be 2-D (n, k), got shape ", q_.sizes());
  TORCH_CHECK(q_.scalar_type() == at::kFloat || q_.scalar_type() == at::kDouble,
              "target_distribution: the kernel supports float32 and float64, got ", q_.scalar_type());
  TORCH_CHECK(q_.size(1) <= 65535 * 32, "target_distribution: too many columns for the CUDA kernel");
  const c10::cuda::CUDAGuard guard(q_.device());
  const at::Tensor q = q_.contiguous();
  const int64_t n = q.size(0), k = q.size(1);
  at::Tensor p = at::empty_like(q);
  const auto dopts = q.options().dtype(at::kDouble);
  at::Tensor partial = at::empty({cuda::student_t_num_splits(n), k}, dopts);
  at::Tensor inv_f = at::empty({k}, dopts);
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();
  if (q.scalar_type() == at::kFloat) {
    check_launch(cuda::target_distribution_f32(q.data_ptr<float>(), p.data_ptr<float>(), partial.data_ptr<double>(),
                                               inv_f.data_ptr<double>(), n, k, stream),
                 "target_distribution");
  } else {
    check_launch(cuda::target_distribution_f64(q.data_ptr<double>(), p.data_ptr<double>(),
                                               partial.data_ptr<double>(), inv_f.data_ptr<double>(), n, k, stream),
                 "target_distribution");
  }
  return p;
}

}  // namespace

TORCH_LIBRARY_IMPL(dglclust, CUDA, m) {
  m.impl("student_t", &student_t_cuda);
  m.impl("student_t_backward", &student_t_backward_cuda);
  m.impl("target_distribution", &target_distribution_cuda);
}

}  // namespace dglclust
#endif  // WITH_CUDA
