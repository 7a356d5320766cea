// CPU kernel of adagae_graph (schema and semantics: csrc/ops/adagae_graph.cpp and
// dglclust/ops/adagae.py).
//
// 1. Candidate selection, never holding more than one B x B block of distances per thread:
//    d~_ij = max(||x_i||^2 + ||x_j||^2 - 2 x_i.x_j, 0) in x's dtype on column-centered data (less
//    cancellation), with x_i.x_j from one at::mm per block. Because d~ is symmetric only blocks
//    (I, J) with I <= J are computed, and each value feeds both row i's and row j's running
//    top-c (a max-heap keyed by (d~, index), one spin lock per row). Blocks are handed out
//    dynamically in one parallel region (robust to a loaded machine); the kept set, the exact
//    lexicographic top-c by (d~, index), does not depend on the schedule or thread count.
// 2. Refinement: the c = min(n-1, k+1+kMargin) candidates of each row get exact float64 squared
//    distances from the uncentered input, are ordered by (distance, index), and the first k+1
//    give the closed-form weights. The margin absorbs rounding in the selection.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <cmath>
#include <limits>
#include <numeric>
#include <thread>
#include <vector>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace dglclust {

namespace {

constexpr int64_t kMargin = 8;     // extra candidates refined in float64 (see header comment)
#ifndef DGLCLUST_ADAGAE_BLOCK
#define DGLCLUST_ADAGAE_BLOCK 512
#endif
constexpr int64_t kBlock = DGLCLUST_ADAGAE_BLOCK;  // rows / columns per distance block (B x B)
constexpr int64_t kChunk = 16;     // columns tested together before the scalar heap updates

void check_adagae_inputs(const at::Tensor& x, int64_t k) {
  TORCH_CHECK(x.dim() == 2, "adagae_graph: x must be a 2-D (n, d) feature matrix, got shape ", x.sizes());
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble,
              "adagae_graph: x must be float32 or float64, got ", x.scalar_type());
  const int64_t n = x.size(0);
  TORCH_CHECK(x.size(1) >= 1, "adagae_graph: x has no features (shape ", x.sizes(), ")");
  TORCH_CHECK(n >= 2, "adagae_graph: need at least 2 points, got n = ", n);
  TORCH_CHECK(k >= 1 && k < n, "adagae_graph: k must satisfy 1 <= k < n (k neighbours besides the point "
              "itself), got k = ", k, " with n = ", n);
  TORCH_CHECK(at::isfinite(x).all().item<bool>(), "adagae_graph: x contains NaN or Inf; clean the features "
              "(e.g. torch.nan_to_num) before building the graph");
}

// Selection keys order candidates by (d~, index). For float32 a key is one uint64: the bits of a
// non-negative float increase with its value, so (bits << 32 | index) compares lexicographically
// with a single integer comparison (n < 2^32 is checked). float64 uses a (d, index) pair.
template <typename T>
struct Key;

template <>
struct Key<float> {
  using type = uint64_t;
  static inline type make(float d, int64_t i) {
    uint32_t bits;
    std::memcpy(&bits, &d, sizeof(bits));
    return (static_cast<uint64_t>(bits) << 32) | static_cast<uint64_t>(i);
  }
  static inline float dist(type k) {
    const uint32_t bits = static_cast<uint32_t>(k >> 32);
    float d;
    std::memcpy(&d, &bits, sizeof(d));
    return d;
  }
  static inline int64_t index(type k) { return static_cast<int64_t>(k & 0xffffffffu); }
  static inline bool less(type a, type b) { return a < b; }
};

template <>
struct Key<double> {
  struct type {
    double d;
    int64_t i;
  };
  static inline type make(double d, int64_t i) { return type{d, i}; }
  static inline double dist(const type& k) { return k.d; }
  static inline int64_t index(const type& k) { return k.i; }
  static inline bool less(const type& a, const type& b) { return a.d < b.d || (a.d == b.d && a.i < b.i); }
};

// Max-heap of c keys (largest at the root): replace the root and sift down.
template <typename T>
inline void heap_replace_top(typename Key<T>::type* h, int64_t c, typename Key<T>::type v) {
  int64_t pos = 0;
  while (true) {
    const int64_t l = 2 * pos + 1;
    if (l >= c) break;
    const int64_t m = (l + 1 < c && Key<T>::less(h[l], h[l + 1])) ? l + 1 : l;
    if (!Key<T>::less(v, h[m])) break;
    h[pos] = h[m];
    pos = m;
  }
  h[pos] = v;
}

// Running top-c per row: a max-heap of keys per row, initialized with (+inf, n), plus the root's
// distance in a dense array for the vectorized filter. Threads share the heaps: an offer takes the
// row's spin lock (offers are rare: ~c ln(n/c) accepted per row), while the filter reads thr
// without it -- thr only decreases, so a stale value only lets more offers through to the locked
// exact check. The kept set is the exact lexicographic top-c by (d~, index) whatever the order of
// the offers, hence independent of scheduling and thread count.
template <typename T>
struct Heaps {
  using K = typename Key<T>::type;
  K* heap;                     // n x c
  T* thr;                      // n: distance of each heap's root
  std::atomic<uint8_t>* lock;  // n
  int64_t c;

  inline void offer(int64_t row, T dv, int64_t col) {
    const K v = Key<T>::make(dv, col);
    std::atomic<uint8_t>& l = lock[row];
    for (int spins = 0; l.exchange(1, std::memory_order_acquire); ) {
      while (l.load(std::memory_order_relaxed)) {
        // the holder may have been preempted (busy machine): stop burning its CPU after a while
        if (++spins > 64) std::this_thread::yield();
      }
    }
    K* h = heap + row * c;
    if (Key<T>::less(v, h[0])) {
      heap_replace_top<T>(h, c, v);
      thr[row] = Key<T>::dist(h[0]);
    }
    l.store(0, std::memory_order_release);
  }
};

// max(v, 0) that maps -0.0 (and NaN) to +0.0, so the float32 key bits stay monotonic.
template <typename T>
inline T clamp0(T v) {
  return v > T(0) ? v : T(0);
}

// Distances of one chunk of kChunk = 16 columns of a block row, and two bit masks: lanes that may
// enter row i's top-c (mi) and lanes whose column row j may take i (mj). Exact keys are re-checked
// by Heaps::offer, so the masks only have to be a superset (<= instead of <).
template <typename T>
inline void chunk_eval(const T* g, const T* sqc, const T* thc, T sqi, T ti, T* dvb, uint32_t& mi, uint32_t& mj) {
  mi = mj = 0;
  for (int64_t l = 0; l < kChunk; ++l) {
    const T dv = clamp0(sqi + sqc[l] - T(2) * g[l]);
    dvb[l] = dv;
    mi |= static_cast<uint32_t>(dv <= ti) << l;
    mj |= static_cast<uint32_t>(dv <= thc[l]) << l;
  }
}

#if defined(__AVX512F__)
template <>
inline void chunk_eval<float>(const float* g, const float* sqc, const float* thc, float sqi, float ti, float* dvb,
                              uint32_t& mi, uint32_t& mj) {
  const __m512 s = _mm512_add_ps(_mm512_set1_ps(sqi), _mm512_loadu_ps(sqc));
  const __m512 dv = _mm512_max_ps(_mm512_fnmadd_ps(_mm512_set1_ps(2.0f), _mm512_loadu_ps(g), s), _mm512_setzero_ps());
  _mm512_storeu_ps(dvb, dv);
  mi = _mm512_cmp_ps_mask(dv, _mm512_set1_ps(ti), _CMP_LE_OQ);
  mj = _mm512_cmp_ps_mask(dv, _mm512_loadu_ps(thc), _CMP_LE_OQ);
}

template <>
inline void chunk_eval<double>(const double* g, const double* sqc, const double* thc, double sqi, double ti,
                               double* dvb, uint32_t& mi, uint32_t& mj) {
  mi = mj = 0;
  for (int h = 0; h < 2; ++h) {
    const __m512d s = _mm512_add_pd(_mm512_set1_pd(sqi), _mm512_loadu_pd(sqc + 8 * h));
    const __m512d dv =
        _mm512_max_pd(_mm512_fnmadd_pd(_mm512_set1_pd(2.0), _mm512_loadu_pd(g + 8 * h), s), _mm512_setzero_pd());
    _mm512_storeu_pd(dvb + 8 * h, dv);
    mi |= static_cast<uint32_t>(_mm512_cmp_pd_mask(dv, _mm512_set1_pd(ti), _CMP_LE_OQ)) << (8 * h);
    mj |= static_cast<uint32_t>(_mm512_cmp_pd_mask(dv, _mm512_loadu_pd(thc + 8 * h), _CMP_LE_OQ)) << (8 * h);
  }
}
#endif

// Feed the block G = xc[i0:i0+R] . xc[j0:j0+C]^T (row stride ldg) into the heaps of its rows and
// columns. On a diagonal block (i0 == j0) only the upper triangle j > i is used, so that each pair
// is offered exactly once, with one value, to both of its rows.
template <typename T>
void process_block(const T* G, int64_t ldg, int64_t i0, int64_t R, int64_t j0, int64_t C, bool diag,
                   const T* sq, Heaps<T>& h) {
  T dvb[kChunk];
  for (int64_t r = 0; r < R; ++r) {
    const int64_t i = i0 + r;
    const T* g = G + r * ldg;
    const T sqi = sq[i];
    int64_t jc = diag ? r + 1 : 0;
    for (; jc < C; jc += kChunk) {
      const int64_t len = std::min<int64_t>(kChunk, C - jc);
      uint32_t mi, mj;
      if (len == kChunk) {
        chunk_eval<T>(g + jc, sq + j0 + jc, h.thr + j0 + jc, sqi, h.thr[i], dvb, mi, mj);
      } else {
        mi = mj = 0;
        for (int64_t l = 0; l < len; ++l) {
          const T dv = clamp0(sqi + sq[j0 + jc + l] - T(2) * g[jc + l]);
          dvb[l] = dv;
          mi |= static_cast<uint32_t>(dv <= h.thr[i]) << l;
          mj |= static_cast<uint32_t>(dv <= h.thr[j0 + jc + l]) << l;
        }
      }
      for (uint32_t m = mi | mj; m != 0; m &= m - 1) {
        const int l = __builtin_ctz(m);
        const int64_t j = j0 + jc + l;
        if (mi >> l & 1u) h.offer(i, dvb[l], j);
        if (mj >> l & 1u) h.offer(j, dvb[l], i);
      }
    }
  }
}

// All blocks (I, J), I <= J, diagonal ones first (they give every row early thresholds), handed
// out dynamically to the threads of a single parallel region.
template <typename T>
void select_candidates(const at::Tensor& xc, const T* sq, Heaps<T>& h) {
  const int64_t n = xc.size(0);
  const int64_t nb = (n + kBlock - 1) / kBlock;
  auto block_rows = [&](int64_t b) { return std::min(kBlock, n - b * kBlock); };
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (int64_t b = 0; b < nb; ++b) pairs.emplace_back(b, b);
  for (int64_t I = 0; I < nb; ++I)
    for (int64_t J = I + 1; J < nb; ++J) pairs.emplace_back(I, J);
  const int64_t npairs = static_cast<int64_t>(pairs.size());
  std::atomic<int64_t> next{0};
  // small problems (< ~2^26 multiply-adds) run on one thread: a parallel region costs more there
  const bool small = static_cast<double>(n) * n * xc.size(1) < 67108864.0;
  const int64_t workers = small ? 1 : std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), npairs));
  at::parallel_for(0, workers, 1, [&](int64_t, int64_t) {
    at::Tensor G = at::empty({kBlock, kBlock}, xc.options());
    for (int64_t p = next.fetch_add(1); p < npairs; p = next.fetch_add(1)) {
      const int64_t I = pairs[p].first, J = pairs[p].second;
      const int64_t R = block_rows(I), C = block_rows(J);
      at::Tensor g = G.narrow(0, 0, R).narrow(1, 0, C);
      at::mm_out(g, xc.narrow(0, I * kBlock, R), xc.narrow(0, J * kBlock, C).t());
      process_block<T>(g.data_ptr<T>(), g.stride(0), I * kBlock, R, J * kBlock, C, I == J, sq, h);
    }
  });
}

constexpr int64_t kRowBlock = 1024;  // rows per partial sum (fixed => thread-count independent)

// Rows per parallel chunk for per-row work of `cost` operations: at least ~2^20 operations per
// chunk, so that small inputs do not pay for a parallel region.
inline int64_t row_grain(int64_t cost) { return std::max<int64_t>(1, (int64_t(1) << 20) / std::max<int64_t>(1, cost)); }

// Selection data: xc = x - column means (means accumulated in float64, the difference rounded
// once to T) and sq_i = ||xc_i||^2 (accumulated in float64). Integer-valued x with
// 4 d max|x|^2 below 2^24 (float32) / 2^53 (float64) is used uncentered instead: then every d~ is an
// exact integer computation and exact ties (e.g. Hamming distances) keep their index order.
template <typename T>
void prepare_selection_data(const T* x, int64_t n, int64_t d, T* xc, T* sq) {
  const int64_t nblocks = (n + kRowBlock - 1) / kRowBlock;
  std::vector<double> colsum(nblocks * d, 0.0), maxabs(nblocks, 0.0);
  std::vector<char> integral(nblocks, 1);
  at::parallel_for(0, nblocks, std::max<int64_t>(1, row_grain(d) / kRowBlock), [&](int64_t bb, int64_t be) {
    for (int64_t b = bb; b < be; ++b) {
      double* cs = colsum.data() + b * d;
      double m = 0;
      bool integ = true;
      for (int64_t i = b * kRowBlock; i < std::min(n, (b + 1) * kRowBlock); ++i) {
        const T* xi = x + i * d;
        for (int64_t t = 0; t < d; ++t) {
          const double v = static_cast<double>(xi[t]);
          cs[t] += v;
          m = std::max(m, std::abs(v));
          integ = integ && (v == std::nearbyint(v));
        }
      }
      maxabs[b] = m;
      integral[b] = integ;
    }
  });
  double m = 0;
  bool integ = true;
  std::vector<double> mean(d, 0.0);
  for (int64_t b = 0; b < nblocks; ++b) {
    m = std::max(m, maxabs[b]);
    integ = integ && integral[b];
    for (int64_t t = 0; t < d; ++t) mean[t] += colsum[b * d + t];
  }
  const double limit = sizeof(T) == 4 ? 16777216.0 : 9007199254740992.0;
  const bool exact = integ && 4.0 * static_cast<double>(d) * m * m < limit;
  for (int64_t t = 0; t < d; ++t) mean[t] = exact ? 0.0 : mean[t] / static_cast<double>(n);
  at::parallel_for(0, n, row_grain(d), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      double s = 0;
      for (int64_t t = 0; t < d; ++t) {
        const T v = static_cast<T>(static_cast<double>(x[i * d + t]) - mean[t]);
        xc[i * d + t] = v;
        s += static_cast<double>(v) * static_cast<double>(v);
      }
      sq[i] = static_cast<T>(s);
    }
  });
}

// Exact float64 squared distance between rows i and j of x.
template <typename T>
inline double exact_sqdist(const T* xi, const T* xj, int64_t d) {
  double s = 0;
  _Pragma("omp simd reduction(+ : s)")
  for (int64_t t = 0; t < d; ++t) {
    const double diff = static_cast<double>(xi[t]) - static_cast<double>(xj[t]);
    s += diff * diff;
  }
  return s;
}

template <typename T>
void refine_rows(const T* xp, int64_t n, int64_t d, int64_t k, const int64_t* cand, int64_t c,
                 int64_t* indices, T* values) {
  at::parallel_for(0, n, row_grain(c * d + 8 * c), [&](int64_t begin, int64_t end) {
    std::vector<double> D(c);
    std::vector<int64_t> order(c), chosen(k);
    for (int64_t i = begin; i < end; ++i) {
      const int64_t* ci = cand + i * c;
      for (int64_t e = 0; e < c; ++e) D[e] = exact_sqdist(xp + i * d, xp + ci[e] * d, d);
      std::iota(order.begin(), order.end(), int64_t(0));
      std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        return D[a] < D[b] || (D[a] == D[b] && ci[a] < ci[b]);
      });
      // d_{i,k+1}; for k = n-1 there is none and the k-th distance takes its place
      const double t = c > k ? D[order[k]] : D[order[k - 1]];
      double denom = 0;
      for (int64_t v = 0; v < k; ++v) denom += t - D[order[v]];
      for (int64_t v = 0; v < k; ++v) chosen[v] = order[v];
      std::sort(chosen.begin(), chosen.end(), [&](int64_t a, int64_t b) { return ci[a] < ci[b]; });
      for (int64_t v = 0; v < k; ++v) {
        const int64_t e = chosen[v];
        indices[i * k + v] = ci[e];
        values[i * k + v] = static_cast<T>(denom > 0 ? (t - D[e]) / denom : 1.0 / static_cast<double>(k));
      }
    }
  });
}

// W = (P + P^T) / 2 for a CSR P with sorted rows; W has the union pattern, rows sorted.
template <typename T>
std::tuple<at::Tensor, at::Tensor, at::Tensor> symmetrize_csr(const at::Tensor& indptr, const at::Tensor& indices,
                                                             const at::Tensor& values, int64_t n) {
  const int64_t* pp = indptr.data_ptr<int64_t>();
  const int64_t* pi = indices.data_ptr<int64_t>();
  const T* pv = values.data_ptr<T>();
  const int64_t nnz = pp[n];
  // transpose (counting sort by column; rows come out sorted because i is visited in order)
  std::vector<int64_t> tp(n + 1, 0), ti(nnz), fill;
  std::vector<T> tv(nnz);
  for (int64_t e = 0; e < nnz; ++e) ++tp[pi[e] + 1];
  for (int64_t i = 0; i < n; ++i) tp[i + 1] += tp[i];
  fill.assign(tp.begin(), tp.end() - 1);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t e = pp[i]; e < pp[i + 1]; ++e) {
      const int64_t pos = fill[pi[e]]++;
      ti[pos] = i;
      tv[pos] = pv[e];
    }
  // merge row i of P with row i of P^T: first the sizes, then the entries
  at::Tensor wptr = at::empty({n + 1}, indptr.options());
  int64_t* wp = wptr.data_ptr<int64_t>();
  wp[0] = 0;
  at::parallel_for(0, n, row_grain(4 * (nnz / std::max<int64_t>(n, 1) + 1)), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      int64_t a = pp[i], b = tp[i], cnt = 0;
      while (a < pp[i + 1] || b < tp[i + 1]) {
        if (b == tp[i + 1] || (a < pp[i + 1] && pi[a] < ti[b])) ++a;
        else if (a == pp[i + 1] || ti[b] < pi[a]) ++b;
        else { ++a; ++b; }
        ++cnt;
      }
      wp[i + 1] = cnt;
    }
  });
  for (int64_t i = 0; i < n; ++i) wp[i + 1] += wp[i];
  at::Tensor windices = at::empty({wp[n]}, indices.options());
  at::Tensor wvalues = at::empty({wp[n]}, values.options());
  int64_t* wi = windices.data_ptr<int64_t>();
  T* wv = wvalues.data_ptr<T>();
  at::parallel_for(0, n, row_grain(4 * (nnz / std::max<int64_t>(n, 1) + 1)), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      int64_t a = pp[i], b = tp[i], o = wp[i];
      while (a < pp[i + 1] || b < tp[i + 1]) {
        if (b == tp[i + 1] || (a < pp[i + 1] && pi[a] < ti[b])) {
          wi[o] = pi[a];
          wv[o] = pv[a] / T(2);
          ++a;
        } else if (a == pp[i + 1] || ti[b] < pi[a]) {
          wi[o] = ti[b];
          wv[o] = tv[b] / T(2);
          ++b;
        } else {
          wi[o] = pi[a];
          wv[o] = (pv[a] + tv[b]) / T(2);
          ++a;
          ++b;
        }
        ++o;
      }
    }
  });
  return std::make_tuple(wptr, windices, wvalues);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> adagae_graph_cpu(const at::Tensor& x_, int64_t k, bool symmetrize) {
  check_adagae_inputs(x_, k);
  TORCH_CHECK(x_.device().is_cpu(), "adagae_graph_cpu: x must be on the CPU");
  const at::Tensor x = x_.contiguous();
  const int64_t n = x.size(0), d = x.size(1);
  const int64_t c = std::min(n - 1, k + 1 + kMargin);
  const auto idx_opts = x.options().dtype(at::kLong);
  at::Tensor xc = at::empty_like(x);
  at::Tensor sq = at::empty({n}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "adagae_graph_cpu_prepare", [&] {
    prepare_selection_data<scalar_t>(x.data_ptr<scalar_t>(), n, d, xc.data_ptr<scalar_t>(), sq.data_ptr<scalar_t>());
  });

  TORCH_CHECK(x.scalar_type() != at::kFloat || n < (int64_t(1) << 32), "adagae_graph: float32 input supports "
              "n < 2^32 points, got n = ", n);
  const int64_t cand_bytes =
      x.scalar_type() == at::kFloat ? sizeof(Key<float>::type) : sizeof(Key<double>::type);
  at::Tensor heap = at::empty({n * c * cand_bytes}, x.options().dtype(at::kByte));
  at::Tensor cand_i = at::empty({n, c}, idx_opts);
  at::Tensor thr = at::full({n}, std::numeric_limits<double>::infinity(), x.options());
  at::Tensor indptr = at::arange(0, n * k + 1, k, idx_opts);
  at::Tensor indices = at::empty({n * k}, idx_opts);
  at::Tensor values = at::empty({n * k}, x.options());

  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "adagae_graph_cpu", [&] {
    using K = typename Key<scalar_t>::type;
    std::vector<std::atomic<uint8_t>> locks(n);
    for (auto& l : locks) l.store(0, std::memory_order_relaxed);
    Heaps<scalar_t> h{reinterpret_cast<K*>(heap.data_ptr<uint8_t>()), thr.data_ptr<scalar_t>(), locks.data(), c};
    const scalar_t inf = std::numeric_limits<scalar_t>::infinity();
    std::fill(h.heap, h.heap + n * c, Key<scalar_t>::make(inf, n));
    select_candidates<scalar_t>(xc, sq.data_ptr<scalar_t>(), h);
    int64_t* ci = cand_i.data_ptr<int64_t>();
    for (int64_t e = 0; e < n * c; ++e) ci[e] = Key<scalar_t>::index(h.heap[e]);
    refine_rows<scalar_t>(x.data_ptr<scalar_t>(), n, d, k, cand_i.data_ptr<int64_t>(), c,
                          indices.data_ptr<int64_t>(), values.data_ptr<scalar_t>());
  });
  if (!symmetrize) return std::make_tuple(indptr, indices, values);
  std::tuple<at::Tensor, at::Tensor, at::Tensor> w;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "adagae_graph_cpu_symmetrize", [&] {
    w = symmetrize_csr<scalar_t>(indptr, indices, values, n);
  });
  return w;
}

}  // namespace

TORCH_LIBRARY_IMPL(dglclust, CPU, m) { m.impl("adagae_graph", &adagae_graph_cpu); }

}  // namespace dglclust
