// CUDA kernel of dglclust::normalized_spmm (schema and semantics: csrc/ops/normalized_spmm.cpp).
//
//   y[i] = rs[i] * ([self] cs[i] x[i] + sum_{k in row i} w[k] cs[indices[k]] x[indices[k]])
//
// Only CUDA runtime headers: raw pointers and a cudaStream_t, so `nvcc -c` checks this file without
// torch. The torch glue (argument checks, current stream, dispatcher registration) is
// normalized_spmm_cuda.cpp.
//
// Mapping: a group of TPR threads (a power of two <= 32, sub-warp for narrow features) owns one
// output row; each thread owns VEC-wide feature vectors (float4 / float2 / double2 loads when F and
// the pointers allow it), strided by TPR, and accumulates over the row's edges in registers. The
// column ids of a row are read by all threads of the group from the same address (a broadcast).
// Degree scaling (rs, cs) and edge weights are folded into the accumulation; nothing normalized is
// materialized. Malformed input cannot fault: an out-of-range column id is skipped and a row whose
// indptr range is invalid produces zeros (the Python wrapper validates each structure once, so the
// kernel does not synchronize to report errors).
#include <cuda_runtime.h>

#include <cstdint>

namespace dglclust {
namespace cuda_spmm {

template <typename T, int VEC>
struct VecType;
template <>
struct VecType<float, 4> { using type = float4; };
template <>
struct VecType<float, 2> { using type = float2; };
template <>
struct VecType<float, 1> { using type = float; };
template <>
struct VecType<double, 2> { using type = double2; };
template <>
struct VecType<double, 1> { using type = double; };

template <typename T, int VEC>
__device__ __forceinline__ void load_vec(const T* __restrict__ p, T (&out)[VEC]) {
  using V = typename VecType<T, VEC>::type;
  const V v = __ldg(reinterpret_cast<const V*>(p));
  const T* c = reinterpret_cast<const T*>(&v);
#pragma unroll
  for (int q = 0; q < VEC; ++q) out[q] = c[q];
}

template <typename T, int VEC>
__device__ __forceinline__ void store_vec(T* __restrict__ p, const T (&in)[VEC]) {
  using V = typename VecType<T, VEC>::type;
  V v;
  T* c = reinterpret_cast<T*>(&v);
#pragma unroll
  for (int q = 0; q < VEC; ++q) c[q] = in[q];
  *reinterpret_cast<V*>(p) = v;
}

template <typename T, typename I, int VEC>
__global__ void __launch_bounds__(256)
    normalized_spmm_kernel(const int64_t* __restrict__ indptr, const I* __restrict__ indices,
                           const T* __restrict__ w, const T* __restrict__ rs,
                           const T* __restrict__ cs, const T* __restrict__ x, T* __restrict__ y,
                           int64_t n, int64_t F, int64_t nnz, bool self, int tpr_log2) {
  const int64_t gtid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t row = gtid >> tpr_log2;
  if (row >= n) return;
  const int tpr = 1 << tpr_log2;
  const int lane = static_cast<int>(threadIdx.x) & (tpr - 1);
  const int64_t b = indptr[row], e = indptr[row + 1];
  const bool row_ok = 0 <= b && b <= e && e <= nnz;
  const T r = rs != nullptr ? rs[row] : T(1);
  const T self_scale = self ? (cs != nullptr ? cs[row] : T(1)) : T(0);
  const int64_t nvec = F / VEC;
  for (int64_t v = lane; v < nvec; v += tpr) {
    const int64_t f = v * VEC;
    T acc[VEC];
    if (self) {
      T xv[VEC];
      load_vec<T, VEC>(x + row * F + f, xv);
#pragma unroll
      for (int q = 0; q < VEC; ++q) acc[q] = self_scale * xv[q];
    } else {
#pragma unroll
      for (int q = 0; q < VEC; ++q) acc[q] = T(0);
    }
    if (row_ok) {
#pragma unroll 4
      for (int64_t k = b; k < e; ++k) {
        const int64_t j = static_cast<int64_t>(__ldg(indices + k));
        if (static_cast<uint64_t>(j) < static_cast<uint64_t>(n)) {
          T s = w != nullptr ? __ldg(w + k) : T(1);
          if (cs != nullptr) s *= __ldg(cs + j);
          T xv[VEC];
          load_vec<T, VEC>(x + j * F + f, xv);
#pragma unroll
          for (int q = 0; q < VEC; ++q) acc[q] += s * xv[q];
        }
      }
    }
#pragma unroll
    for (int q = 0; q < VEC; ++q) acc[q] = row_ok ? r * acc[q] : T(0);
    store_vec<T, VEC>(y + row * F + f, acc);
  }
}

inline bool aligned(const void* p, int64_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(bytes) == 0;
}

template <typename T, typename I, int VEC>
cudaError_t launch_vec(const int64_t* indptr, const I* indices, const T* w, const T* rs,
                       const T* cs, const T* x, T* y, int64_t n, int64_t F, int64_t nnz, bool self,
                       cudaStream_t stream) {
  const int64_t nvec = F / VEC;
  int tpr_log2 = 0;
  while ((int64_t(1) << tpr_log2) < nvec && tpr_log2 < 5) ++tpr_log2;  // threads per row <= 32
  constexpr int kThreads = 256;
  const int64_t rows_per_block = kThreads >> tpr_log2;
  const int64_t blocks = (n + rows_per_block - 1) / rows_per_block;
  if (blocks > 0x7fffffffLL) return cudaErrorInvalidConfiguration;
  normalized_spmm_kernel<T, I, VEC><<<static_cast<unsigned int>(blocks), kThreads, 0, stream>>>(
      indptr, indices, w, rs, cs, x, y, n, F, nnz, self, tpr_log2);
  return cudaGetLastError();
}

}  // namespace cuda_spmm

// Launcher used by normalized_spmm_cuda.cpp. All pointers are device pointers of contiguous
// arrays: indptr (n + 1), indices (nnz), x and y (n x F, row-major), w (nnz) / rs (n) / cs (n) or
// nullptr. Returns the launch status (cudaSuccess when n == 0 or F == 0).
template <typename T, typename I>
cudaError_t launch_normalized_spmm(const int64_t* indptr, const I* indices, const T* w,
                                   const T* rs, const T* cs, const T* x, T* y, int64_t n,
                                   int64_t F, int64_t nnz, bool self, cudaStream_t stream) {
  using namespace cuda_spmm;
  if (n == 0 || F == 0) return cudaSuccess;
  const int64_t vec_bytes = static_cast<int64_t>(sizeof(T));
  if (sizeof(T) == 4 && F % 4 == 0 && aligned(x, 4 * vec_bytes) && aligned(y, 4 * vec_bytes))
    return launch_vec<T, I, (sizeof(T) == 4 ? 4 : 2)>(indptr, indices, w, rs, cs, x, y, n, F, nnz,
                                                      self, stream);
  if (F % 2 == 0 && aligned(x, 2 * vec_bytes) && aligned(y, 2 * vec_bytes))
    return launch_vec<T, I, 2>(indptr, indices, w, rs, cs, x, y, n, F, nnz, self, stream);
  return launch_vec<T, I, 1>(indptr, indices, w, rs, cs, x, y, n, F, nnz, self, stream);
}

template cudaError_t launch_normalized_spmm<float, int32_t>(const int64_t*, const int32_t*,
                                                            const float*, const float*,
                                                            const float*, const float*, float*,
                                                            int64_t, int64_t, int64_t, bool,
                                                            cudaStream_t);
template cudaError_t launch_normalized_spmm<float, int64_t>(const int64_t*, const int64_t*,
                                                            const float*, const float*,
                                                            const float*, const float*, float*,
                                                            int64_t, int64_t, int64_t, bool,
                                                            cudaStream_t);
template cudaError_t launch_normalized_spmm<double, int32_t>(const int64_t*, const int32_t*,
                                                             const double*, const double*,
                                                             const double*, const double*,
                                                             double*, int64_t, int64_t, int64_t,
                                                             bool, cudaStream_t);
template cudaError_t launch_normalized_spmm<double, int64_t>(const int64_t*, const int64_t*,
                                                             const double*, const double*,
                                                             const double*, const double*,
                                                             double*, int64_t, int64_t, int64_t,
                                                             bool, cudaStream_t);

}  // namespace dglclust
