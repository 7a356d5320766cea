// CPU kernel of dglclust::normalized_spmm (schema and semantics: csrc/ops/normalized_spmm.cpp).
//
//   y[i] = rs[i] * ([self] cs[i] x[i] + sum_{k in row i} w[k] cs[indices[k]] x[indices[k]])
//
// Performance notes (the op is bound by the random gathers of x rows):
//  * rows are split into chunks of equal (edges + rows) work, handed out dynamically to the
//    at::parallel_for threads (balanced for skewed degrees; a thread that starts late, e.g. on a
//    busy machine, just takes fewer chunks);
//  * the feature dimension is processed in register blocks of NV SIMD vectors (up to 256 floats /
//    128 doubles per block, usually the whole row), so each output row is accumulated in registers
//    and written once -- scaling by rs/cs/w is folded into the gather, no extra elementwise pass;
//  * when x is large (DRAM-bound gathers), the x rows of the edge kPrefetch positions ahead are
//    software-prefetched (random rows defeat the hardware prefetcher);
//  * AVX-512 intrinsics when the compiler targets it (setup.py builds with -march=native), masked
//    loads/stores for feature tails; a portable auto-vectorized loop otherwise;
//  * every column id and every indptr row range is checked inside the loop (one predictable
//    branch), so malformed input raises an error instead of reading out of bounds.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
#define DGLCLUST_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <xmmintrin.h>
#define DGLCLUST_PREFETCH(p) _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0)
#else
#define DGLCLUST_PREFETCH(p) ((void)0)
#endif

namespace dglclust {

std::array<at::Tensor, 6> normalized_spmm_check_inputs(
    const at::Tensor& indptr, const at::Tensor& indices, const at::Tensor& x,
    const std::optional<at::Tensor>& edge_weight, const std::optional<at::Tensor>& row_scale,
    const std::optional<at::Tensor>& col_scale);

namespace {

#ifndef DGLCLUST_SPMM_PREFETCH
#define DGLCLUST_SPMM_PREFETCH 24
#endif
constexpr int64_t kPrefetch = DGLCLUST_SPMM_PREFETCH;  // software prefetch distance, in edges
// x larger than this: output rows are written with streaming stores
constexpr int64_t kStreamBytes = int64_t(16) << 20;

template <typename T, typename I>
struct SpmmArgs {
  const int64_t* indptr;
  const I* indices;
  const T* w;   // nullable
  const T* rs;  // nullable
  const T* cs;  // nullable
  const T* x;
  T* y;
  int64_t n, F, nnz;
  bool self;
  bool stream;  // non-temporal stores allowed (x does not fit in the cache anyway)
};

// First offending row / column id seen by any thread (-1: none).
struct SpmmErrors {
  std::atomic<int64_t> bad_row{-1};
  std::atomic<int64_t> bad_col_pos{-1};
};

template <typename T, typename I>
using RowsFn = void (*)(const SpmmArgs<T, I>&, int64_t f0, int64_t fw, int64_t r0, int64_t r1,
                        SpmmErrors&);

inline bool row_ok(int64_t b, int64_t e, int64_t nnz) { return 0 <= b && b <= e && e <= nnz; }

inline void prefetch_span(const char* p, int64_t bytes) {
  for (int64_t o = 0; o < bytes; o += 64) DGLCLUST_PREFETCH(p + o);
  // a span that is not line-aligned touches one more line
  if (((reinterpret_cast<uintptr_t>(p) + bytes - 1) & 63) < (reinterpret_cast<uintptr_t>(p) & 63))
    DGLCLUST_PREFETCH(p + bytes - 1);
}

#if defined(__AVX512F__)
template <typename T>
struct Simd;

template <>
struct Simd<float> {
  using V = __m512;
  using M = __mmask16;
  static constexpr int W = 16;
  static inline M mask(int64_t k) { return k >= W ? M(0xFFFF) : M((1u << k) - 1u); }
  static inline V zero() { return _mm512_setzero_ps(); }
  static inline V set1(float s) { return _mm512_set1_ps(s); }
  static inline V load(const float* p) { return _mm512_loadu_ps(p); }
  static inline V load(const float* p, M m) { return _mm512_maskz_loadu_ps(m, p); }
  static inline V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static inline V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static inline void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static inline void store(float* p, V v, M m) { _mm512_mask_storeu_ps(p, m, v); }
  static inline void stream(float* p, V v) { _mm512_stream_ps(p, v); }
};

template <>
struct Simd<double> {
  using V = __m512d;
  using M = __mmask8;
  static constexpr int W = 8;
  static inline M mask(int64_t k) { return k >= W ? M(0xFF) : M((1u << k) - 1u); }
  static inline V zero() { return _mm512_setzero_pd(); }
  static inline V set1(double s) { return _mm512_set1_pd(s); }
  static inline V load(const double* p) { return _mm512_loadu_pd(p); }
  static inline V load(const double* p, M m) { return _mm512_maskz_loadu_pd(m, p); }
  static inline V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static inline V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static inline void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static inline void store(double* p, V v, M m) { _mm512_mask_storeu_pd(p, m, v); }
  static inline void stream(double* p, V v) { _mm512_stream_pd(p, v); }
};

// Rows [r0, r1), features [f0, f0 + fw) with (NV - 1) * W < fw <= NV * W: NV accumulators stay in
// registers; the last vector is masked.
template <typename T, typename I, int NV, bool PF>
void spmm_rows_block(const SpmmArgs<T, I>& a, int64_t f0, int64_t fw, int64_t r0, int64_t r1,
                     SpmmErrors& err) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int W = S::W;
  const typename S::M last = S::mask(fw - (NV - 1) * W);
  const int64_t F = a.F, n = a.n, nnz = a.nnz;
  const T* __restrict x = a.x + f0;
  const I* __restrict idx = a.indices;
  const T* __restrict w = a.w;
  const T* __restrict cs = a.cs;
  const int64_t bytes = fw * int64_t(sizeof(T));
  const uintptr_t row_bytes = static_cast<uintptr_t>(F) * sizeof(T);
  const int64_t kend = std::min<int64_t>(std::max<int64_t>(a.indptr[r1], 0), nnz);
  // streaming (non-temporal) stores of whole, 64-byte aligned output rows: y is written once and
  // not read here, so this saves the read-for-ownership and keeps x in the cache
  const bool nt = a.stream && fw % W == 0 && (F * int64_t(sizeof(T))) % 64 == 0 &&
                  reinterpret_cast<uintptr_t>(a.y + f0) % 64 == 0;

  for (int64_t i = r0; i < r1; ++i) {
    const int64_t b = a.indptr[i], e = a.indptr[i + 1];
    if (!row_ok(b, e, nnz)) {
      err.bad_row.store(i, std::memory_order_relaxed);
      continue;
    }
    V acc[NV];
    if (a.self) {
      const V s = S::set1(cs ? cs[i] : T(1));
      const T* xr = x + i * F;
#pragma GCC unroll 16
      for (int v = 0; v < NV - 1; ++v) acc[v] = S::mul(s, S::load(xr + v * W));
      acc[NV - 1] = S::mul(s, S::load(xr + (NV - 1) * W, last));
    } else {
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[v] = S::zero();
    }
    for (int64_t k = b; k < e; ++k) {
      if constexpr (PF) {
        // prefetches never fault: an out-of-range id only wastes the prefetch
        const int64_t kp = k + kPrefetch;
        if (kp < kend) {
          const uint64_t jp = static_cast<uint64_t>(static_cast<int64_t>(idx[kp]));
          const char* p =
              reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(x) + jp * row_bytes);
#pragma GCC unroll 16
          for (int v = 0; v < NV; ++v) DGLCLUST_PREFETCH(p + 64 * v);
          DGLCLUST_PREFETCH(p + bytes - 1);  // the span may straddle one more line
          if (cs) {
            DGLCLUST_PREFETCH(
                reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(cs) + jp * sizeof(T)));
          }
        }
      }
      const int64_t j = static_cast<int64_t>(idx[k]);
      if (static_cast<uint64_t>(j) >= static_cast<uint64_t>(n)) {
        err.bad_col_pos.store(k, std::memory_order_relaxed);
        continue;
      }
      T sc = w ? w[k] : T(1);
      if (cs) sc *= cs[j];
      const V s = S::set1(sc);
      const T* xr = x + j * F;
#pragma GCC unroll 16
      for (int v = 0; v < NV - 1; ++v) acc[v] = S::fma(s, S::load(xr + v * W), acc[v]);
      acc[NV - 1] = S::fma(s, S::load(xr + (NV - 1) * W, last), acc[NV - 1]);
    }
    T* yr = a.y + i * F + f0;
    if (a.rs) {
      const V r = S::set1(a.rs[i]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[v] = S::mul(acc[v], r);
    }
    if (nt) {
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) S::stream(yr + v * W, acc[v]);
    } else {
#pragma GCC unroll 16
      for (int v = 0; v < NV - 1; ++v) S::store(yr + v * W, acc[v]);
      S::store(yr + (NV - 1) * W, acc[NV - 1], last);
    }
  }
  if (nt) _mm_sfence();
}


// The kernel for a register block of nv (1..16) vectors.
template <typename T, typename I, bool PF>
RowsFn<T, I> block_fn(int nv) {
  switch (nv) {
#define DGLCLUST_NV_CASE(k) \
  case k:                   \
    return &spmm_rows_block<T, I, k, PF>;
    DGLCLUST_NV_CASE(1) DGLCLUST_NV_CASE(2) DGLCLUST_NV_CASE(3) DGLCLUST_NV_CASE(4)
    DGLCLUST_NV_CASE(5) DGLCLUST_NV_CASE(6) DGLCLUST_NV_CASE(7) DGLCLUST_NV_CASE(8)
    DGLCLUST_NV_CASE(9) DGLCLUST_NV_CASE(10) DGLCLUST_NV_CASE(11) DGLCLUST_NV_CASE(12)
    DGLCLUST_NV_CASE(13) DGLCLUST_NV_CASE(14) DGLCLUST_NV_CASE(15)
#undef DGLCLUST_NV_CASE
    default:
      return &spmm_rows_block<T, I, 16, PF>;
  }
}

template <typename T, typename I>
RowsFn<T, I> rows_fn(int64_t fw, bool prefetch) {
  const int nv = static_cast<int>((fw + Simd<T>::W - 1) / Simd<T>::W);
  return prefetch ? block_fn<T, I, true>(nv) : block_fn<T, I, false>(nv);
}
constexpr int64_t kMaxBlock = 16 * 64;  // bytes of one register block (16 zmm)

#else  // portable path (no AVX-512): auto-vectorized loops over feature blocks of kCap elements

constexpr int64_t kCap = 128;  // accumulator elements (>= kMaxBlock / sizeof(float))

template <typename T, typename I, bool PF>
void spmm_rows_generic(const SpmmArgs<T, I>& a, int64_t f0, int64_t fw, int64_t r0, int64_t r1,
                       SpmmErrors& err) {
  const int64_t F = a.F, n = a.n, nnz = a.nnz;
  const T* __restrict x = a.x + f0;
  const I* __restrict idx = a.indices;
  const int64_t kend = std::min<int64_t>(std::max<int64_t>(a.indptr[r1], 0), nnz);
  const int64_t bytes = fw * int64_t(sizeof(T));
  T acc[kCap];
  for (int64_t i = r0; i < r1; ++i) {
    const int64_t b = a.indptr[i], e = a.indptr[i + 1];
    if (!row_ok(b, e, nnz)) {
      err.bad_row.store(i, std::memory_order_relaxed);
      continue;
    }
    if (a.self) {
      const T s = a.cs ? a.cs[i] : T(1);
      const T* xr = x + i * F;
#pragma omp simd
      for (int64_t f = 0; f < fw; ++f) acc[f] = s * xr[f];
    } else {
#pragma omp simd
      for (int64_t f = 0; f < fw; ++f) acc[f] = T(0);
    }
    for (int64_t k = b; k < e; ++k) {
      if constexpr (PF) {
        const int64_t kp = k + kPrefetch;
        if (kp < kend) {
          const uint64_t jp = static_cast<uint64_t>(static_cast<int64_t>(idx[kp]));
          if (jp < static_cast<uint64_t>(n))
            prefetch_span(reinterpret_cast<const char*>(x + jp * F), bytes);
        }
      }
      const int64_t j = static_cast<int64_t>(idx[k]);
      if (static_cast<uint64_t>(j) >= static_cast<uint64_t>(n)) {
        err.bad_col_pos.store(k, std::memory_order_relaxed);
        continue;
      }
      T s = a.w ? a.w[k] : T(1);
      if (a.cs) s *= a.cs[j];
      const T* xr = x + j * F;
#pragma omp simd
      for (int64_t f = 0; f < fw; ++f) acc[f] += s * xr[f];
    }
    const T r = a.rs ? a.rs[i] : T(1);
    T* yr = a.y + i * F + f0;
#pragma omp simd
    for (int64_t f = 0; f < fw; ++f) yr[f] = r * acc[f];
  }
}

template <typename T, typename I>
RowsFn<T, I> rows_fn(int64_t, bool prefetch) {
  return prefetch ? &spmm_rows_generic<T, I, true> : &spmm_rows_generic<T, I, false>;
}
constexpr int64_t kMaxBlock = 64 * 8;  // bytes of one feature block of the portable kernel

#endif

// Software prefetching pays only when x is much larger than the cache (DRAM-bound gathers); for
// cache-resident x the out-of-order core overlaps the loads by itself and the extra instructions
// cost more than they save (measured on Zen 5: 1.5x slower at 6 MiB, 1.15x faster at 100+ MiB).
constexpr int64_t kPrefetchMinBytes = int64_t(16) << 20;

// Chunk boundaries with about equal (edges + rows) work; indptr is not trusted here (the kernel
// validates every row), the boundaries are only forced to be monotone.
std::vector<int64_t> row_chunks(const int64_t* indptr, int64_t n, int64_t nnz, int64_t chunks) {
  std::vector<int64_t> bounds(chunks + 1, 0);
  bounds[chunks] = n;
  const double total = static_cast<double>(nnz + n);
  for (int64_t c = 1; c < chunks; ++c) {
    const double target = total * static_cast<double>(c) / static_cast<double>(chunks);
    int64_t lo = 0, hi = n;  // first row i with indptr[i] + i >= target
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (static_cast<double>(indptr[mid] + mid) < target) lo = mid + 1;
      else hi = mid;
    }
    bounds[c] = std::min(std::max(lo, bounds[c - 1]), n);
  }
  return bounds;
}

// Feature blocks [f0, f0 + fw) of at most kMaxBlock bytes (register blocking), whole 64-byte lines
// except the last, about equal widths. One pass over the CSR per block.
template <typename T>
std::vector<std::pair<int64_t, int64_t>> feature_blocks(int64_t F) {
  constexpr int64_t L = 64 / sizeof(T);  // elements per cache line
  const int64_t bw = kMaxBlock / int64_t(sizeof(T));
  const int64_t nblocks = (F + bw - 1) / bw;
  const int64_t lines = (F + L - 1) / L;
  std::vector<std::pair<int64_t, int64_t>> blocks;
  int64_t f0 = 0;
  for (int64_t b = 0; b < nblocks; ++b) {
    const int64_t lines_b = lines / nblocks + (b < lines % nblocks ? 1 : 0);
    const int64_t fw = std::min(F - f0, lines_b * L);
    if (fw > 0) blocks.emplace_back(f0, fw);
    f0 += fw;
  }
  return blocks;
}

template <typename T, typename I>
void spmm_cpu_impl(const SpmmArgs<T, I>& a, SpmmErrors& err) {
  const int64_t n = a.n;
  if (n == 0 || a.F == 0) return;
  const auto blocks = feature_blocks<T>(a.F);
  // work ~ (edges + rows) * row bytes; below ~2 MiB of gathered data (~0.1 ms on one core) the
  // gain of a second thread is smaller than the fork/join cost (and a loaded machine can delay a
  // parallel region by a whole scheduler time slice)
  const int64_t work = (a.nnz + n) * a.F * int64_t(sizeof(T));
  const int64_t threads = at::get_num_threads();
  const bool serial = threads <= 1 || work < (int64_t(2) << 20) || at::in_parallel_region();
  // ~16 chunks per thread, each at least ~8k (edges + rows)
  const int64_t chunks =
      serial ? 1 : std::max<int64_t>(1, std::min<int64_t>(threads * 16, (a.nnz + n) / 8192));
  const auto bounds = row_chunks(a.indptr, n, a.nnz, chunks);
  // software prefetching only pays when the gathered rows are not already in the cache
  const bool prefetch = n * a.F * int64_t(sizeof(T)) >= kPrefetchMinBytes;
  for (const auto& [f0, fw] : blocks) {
    const RowsFn<T, I> fn = rows_fn<T, I>(fw, prefetch);
    if (chunks == 1) {
      fn(a, f0, fw, 0, n, err);
      continue;
    }
    std::atomic<int64_t> next{0};
    at::parallel_for(0, threads, 1, [&](int64_t, int64_t) {
      for (int64_t c = next.fetch_add(1); c < chunks; c = next.fetch_add(1)) {
        if (bounds[c] < bounds[c + 1]) fn(a, f0, fw, bounds[c], bounds[c + 1], err);
      }
    });
  }
}

at::Tensor normalized_spmm_cpu(const at::Tensor& indptr_in, const at::Tensor& indices_in,
                               const at::Tensor& x_in, const std::optional<at::Tensor>& edge_weight,
                               const std::optional<at::Tensor>& row_scale,
                               const std::optional<at::Tensor>& col_scale, bool add_self_loops,
                               const std::optional<at::Tensor>& /*t_indptr*/,
                               const std::optional<at::Tensor>& /*t_indices*/,
                               const std::optional<at::Tensor>& /*t_perm*/) {
  auto [indptr, indices, x, w, rs, cs] =
      normalized_spmm_check_inputs(indptr_in, indices_in, x_in, edge_weight, row_scale, col_scale);
  const int64_t n = x.size(0), F = x.size(1), nnz = indices.numel();
  const int64_t* ip = indptr.data_ptr<int64_t>();
  TORCH_CHECK(ip[0] == 0 && ip[n] == nnz, "normalized_spmm: indptr must start at 0 and end at the "
              "number of edges (", nnz, "), got indptr[0] = ", ip[0], " and indptr[-1] = ", ip[n]);
  at::Tensor y = at::empty({n, F}, x.options());
  SpmmErrors err;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "normalized_spmm_cpu", [&] {
    auto launch = [&](auto* idx_ptr) {
      using I = std::remove_const_t<std::remove_pointer_t<decltype(idx_ptr)>>;
      SpmmArgs<scalar_t, I> a{ip,
                              idx_ptr,
                              w.defined() ? w.data_ptr<scalar_t>() : nullptr,
                              rs.defined() ? rs.data_ptr<scalar_t>() : nullptr,
                              cs.defined() ? cs.data_ptr<scalar_t>() : nullptr,
                              x.data_ptr<scalar_t>(),
                              y.data_ptr<scalar_t>(),
                              n,
                              F,
                              nnz,
                              add_self_loops,
                              n * F * int64_t(sizeof(scalar_t)) >= kStreamBytes};
      spmm_cpu_impl<scalar_t, I>(a, err);
    };
    if (indices.scalar_type() == at::kInt) launch(indices.data_ptr<int32_t>());
    else launch(indices.data_ptr<int64_t>());
  });
  const int64_t bad_row = err.bad_row.load();
  TORCH_CHECK(bad_row < 0, "normalized_spmm: indptr is not a valid CSR row pointer at row ",
              bad_row,
              " (indptr[", bad_row, "] = ", ip[bad_row], ", indptr[", bad_row + 1, "] = ",
              ip[bad_row + 1], "); it must be non-decreasing from 0 to the number of edges");
  const int64_t bad_pos = err.bad_col_pos.load();
  if (bad_pos >= 0) {
    const int64_t bad = indices.scalar_type() == at::kInt
                            ? int64_t(indices.data_ptr<int32_t>()[bad_pos])
                            : indices.data_ptr<int64_t>()[bad_pos];
    TORCH_CHECK(false, "normalized_spmm: indices contains node id ", bad, " outside [0, ", n,
                ") (the graph has ", n, " nodes)");
  }
  return y;
}

}  // namespace

TORCH_LIBRARY_IMPL(dglclust, CPU, m) { m.impl("normalized_spmm", &normalized_spmm_cpu); }

}  // namespace dglclust
