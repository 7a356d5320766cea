// CUDA glue of adagae_graph: checks, selection data, row x column tiles whose inner products come
// from cuBLAS (at::mm, TF32 disabled for the call), the selection / refinement kernels of
// adagae_graph_kernel.cu, and the symmetrization with ATen ops. Memory: O(n (c + d)) plus one
// R x C tile (R * C <= 2^24 entries); never n x n.
#ifdef WITH_CUDA
#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <torch/library.h>

#include <algorithm>
#include <limits>

namespace dglclust {
namespace cuda {
// launchers (adagae_graph_kernel.cu)
cudaError_t adagae_select_tile_f32(const float*, int64_t, const float*, int64_t, int64_t, int64_t, int64_t, float*,
                                   int64_t*, int64_t, cudaStream_t);
cudaError_t adagae_select_tile_f64(const double*, int64_t, const double*, int64_t, int64_t, int64_t, int64_t,
                                   double*, int64_t*, int64_t, cudaStream_t);
cudaError_t adagae_refine_f32(const float*, int64_t, int64_t, int64_t, const int64_t*, int64_t, double*, int32_t*,
                              int64_t*, float*, cudaStream_t);
cudaError_t adagae_refine_f64(const double*, int64_t, int64_t, int64_t, const int64_t*, int64_t, double*, int32_t*,
                              int64_t*, double*, cudaStream_t);
}  // namespace cuda

namespace {

constexpr int64_t kMargin = 8;             // same as the CPU kernel and dglclust/ops/adagae.py
constexpr int64_t kTileEntries = 1 << 24;  // R x C distance tile
constexpr int64_t kTileCols = 8192;

void check_adagae_inputs(const at::Tensor& x, int64_t k) {
  TORCH_CHECK(x.dim() == 2, "adagae_graph: x must be a 2-D (n, d) feature matrix, got shape ", x.sizes());
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble,
              "adagae_graph: x must be float32 or float64, got ", x.scalar_type());
  const int64_t n = x.size(0);
  TORCH_CHECK(x.size(1) >= 1, "adagae_graph: x has no features (shape ", x.sizes(), ")");
  TORCH_CHECK(n >= 2, "adagae_graph: need at least 2 points, got n = ", n);
  TORCH_CHECK(k >= 1 && k < n, "adagae_graph: k must satisfy 1 <= k < n (k neighbours besides the point "
              "itself), got k = ", k, " with n = ", n);
  TORCH_CHECK(n < (int64_t(1) << 31), "adagae_graph: the CUDA kernel supports n < 2^31 points, got n = ", n);
  TORCH_CHECK(at::isfinite(x).all().item<bool>(), "adagae_graph: x contains NaN or Inf; clean the features "
              "(e.g. torch.nan_to_num) before building the graph");
}

void check_launch(cudaError_t err) {
  TORCH_CHECK(err == cudaSuccess, "adagae_graph: CUDA launch failed: ", cudaGetErrorString(err));
}

// Full-precision float32 GEMMs for the selection: restore the user's TF32 setting afterwards.
struct NoTF32Guard {
  bool previous;
  NoTF32Guard() : previous(at::globalContext().allowTF32CuBLAS()) {
    if (previous) at::globalContext().setAllowTF32CuBLAS(false);
  }
  ~NoTF32Guard() {
    if (previous) at::globalContext().setAllowTF32CuBLAS(true);
  }
};

// W = (P + P^T) / 2 with ATen ops: union pattern, rows sorted by column.
std::tuple<at::Tensor, at::Tensor, at::Tensor> symmetrize(const at::Tensor& indices, const at::Tensor& values,
                                                          int64_t n, int64_t k) {
  const auto lopts = indices.options();
  const at::Tensor rows = at::arange(n, lopts).repeat_interleave(k);
  const at::Tensor r = at::cat({rows, indices});
  const at::Tensor c = at::cat({indices, rows});
  const at::Tensor v = at::cat({values, values}) / 2;
  auto sorted = at::sort(r * n + c, /*stable=*/true, /*dim=*/0, /*descending=*/false);
  const at::Tensor& key = std::get<0>(sorted);
  const at::Tensor& perm = std::get<1>(sorted);
  auto uniq = at::unique_consecutive(key, /*return_inverse=*/true, /*return_counts=*/false);
  const at::Tensor& ukey = std::get<0>(uniq);
  const at::Tensor& inverse = std::get<1>(uniq);
  // every key has one or two contributions, and a + b == b + a: deterministic despite atomics
  at::Tensor w = at::zeros({ukey.numel()}, values.options()).index_add_(0, inverse, v.index_select(0, perm));
  const at::Tensor wr = at::div(ukey, n, "floor");
  at::Tensor wptr = at::zeros({n + 1}, lopts);
  wptr.narrow(0, 1, n).copy_(at::cumsum(at::bincount(wr, {}, n), 0));
  return std::make_tuple(wptr, ukey - wr * n, w);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> adagae_graph_cuda(const at::Tensor& x_, int64_t k, bool symmetrize_out) {
  check_adagae_inputs(x_, k);
  const c10::cuda::CUDAGuard guard(x_.device());
  const at::Tensor x = x_.contiguous();
  const int64_t n = x.size(0), d = x.size(1);
  const int64_t c = std::min(n - 1, k + 1 + kMargin);
  const auto lopts = x.options().dtype(at::kLong);
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();

  // selection data (see the CPU kernel): centered in float64, or uncentered exact integers
  const at::Tensor x64 = x.to(at::kDouble);
  const double max_abs = x64.abs().max().item<double>();
  const double limit = x.scalar_type() == at::kFloat ? 16777216.0 : 9007199254740992.0;
  const bool exact = at::equal(x64, x64.round()) && 4.0 * static_cast<double>(d) * max_abs * max_abs < limit;
  const at::Tensor xc = (exact ? x64 : x64 - x64.mean(0, /*keepdim=*/true)).to(x.scalar_type()).contiguous();
  const at::Tensor sq = xc.to(at::kDouble).pow(2).sum(1).to(x.scalar_type()).contiguous();

  at::Tensor cand_d = at::full({n, c}, std::numeric_limits<double>::infinity(), x.options());
  at::Tensor cand_i = at::full({n, c}, n, lopts);
  {
    const NoTF32Guard no_tf32;
    const int64_t C = std::min(n, kTileCols);
    const int64_t R = std::min(n, std::max<int64_t>(kTileEntries / C, 1));
    at::Tensor G = at::empty({R, C}, x.options());
    for (int64_t r0 = 0; r0 < n; r0 += R) {
      const int64_t rr = std::min(R, n - r0);
      for (int64_t c0 = 0; c0 < n; c0 += C) {
        const int64_t cc = std::min(C, n - c0);
        at::Tensor g = G.narrow(0, 0, rr).narrow(1, 0, cc);
        at::mm_out(g, xc.narrow(0, r0, rr), xc.narrow(0, c0, cc).t());
        if (x.scalar_type() == at::kFloat) {
          check_launch(cuda::adagae_select_tile_f32(g.data_ptr<float>(), g.stride(0), sq.data_ptr<float>(), r0, rr,
                                                    c0, cc, cand_d.data_ptr<float>(), cand_i.data_ptr<int64_t>(), c,
                                                    stream));
        } else {
          check_launch(cuda::adagae_select_tile_f64(g.data_ptr<double>(), g.stride(0), sq.data_ptr<double>(), r0,
                                                    rr, c0, cc, cand_d.data_ptr<double>(),
                                                    cand_i.data_ptr<int64_t>(), c, stream));
        }
      }
    }
  }

  at::Tensor D = at::empty({n, c}, x.options().dtype(at::kDouble));
  at::Tensor order = at::empty({n, c}, x.options().dtype(at::kInt));
  at::Tensor indices = at::empty({n * k}, lopts);
  at::Tensor values = at::empty({n * k}, x.options());
  if (x.scalar_type() == at::kFloat) {
    check_launch(cuda::adagae_refine_f32(x.data_ptr<float>(), n, d, k, cand_i.data_ptr<int64_t>(), c,
                                         D.data_ptr<double>(), order.data_ptr<int32_t>(),
                                         indices.data_ptr<int64_t>(), values.data_ptr<float>(), stream));
  } else {
    check_launch(cuda::adagae_refine_f64(x.data_ptr<double>(), n, d, k, cand_i.data_ptr<int64_t>(), c,
                                         D.data_ptr<double>(), order.data_ptr<int32_t>(),
                                         indices.data_ptr<int64_t>(), values.data_ptr<double>(), stream));
  }
  if (symmetrize_out) return symmetrize(indices, values, n, k);
  return std::make_tuple(at::arange(0, n * k + 1, k, lopts), indices, values);
}

}  // namespace

TORCH_LIBRARY_IMPL(dglclust, CUDA, m) { m.impl("adagae_graph", &adagae_graph_cuda); }

}  // namespace dglclust
#endif  // WITH_CUDA
