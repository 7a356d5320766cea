// Torch glue of the CUDA dglclust::normalized_spmm: argument checks (shared with the CPU kernel),
// the current stream, and the CUDA registration. The kernels themselves are in
// normalized_spmm_kernel.cu (CUDA runtime only). Compiled only in CUDA builds (WITH_CUDA).
//
// Unlike the CPU kernel, the CUDA kernel does not report out-of-range column ids (that would need
// a device synchronization per call): it skips them. dglclust.ops.normalized_spmm / graph_spmm
// validate every structure once (cached), so this only concerns direct calls of the raw op.
#ifdef WITH_CUDA

#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <torch/library.h>

#include <array>
#include <optional>

namespace dglclust {

std::array<at::Tensor, 6> normalized_spmm_check_inputs(
    const at::Tensor& indptr, const at::Tensor& indices, const at::Tensor& x,
    const std::optional<at::Tensor>& edge_weight, const std::optional<at::Tensor>& row_scale,
    const std::optional<at::Tensor>& col_scale);

template <typename T, typename I>
cudaError_t launch_normalized_spmm(const int64_t* indptr, const I* indices, const T* w,
                                   const T* rs, const T* cs, const T* x, T* y, int64_t n,
                                   int64_t F, int64_t nnz, bool self, cudaStream_t stream);

namespace {

at::Tensor normalized_spmm_cuda(const at::Tensor& indptr_in, const at::Tensor& indices_in,
                                const at::Tensor& x_in,
                                const std::optional<at::Tensor>& edge_weight,
                                const std::optional<at::Tensor>& row_scale,
                                const std::optional<at::Tensor>& col_scale, bool add_self_loops,
                                const std::optional<at::Tensor>& /*t_indptr*/,
                                const std::optional<at::Tensor>& /*t_indices*/,
                                const std::optional<at::Tensor>& /*t_perm*/) {
  TORCH_CHECK(x_in.is_cuda(), "normalized_spmm (CUDA): x must be a CUDA tensor, got ",
              x_in.device());
  const c10::cuda::CUDAGuard guard(x_in.device());
  auto [indptr, indices, x, w, rs, cs] =
      normalized_spmm_check_inputs(indptr_in, indices_in, x_in, edge_weight, row_scale, col_scale);
  const int64_t n = x.size(0), F = x.size(1), nnz = indices.numel();
  at::Tensor y = at::empty({n, F}, x.options());
  if (n == 0 || F == 0) return y;
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream(x.device().index()).stream();
  cudaError_t status = cudaSuccess;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "normalized_spmm_cuda", [&] {
    const scalar_t* wp = w.defined() ? w.data_ptr<scalar_t>() : nullptr;
    const scalar_t* rp = rs.defined() ? rs.data_ptr<scalar_t>() : nullptr;
    const scalar_t* cp = cs.defined() ? cs.data_ptr<scalar_t>() : nullptr;
    if (indices.scalar_type() == at::kInt) {
      status = launch_normalized_spmm<scalar_t, int32_t>(
          indptr.data_ptr<int64_t>(), indices.data_ptr<int32_t>(), wp, rp, cp,
          x.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), n, F, nnz, add_self_loops, stream);
    } else {
      status = launch_normalized_spmm<scalar_t, int64_t>(
          indptr.data_ptr<int64_t>(), indices.data_ptr<int64_t>(), wp, rp, cp,
          x.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), n, F, nnz, add_self_loops, stream);
    }
  });
  TORCH_CHECK(status == cudaSuccess, "normalized_spmm (CUDA): kernel launch failed: ",
              cudaGetErrorString(status));
  return y;
}

}  // namespace

TORCH_LIBRARY_IMPL(dglclust, CUDA, m) { m.impl("normalized_spmm", &normalized_spmm_cuda); }

}  // namespace dglclust

#endif  // WITH_CUDA
