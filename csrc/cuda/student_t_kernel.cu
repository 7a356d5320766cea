// CUDA kernels of student_t / student_t_backward / target_distribution (schemas:
// csrc/ops/student_t.cpp; glue: csrc/cuda/student_t_cuda.cpp). Only the CUDA runtime is used, so
// `nvcc -std=c++17 -c` checks this file without torch.
//
// * forward: one warp per row of z; the k squared distances are warp reductions over the features
//   (no n x k x d intermediate), q is written unnormalized then scaled by the same lane.
// * backward: one warp per row computes c_ij = -(alpha+1)(g_ij - <g_i, q_i>) q_ij / (alpha + d_ij),
//   grad_z_i = sum_j c_ij (z_i - mu_j) in place, and stores c (n x k). grad_mu_j =
//   -sum_i c_ij (z_i - mu_j) is a two-stage reduction over fixed row splits (no atomics), so
//   results are deterministic and keep the difference form (no ||z||, ||mu|| cancellation).
// * target_distribution: column sums of q in float64 over the same fixed splits, then one warp per
//   row normalizes w_ij = q_ij^2 / f_j.
#include <cuda_runtime.h>
#include <stdint.h>

namespace dglclust {
namespace cuda {

int64_t student_t_num_splits(int64_t n);

namespace {

constexpr int kWarp = 32;
constexpr unsigned kFull = 0xffffffffu;
constexpr int kRowsPerBlock = 8;  // warps (rows) per block of 256 threads

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int o = kWarp / 2; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
  return v;
}

template <typename T>
__device__ __forceinline__ T row_sqdist(const T* __restrict__ zi, const T* __restrict__ mj, int64_t d, int lane) {
  T s = 0;
  for (int64_t t = lane; t < d; t += kWarp) {
    const T diff = zi[t] - mj[t];
    s += diff * diff;
  }
  return warp_sum(s);
}

template <typename T>
__device__ __forceinline__ T t_kernel(T dist, T alpha, T expo, bool alpha_one) {
  return alpha_one ? T(1) / (T(1) + dist) : pow(T(1) + dist / alpha, expo);
}

template <typename T>
__global__ void student_t_fwd_kernel(const T* __restrict__ z, const T* __restrict__ mu, T* __restrict__ q,
                                     int64_t n, int64_t k, int64_t d, T alpha, T expo, bool alpha_one) {
  const int lane = threadIdx.x % kWarp;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  if (i >= n) return;  // whole warps exit together
  const T* zi = z + i * d;
  T* qi = q + i * k;
  T s = 0;
  for (int64_t j = 0; j < k; ++j) {
    const T u = t_kernel(row_sqdist(zi, mu + j * d, d, lane), alpha, expo, alpha_one);
    if ((j % kWarp) == lane) qi[j] = u;
    s += u;  // identical in every lane
  }
  const T inv = T(1) / s;
  for (int64_t j = lane; j < k; j += kWarp) qi[j] *= inv;  // entries this lane wrote
}

template <typename T>
__global__ void student_t_bwd_rows_kernel(const T* __restrict__ g, const T* __restrict__ z,
                                          const T* __restrict__ mu, const T* __restrict__ q,
                                          T* __restrict__ grad_z, T* __restrict__ coef, int64_t n, int64_t k,
                                          int64_t d, T alpha) {
  const int lane = threadIdx.x % kWarp;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  if (i >= n) return;
  const T* zi = z + i * d;
  const T* gi = g + i * k;
  const T* qi = q + i * k;
  T* gzi = grad_z + i * d;
  T dot = 0;
  for (int64_t j = lane; j < k; j += kWarp) dot += gi[j] * qi[j];
  dot = warp_sum(dot);
  for (int64_t t = lane; t < d; t += kWarp) gzi[t] = 0;
  for (int64_t j = 0; j < k; ++j) {
    const T* mj = mu + j * d;
    const T c = -(alpha + T(1)) * (gi[j] - dot) * qi[j] / (alpha + row_sqdist(zi, mj, d, lane));
    if ((j % kWarp) == lane) coef[i * k + j] = c;
    for (int64_t t = lane; t < d; t += kWarp) gzi[t] += c * (zi[t] - mj[t]);  // lane owns t
  }
}

// partial[s, j, t] = -sum_{i in split s} c_ij (z_it - mu_jt); block (32, 8), grid (ceil(d/32), k, S)
template <typename T>
__global__ void student_t_bwd_mu_partial_kernel(const T* __restrict__ z, const T* __restrict__ mu,
                                                const T* __restrict__ coef, T* __restrict__ partial, int64_t n,
                                                int64_t k, int64_t d, int64_t rows_per_split) {
  __shared__ T red[kRowsPerBlock][kWarp];
  const int64_t t = static_cast<int64_t>(blockIdx.x) * kWarp + threadIdx.x;
  const int64_t j = blockIdx.y;
  const int64_t s = blockIdx.z;
  const int64_t r0 = s * rows_per_split;
  const int64_t r1 = min(n, r0 + rows_per_split);
  T acc = 0;
  if (t < d) {
    const T m = mu[j * d + t];
    for (int64_t i = r0 + threadIdx.y; i < r1; i += kRowsPerBlock) acc -= coef[i * k + j] * (z[i * d + t] - m);
  }
  red[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && t < d) {
    T sum = 0;
#pragma unroll
    for (int y = 0; y < kRowsPerBlock; ++y) sum += red[y][threadIdx.x];  // fixed order
    partial[(s * k + j) * d + t] = sum;
  }
}

// out[e] = sum_s partial[s, e] in split order
template <typename T>
__global__ void sum_splits_kernel(const T* __restrict__ partial, T* __restrict__ out, int64_t splits,
                                  int64_t len) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= len) return;
  T acc = 0;
  for (int64_t s = 0; s < splits; ++s) acc += partial[s * len + e];
  out[e] = acc;
}

// colsum_partial[s, j] = sum_{i in split s} q_ij (float64); block (32, 8), grid (ceil(k/32), S)
template <typename T>
__global__ void colsum_partial_kernel(const T* __restrict__ q, double* __restrict__ partial, int64_t n, int64_t k,
                                      int64_t rows_per_split) {
  __shared__ double red[kRowsPerBlock][kWarp];
  const int64_t j = static_cast<int64_t>(blockIdx.x) * kWarp + threadIdx.x;
  const int64_t s = blockIdx.y;
  const int64_t r0 = s * rows_per_split;
  const int64_t r1 = min(n, r0 + rows_per_split);
  double acc = 0;
  if (j < k)
    for (int64_t i = r0 + threadIdx.y; i < r1; i += kRowsPerBlock) acc += static_cast<double>(q[i * k + j]);
  red[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && j < k) {
    double sum = 0;
#pragma unroll
    for (int y = 0; y < kRowsPerBlock; ++y) sum += red[y][threadIdx.x];
    partial[s * k + j] = sum;
  }
}

// inv_f[j] = 1 / sum_s partial[s, j] (0 for an empty column)
__global__ void inverse_colsum_kernel(const double* __restrict__ partial, double* __restrict__ inv_f,
                                      int64_t splits, int64_t k) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= k) return;
  double f = 0;
  for (int64_t s = 0; s < splits; ++s) f += partial[s * k + j];
  inv_f[j] = f != 0.0 ? 1.0 / f : 0.0;
}

template <typename T>
__global__ void target_rows_kernel(const T* __restrict__ q, const double* __restrict__ inv_f, T* __restrict__ p,
                                   int64_t n, int64_t k) {
  const int lane = threadIdx.x % kWarp;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  if (i >= n) return;
  const T* qi = q + i * k;
  double s = 0;
  for (int64_t j = lane; j < k; j += kWarp) {
    const double v = static_cast<double>(qi[j]);
    s += v * v * inv_f[j];
  }
  s = warp_sum(s);
  const double inv = s != 0.0 ? 1.0 / s : 0.0;
  for (int64_t j = lane; j < k; j += kWarp) {
    const double v = static_cast<double>(qi[j]);
    p[i * k + j] = static_cast<T>(v * v * inv_f[j] * inv);
  }
}

inline unsigned row_blocks(int64_t n) { return static_cast<unsigned>((n + kRowsPerBlock - 1) / kRowsPerBlock); }

template <typename T>
cudaError_t forward(const T* z, const T* mu, T* q, int64_t n, int64_t k, int64_t d, double alpha,
                    cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  student_t_fwd_kernel<T><<<row_blocks(n), kRowsPerBlock * kWarp, 0, stream>>>(
      z, mu, q, n, k, d, static_cast<T>(alpha), static_cast<T>(-(alpha + 1.0) / 2.0), alpha == 1.0);
  return cudaGetLastError();
}

template <typename T>
cudaError_t backward(const T* g, const T* z, const T* mu, const T* q, T* grad_z, T* grad_mu, T* coef, T* partial,
                     int64_t n, int64_t k, int64_t d, double alpha, cudaStream_t stream) {
  const int64_t splits = student_t_num_splits(n);
  const int64_t rows_per_split = (n + splits - 1) / splits;
  if (n > 0) {
    student_t_bwd_rows_kernel<T><<<row_blocks(n), kRowsPerBlock * kWarp, 0, stream>>>(g, z, mu, q, grad_z, coef, n,
                                                                                      k, d, static_cast<T>(alpha));
    if (d > 0) {
      const dim3 grid(static_cast<unsigned>((d + kWarp - 1) / kWarp), static_cast<unsigned>(k),
                      static_cast<unsigned>(splits));
      student_t_bwd_mu_partial_kernel<T><<<grid, dim3(kWarp, kRowsPerBlock), 0, stream>>>(z, mu, coef, partial, n,
                                                                                         k, d, rows_per_split);
    }
  }
  const int64_t len = k * d;
  if (len == 0) return cudaGetLastError();
  sum_splits_kernel<T><<<static_cast<unsigned>((len + 255) / 256), 256, 0, stream>>>(partial, grad_mu,
                                                                                     n > 0 ? splits : 0, len);
  return cudaGetLastError();
}

template <typename T>
cudaError_t target(const T* q, T* p, double* partial, double* inv_f, int64_t n, int64_t k, cudaStream_t stream) {
  if (n == 0 || k == 0) return cudaSuccess;
  const int64_t splits = student_t_num_splits(n);
  const int64_t rows_per_split = (n + splits - 1) / splits;
  const dim3 grid(static_cast<unsigned>((k + kWarp - 1) / kWarp), static_cast<unsigned>(splits));
  colsum_partial_kernel<T><<<grid, dim3(kWarp, kRowsPerBlock), 0, stream>>>(q, partial, n, k, rows_per_split);
  inverse_colsum_kernel<<<static_cast<unsigned>((k + 255) / 256), 256, 0, stream>>>(partial, inv_f, splits, k);
  target_rows_kernel<T><<<row_blocks(n), kRowsPerBlock * kWarp, 0, stream>>>(q, inv_f, p, n, k);
  return cudaGetLastError();
}

}  // namespace

// Number of fixed row splits of the column reductions (a function of n only => deterministic).
int64_t student_t_num_splits(int64_t n) {
  const int64_t rows = n > 128 * 256 ? (n + 127) / 128 : 256;
  return n > 0 ? (n + rows - 1) / rows : 1;
}

cudaError_t student_t_forward_f32(const float* z, const float* mu, float* q, int64_t n, int64_t k, int64_t d,
                                  double alpha, cudaStream_t stream) {
  return forward<float>(z, mu, q, n, k, d, alpha, stream);
}
cudaError_t student_t_forward_f64(const double* z, const double* mu, double* q, int64_t n, int64_t k, int64_t d,
                                  double alpha, cudaStream_t stream) {
  return forward<double>(z, mu, q, n, k, d, alpha, stream);
}
cudaError_t student_t_backward_f32(const float* g, const float* z, const float* mu, const float* q, float* grad_z,
                                   float* grad_mu, float* coef, float* partial, int64_t n, int64_t k, int64_t d,
                                   double alpha, cudaStream_t stream) {
  return backward<float>(g, z, mu, q, grad_z, grad_mu, coef, partial, n, k, d, alpha, stream);
}
cudaError_t student_t_backward_f64(const double* g, const double* z, const double* mu, const double* q,
                                   double* grad_z, double* grad_mu, double* coef, double* partial, int64_t n,
                                   int64_t k, int64_t d, double alpha, cudaStream_t stream) {
  return backward<double>(g, z, mu, q, grad_z, grad_mu, coef, partial, n, k, d, alpha, stream);
}
cudaError_t target_distribution_f32(const float* q, float* p, double* partial, double* inv_f, int64_t n, int64_t k,
                                    cudaStream_t stream) {
  return target<float>(q, p, partial, inv_f, n, k, stream);
}
cudaError_t target_distribution_f64(const double* q, double* p, double* partial, double* inv_f, int64_t n,
                                    int64_t k, cudaStream_t stream) {
  return target<double>(q, p, partial, inv_f, n, k, stream);
}

}  // namespace cuda
}  // namespace dglclust
