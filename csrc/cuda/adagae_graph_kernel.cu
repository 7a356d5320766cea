// CUDA kernels of adagae_graph (schema: csrc/ops/adagae_graph.cpp; glue: adagae_graph_cuda.cpp).
// Only the CUDA runtime is used, so `nvcc -std=c++17 -c` checks this file without torch.
//
// The glue computes a tile G = xc[r0:r0+R] . xc[c0:c0+C]^T with cuBLAS (at::mm) and calls
//  * select_tile: one warp per row merges the tile's d~ = max(sq_i + sq_j - 2 G_ij, 0) into the
//    row's running candidate list (c entries sorted ascending by (d~, index), kept in global
//    memory between tiles). Lanes test 32 columns at once against the list's largest key; the few
//    that qualify are inserted one at a time (ballot + warp-parallel rank and shift).
//  * refine: one warp per row computes exact float64 squared distances to its c candidates,
//    ranks them by (distance, index), and writes the k nearest (columns ascending) with the
//    closed-form weights; the sum in the denominator runs in rank order in one lane, as on the CPU.
#include <cuda_runtime.h>
#include <stdint.h>

namespace dglclust {
namespace cuda {
namespace {

constexpr int kWarp = 32;
constexpr unsigned kFull = 0xffffffffu;
constexpr int kWarpsPerBlock = 8;

template <typename T>
__device__ __forceinline__ bool key_less(T da, int64_t ia, T db, int64_t ib) {
  return da < db || (da == db && ia < ib);
}

// max(v, 0) mapping -0.0 and NaN to +0.0
template <typename T>
__device__ __forceinline__ T clamp0(T v) {
  return v > T(0) ? v : T(0);
}

__device__ __forceinline__ int warp_sum_int(int v) {
#pragma unroll
  for (int o = kWarp / 2; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
  return v;
}

__device__ __forceinline__ double warp_sum_double(double v) {
#pragma unroll
  for (int o = kWarp / 2; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
  return v;
}

template <typename T>
__global__ void select_tile_kernel(const T* __restrict__ G, int64_t ldg, const T* __restrict__ sq, int64_t r0,
                                   int64_t R, int64_t c0, int64_t C, T* cand_d, int64_t* cand_i, int64_t c) {
  const int lane = threadIdx.x % kWarp;
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
  if (r >= R) return;  // whole warps
  const int64_t i = r0 + r;
  T* ld = cand_d + i * c;
  int64_t* li = cand_i + i * c;
  T thr_d = ld[c - 1];
  int64_t thr_i = li[c - 1];
  const T sqi = sq[i];
  const T* g = G + r * ldg;
  for (int64_t base = 0; base < C; base += kWarp) {
    const int64_t jj = base + lane;
    const int64_t j = c0 + jj;
    T dv = T(0);
    bool qualifies = false;
    if (jj < C && j != i) {
      dv = clamp0(sqi + sq[j] - T(2) * g[jj]);
      qualifies = key_less(dv, j, thr_d, thr_i);
    }
    unsigned mask = __ballot_sync(kFull, qualifies);
    while (mask != 0u) {
      const int src = __ffs(mask) - 1;
      mask &= mask - 1u;
      const T nd = __shfl_sync(kFull, dv, src);
      const int64_t ni = static_cast<int64_t>(__shfl_sync(kFull, static_cast<long long>(j), src));
      if (!key_less(nd, ni, thr_d, thr_i)) continue;  // the list improved meanwhile (uniform branch)
      int pos = 0;
      for (int64_t e = lane; e < c; e += kWarp) pos += key_less(ld[e], li[e], nd, ni) ? 1 : 0;
      pos = warp_sum_int(pos);
      // shift entries [pos, c-2] to [pos+1, c-1], 32 at a time from the end
      for (int64_t hi = c - 2; hi >= pos; hi -= kWarp) {
        const int64_t p = hi - lane;
        const bool active = p >= pos;
        T vd = T(0);
        int64_t vi = 0;
        if (active) {
          vd = ld[p];
          vi = li[p];
        }
        __syncwarp();
        if (active) {
          ld[p + 1] = vd;
          li[p + 1] = vi;
        }
        __syncwarp();
      }
      if (lane == 0) {
        ld[pos] = nd;
        li[pos] = ni;
      }
      __syncwarp();
      thr_d = ld[c - 1];
      thr_i = li[c - 1];
    }
  }
}

template <typename T>
__global__ void refine_kernel(const T* __restrict__ x, int64_t n, int64_t d, int64_t k,
                              const int64_t* __restrict__ cand_i, int64_t c, double* D, int32_t* order,
                              int64_t* __restrict__ out_idx, T* __restrict__ out_val) {
  const int lane = threadIdx.x % kWarp;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
  if (i >= n) return;
  const int64_t* ci = cand_i + i * c;
  double* Di = D + i * c;
  int32_t* oi = order + i * c;
  const T* xi = x + i * d;
  for (int64_t e = 0; e < c; ++e) {
    const T* xj = x + ci[e] * d;
    double s = 0;
    for (int64_t t = lane; t < d; t += kWarp) {
      const double diff = static_cast<double>(xi[t]) - static_cast<double>(xj[t]);
      s += diff * diff;
    }
    s = warp_sum_double(s);
    if (lane == e % kWarp) Di[e] = s;
  }
  __syncwarp();
  // rank of each candidate by (distance, index): a permutation since indices are distinct
  for (int64_t e = lane; e < c; e += kWarp) {
    const double de = Di[e];
    const int64_t ie = ci[e];
    int32_t rank = 0;
    for (int64_t f = 0; f < c; ++f) rank += key_less(Di[f], ci[f], de, ie) ? 1 : 0;
    oi[rank] = static_cast<int32_t>(e);
  }
  __syncwarp();
  // d_{i,k+1}; for k = n-1 there is none and the k-th distance takes its place
  const double t = c > k ? Di[oi[k]] : Di[oi[k - 1]];
  double denom = 0;
  if (lane == 0)
    for (int64_t v = 0; v < k; ++v) denom += t - Di[oi[v]];
  denom = __shfl_sync(kFull, denom, 0);
  for (int64_t v = lane; v < k; v += kWarp) {
    const int32_t e = oi[v];
    const int64_t ie = ci[e];
    int64_t pos = 0;  // position of column ie among the k chosen columns
    for (int64_t u = 0; u < k; ++u) pos += ci[oi[u]] < ie ? 1 : 0;
    out_idx[i * k + pos] = ie;
    out_val[i * k + pos] = static_cast<T>(denom > 0 ? (t - Di[e]) / denom : 1.0 / static_cast<double>(k));
  }
}

inline unsigned warp_blocks(int64_t rows) {
  return static_cast<unsigned>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
}

template <typename T>
cudaError_t select_tile(const T* G, int64_t ldg, const T* sq, int64_t r0, int64_t R, int64_t c0, int64_t C,
                        T* cand_d, int64_t* cand_i, int64_t c, cudaStream_t stream) {
  if (R == 0 || C == 0) return cudaSuccess;
  select_tile_kernel<T><<<warp_blocks(R), kWarpsPerBlock * kWarp, 0, stream>>>(G, ldg, sq, r0, R, c0, C, cand_d,
                                                                               cand_i, c);
  return cudaGetLastError();
}

template <typename T>
cudaError_t refine(const T* x, int64_t n, int64_t d, int64_t k, const int64_t* cand_i, int64_t c, double* D,
                   int32_t* order, int64_t* out_idx, T* out_val, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  refine_kernel<T><<<warp_blocks(n), kWarpsPerBlock * kWarp, 0, stream>>>(x, n, d, k, cand_i, c, D, order, out_idx,
                                                                          out_val);
  return cudaGetLastError();
}

}  // namespace

cudaError_t adagae_select_tile_f32(const float* G, int64_t ldg, const float* sq, int64_t r0, int64_t R, int64_t c0,
                                   int64_t C, float* cand_d, int64_t* cand_i, int64_t c, cudaStream_t stream) {
  return select_tile<float>(G, ldg, sq, r0, R, c0, C, cand_d, cand_i, c, stream);
}
cudaError_t adagae_select_tile_f64(const double* G, int64_t ldg, const double* sq, int64_t r0, int64_t R,
                                   int64_t c0, int64_t C, double* cand_d, int64_t* cand_i, int64_t c,
                                   cudaStream_t stream) {
  return select_tile<double>(G, ldg, sq, r0, R, c0, C, cand_d, cand_i, c, stream);
}
cudaError_t adagae_refine_f32(const float* x, int64_t n, int64_t d, int64_t k, const int64_t* cand_i, int64_t c,
                              double* D, int32_t* order, int64_t* out_idx, float* out_val, cudaStream_t stream) {
  return refine<float>(x, n, d, k, cand_i, c, D, order, out_idx, out_val, stream);
}
cudaError_t adagae_refine_f64(const double* x, int64_t n, int64_t d, int64_t k, const int64_t* cand_i, int64_t c,
                              double* D, int32_t* order, int64_t* out_idx, double* out_val, cudaStream_t stream) {
  return refine<double>(x, n, d, k, cand_i, c, D, order, out_idx, out_val, stream);
}

}  // namespace cuda
}  // namespace dglclust
