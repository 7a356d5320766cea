// CPU kernel of gram_pairwise_sum (see csrc/ops/gram_pairwise.cpp).
//
// One triangle of the symmetric n x n score matrix, in tiles of 64 rows x 2048 columns: per tile
// S = Z_I Z_J^T by a matrix product, then h(S) summed and S overwritten by h'(S) in one vectorized
// pass while the tile is in cache, then grad_I += 2 H' Z_J and grad_J += 2 H'^T Z_I (details at
// gram_pairwise_impl). Totals are summed per row block in float64 and the blocks in a fixed order:
// the total does not depend on the thread count (the gradient does, to rounding: per-thread buffers).
// Time O(n^2 d / 2), memory O(n d x threads + threads x 64 x 2048).
//
// float32 on AVX-512 or AVX2 uses SLEEF's vector exp/log (exported by libtorch_cpu, header shipped with
// torch) and a refined reciprocal; other targets and float64 use std::exp / std::log1p.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <vector>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#include <sleef.h>
#endif

namespace dglclust {
namespace {

constexpr int64_t kRowBlock = 64;    // rows per task (fixed => deterministic totals)
constexpr int64_t kColBlock = 2048;  // columns per tile: a 64 x 2048 float tile (512 KB) stays in L2

// In place over len pair scores: s -> h'(s); returns sum h(s). kind 0: h = sigmoid^2, 1: softplus.
// With e = exp(-|s|): sigmoid(s) = 1 / (1 + e) for s >= 0, e / (1 + e) otherwise, and
// softplus(s) = max(s, 0) + log1p(e) (no overflow for any s).
template <typename scalar_t>
inline scalar_t pair_term(scalar_t s, int kind, scalar_t& hp) {
  const scalar_t e = std::exp(-std::abs(s));
  const scalar_t inv = scalar_t(1) / (scalar_t(1) + e);
  const scalar_t sig = s >= scalar_t(0) ? inv : e * inv;
  if (kind == 0) {
    const scalar_t sq = sig * sig;
    hp = scalar_t(2) * sq * (scalar_t(1) - sig);
    return sq;
  }
  hp = sig;
  return std::max(s, scalar_t(0)) + std::log1p(e);
}

template <typename scalar_t>
double pair_terms(scalar_t* s, int64_t len, int kind) {
  double tot = 0.0;
  for (int64_t k = 0; k < len; ++k) {
    scalar_t hp;
    tot += static_cast<double>(pair_term(s[k], kind, hp));
    s[k] = hp;
  }
  return tot;
}

#if defined(__AVX512F__)
template <>
double pair_terms<float>(float* s, int64_t len, int kind) {
  const __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f), zero = _mm512_setzero_ps();
  __m512 acc = zero;
  double tot = 0.0;
  int64_t k = 0, since_flush = 0;
  for (; k + 16 <= len; k += 16) {
    const __m512 x = _mm512_loadu_ps(s + k);
    const __m512 e = Sleef_expf16_u10(_mm512_sub_ps(zero, _mm512_abs_ps(x)));
    const __m512 a = _mm512_add_ps(one, e);  // in (1, 2]
    __m512 inv = _mm512_rcp14_ps(a);           // 1/a to 14 bits, one Newton step: ~23 bits
    inv = _mm512_mul_ps(inv, _mm512_fnmadd_ps(a, inv, two));
    const __mmask16 neg = _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ);
    const __m512 sig = _mm512_mask_mul_ps(inv, neg, e, inv);
    if (kind == 0) {
      const __m512 sq = _mm512_mul_ps(sig, sig);
      acc = _mm512_add_ps(acc, sq);
      _mm512_storeu_ps(s + k, _mm512_mul_ps(_mm512_mul_ps(two, sq), _mm512_sub_ps(one, sig)));
    } else {
      // log1p(e) = log(a): a is in (1, 2], so log's 3.5-ulp variant loses nothing of note
      acc = _mm512_add_ps(acc, _mm512_add_ps(_mm512_max_ps(x, zero), Sleef_logf16_u35(a)));
      _mm512_storeu_ps(s + k, sig);
    }
    if (++since_flush == 256) {  // float lanes hold at most 256 terms before going to float64
      tot += static_cast<double>(_mm512_reduce_add_ps(acc));
      acc = zero;
      since_flush = 0;
    }
  }
  tot += static_cast<double>(_mm512_reduce_add_ps(acc));
  for (; k < len; ++k) {
    float hp;
    tot += static_cast<double>(pair_term(s[k], kind, hp));
    s[k] = hp;
  }
  return tot;
}
#elif defined(__AVX2__)
template <>
double pair_terms<float>(float* s, int64_t len, int kind) {
  const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f), zero = _mm256_setzero_ps();
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 acc = zero;
  double tot = 0.0;
  int64_t k = 0, since_flush = 0;
  auto flush = [&] {
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, acc);
    for (float v : lanes) tot += static_cast<double>(v);
    acc = zero;
    since_flush = 0;
  };
  for (; k + 8 <= len; k += 8) {
    const __m256 x = _mm256_loadu_ps(s + k);
    const __m256 e = Sleef_expf8_u10(_mm256_or_ps(x, sign));  // exp(-|x|)
    const __m256 a = _mm256_add_ps(one, e);
    __m256 inv = _mm256_rcp_ps(a);  // 12 bits, one Newton step: ~23 bits
    inv = _mm256_mul_ps(inv, _mm256_fnmadd_ps(a, inv, two));
    const __m256 sig = _mm256_blendv_ps(inv, _mm256_mul_ps(e, inv), _mm256_cmp_ps(x, zero, _CMP_LT_OQ));
    if (kind == 0) {
      const __m256 sq = _mm256_mul_ps(sig, sig);
      acc = _mm256_add_ps(acc, sq);
      _mm256_storeu_ps(s + k, _mm256_mul_ps(_mm256_mul_ps(two, sq), _mm256_sub_ps(one, sig)));
    } else {
      acc = _mm256_add_ps(acc, _mm256_add_ps(_mm256_max_ps(x, zero), Sleef_logf8_u35(a)));
      _mm256_storeu_ps(s + k, sig);
    }
    if (++since_flush == 512) flush();
  }
  flush();
  for (; k < len; ++k) {
    float hp;
    tot += static_cast<double>(pair_term(s[k], kind, hp));
    s[k] = hp;
  }
  return tot;
}
#endif

// One triangle of the symmetric score matrix: row block I (64 rows) takes its diagonal square
// (both orders of its pairs, weight 1) and the columns right of it in tiles of 2048 (weight 2: each
// tile stands for its mirror image too). Per tile: S = Z_I Z_J^T by a matrix product, h(S) summed
// and S overwritten by h'(S) in one vectorized pass while the tile is in cache, then
// grad_I += 2 H' Z_J (rows of I belong to the task that owns I) and grad_J += 2 H'^T Z_I (into the
// thread's own buffer, summed into grad at the end). Tasks pair row block u with block nb-1-u, so
// every task has the same number of tiles.
template <typename scalar_t>
void gram_pairwise_impl(const at::Tensor& z, int kind, bool need_grad, double* total, at::Tensor& grad) {
  const int64_t n = z.size(0), d = z.size(1);
  const int64_t nb = (n + kRowBlock - 1) / kRowBlock;
  std::vector<double> block_total(static_cast<size_t>(nb), 0.0);
  std::vector<at::Tensor> buffers(static_cast<size_t>(std::max(1, at::get_num_threads())));
  at::parallel_for(0, (nb + 1) / 2, 1, [&](int64_t u0, int64_t u1) {
    const int tid = at::get_thread_num();
    TORCH_CHECK(tid >= 0 && tid < static_cast<int>(buffers.size()), "gram_pairwise_sum: thread id ", tid,
                " outside the pool of ", buffers.size());
    at::Tensor& gbuf = buffers[tid];
    if (need_grad && !gbuf.defined()) gbuf = at::zeros({n, d}, z.options());
    at::Tensor flat = at::empty({kRowBlock * kColBlock}, z.options());
    auto tile = [&](int64_t rows, int64_t cols) { return flat.narrow(0, 0, rows * cols).view({rows, cols}); };
    for (int64_t u = u0; u < u1; ++u) {
      for (const int64_t rb : {u, nb - 1 - u}) {
        const int64_t i0 = rb * kRowBlock, rows = std::min(n, i0 + kRowBlock) - i0;
        const at::Tensor zi = z.narrow(0, i0, rows);
        at::Tensor gi = need_grad ? grad.narrow(0, i0, rows) : at::Tensor();
        at::Tensor s = tile(rows, rows);
        at::mm_out(s, zi, zi.t());
        double tot = pair_terms<scalar_t>(s.data_ptr<scalar_t>(), rows * rows, kind);
        if (need_grad) gi.addmm_(s, zi, /*beta=*/1, /*alpha=*/2);
        for (int64_t j0 = i0 + rows; j0 < n; j0 += kColBlock) {
          const int64_t cols = std::min(n, j0 + kColBlock) - j0;
          const at::Tensor zj = z.narrow(0, j0, cols);
          s = tile(rows, cols);
          at::mm_out(s, zi, zj.t());
          tot += 2.0 * pair_terms<scalar_t>(s.data_ptr<scalar_t>(), rows * cols, kind);
          if (need_grad) {
            gi.addmm_(s, zj, /*beta=*/1, /*alpha=*/2);
            gbuf.narrow(0, j0, cols).addmm_(s.t(), zi, /*beta=*/1, /*alpha=*/2);
          }
        }
        block_total[rb] = tot;
        if (rb == nb - 1 - u) break;  // the middle block of an odd count pairs with itself
      }
    }
  });
  if (need_grad)
    for (const at::Tensor& b : buffers)
      if (b.defined()) grad.add_(b);
  double sum = 0.0;
  for (double v : block_total) sum += v;
  *total = sum;
}

std::tuple<at::Tensor, at::Tensor> gram_pairwise_sum_cpu(const at::Tensor& z_in, int64_t kind, bool need_grad) {
  TORCH_CHECK(z_in.dim() == 2, "gram_pairwise_sum: z must be 2-D (n x d), got ", z_in.sizes());
  TORCH_CHECK(kind == 0 || kind == 1, "gram_pairwise_sum: kind must be 0 (sigmoid^2) or 1 (softplus), got ", kind);
  TORCH_CHECK(z_in.scalar_type() == at::kFloat || z_in.scalar_type() == at::kDouble,
              "gram_pairwise_sum: the kernel supports float32 and float64, got ", z_in.scalar_type());
  const at::Tensor z = z_in.contiguous();
  const int64_t n = z.size(0), d = z.size(1);
  at::Tensor total = at::zeros({}, z.options().dtype(at::kDouble));
  at::Tensor grad = need_grad ? at::zeros({n, d}, z.options()) : at::empty({0}, z.options());
  if (n == 0) return {total, grad};
  AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "gram_pairwise_sum_cpu", [&] {
    gram_pairwise_impl<scalar_t>(z, static_cast<int>(kind), need_grad, total.data_ptr<double>(), grad);
  });
  return {total, grad};
}

}  // namespace

TORCH_LIBRARY_IMPL(dglclust, CPU, m) {
  m.impl("gram_pairwise_sum", &gram_pairwise_sum_cpu);
}

}  // namespace dglclust
