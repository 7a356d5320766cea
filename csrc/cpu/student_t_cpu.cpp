// CPU kernels of student_t / student_t_backward / target_distribution (see csrc/ops/student_t.cpp).
//
// One pass over the rows of z (at::parallel_for); per row, the k squared distances are computed
// directly as sum_t (z_it - mu_jt)^2, so no n x k x d intermediate exists and there is no
// ||z||^2 + ||mu||^2 - 2 z.mu cancellation. Reductions over rows (grad of the centers, column sums
// of q) use fixed row blocks summed in block order: results do not depend on the thread count.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace dglclust {
namespace {

constexpr int64_t kRowBlock = 2048;  // rows per reduction block (fixed => deterministic sums)

void check_student_t_inputs(const at::Tensor& z, const at::Tensor& mu, double alpha) {
  TORCH_CHECK(z.dim() == 2 && mu.dim() == 2 && z.size(1) == mu.size(1),
              "student_t: z must be (n, d) and centers (k, d) with the same d, got ", z.sizes(),
              " and ", mu.sizes());
  TORCH_CHECK(z.scalar_type() == mu.scalar_type(), "student_t: z and centers must have the same dtype, got ",
              z.scalar_type(), " and ", mu.scalar_type());
  TORCH_CHECK(z.scalar_type() == at::kFloat || z.scalar_type() == at::kDouble,
              "student_t: the kernel supports float32 and float64, got ", z.scalar_type());
  TORCH_CHECK(mu.size(0) >= 1, "student_t: need at least one center");
  TORCH_CHECK(alpha > 0 && std::isfinite(alpha), "student_t: alpha must be a positive finite number, got ", alpha);
}

// Centers are stored transposed and zero-padded to kp = a multiple of one 64-byte vector (W lanes):
// muT is (d x kp). dist[j] = ||z_i - mu_j||^2 for all j is accumulated feature by feature with the
// centers as the vector lanes (W fixed at compile time), so DEC's small d = 10, k = 10 still fills
// whole vectors. Entries j >= k of dist are padding and are never read as results.
template <typename scalar_t>
struct Lanes {
  static constexpr int64_t W = 64 / sizeof(scalar_t);
  static int64_t padded(int64_t k) { return (k + W - 1) / W * W; }
};

template <typename scalar_t>
inline void row_sqdist(const scalar_t* zi, const scalar_t* muT, int64_t kp, int64_t d, scalar_t* dist) {
  constexpr int64_t W = Lanes<scalar_t>::W;
  for (int64_t jb = 0; jb < kp; jb += W) {
    scalar_t acc[W];
    for (int64_t l = 0; l < W; ++l) acc[l] = 0;
    for (int64_t t = 0; t < d; ++t) {
      const scalar_t zt = zi[t];
      const scalar_t* mt = muT + t * kp + jb;
      _Pragma("omp simd")
      for (int64_t l = 0; l < W; ++l) {
        const scalar_t diff = zt - mt[l];
        acc[l] += diff * diff;
      }
    }
    for (int64_t l = 0; l < W; ++l) dist[jb + l] = acc[l];
  }
}

at::Tensor padded_centers_t(const at::Tensor& mu) {
  const int64_t k = mu.size(0), d = mu.size(1);
  const int64_t kp = mu.scalar_type() == at::kFloat ? Lanes<float>::padded(k) : Lanes<double>::padded(k);
  at::Tensor muT = at::zeros({d, kp}, mu.options());
  muT.narrow(1, 0, k).copy_(mu.t());
  return muT;
}

template <typename scalar_t>
void student_t_fwd_impl(const scalar_t* zp, const scalar_t* muT, scalar_t* qp, int64_t n, int64_t k, int64_t d,
                        double alpha) {
  const scalar_t a = static_cast<scalar_t>(alpha), expo = static_cast<scalar_t>(-(alpha + 1.0) / 2.0);
  const bool one = alpha == 1.0;
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, k * d));
  const int64_t kp = Lanes<scalar_t>::padded(k);
  at::parallel_for(0, n, grain, [&](int64_t begin, int64_t end) {
    std::vector<scalar_t> dist(kp);
    for (int64_t i = begin; i < end; ++i) {
      scalar_t* qi = qp + i * k;
      row_sqdist(zp + i * d, muT, kp, d, dist.data());
      for (int64_t j = 0; j < k; ++j) qi[j] = dist[j];
      scalar_t s = 0;
      if (one) {
        _Pragma("omp simd reduction(+ : s)")
        for (int64_t j = 0; j < k; ++j) {
          qi[j] = scalar_t(1) / (scalar_t(1) + qi[j]);
          s += qi[j];
        }
      } else {
        for (int64_t j = 0; j < k; ++j) {
          qi[j] = std::pow(scalar_t(1) + qi[j] / a, expo);
          s += qi[j];
        }
      }
      const scalar_t inv = scalar_t(1) / s;
      _Pragma("omp simd")
      for (int64_t j = 0; j < k; ++j) qi[j] *= inv;
    }
  });
}

at::Tensor student_t_cpu(const at::Tensor& z_, const at::Tensor& mu_, double alpha) {
  check_student_t_inputs(z_, mu_, alpha);
  TORCH_CHECK(z_.device().is_cpu() && mu_.device().is_cpu(), "student_t_cpu: tensors must be on the CPU");
  const at::Tensor z = z_.contiguous(), muT = padded_centers_t(mu_);
  const int64_t n = z.size(0), k = mu_.size(0), d = z.size(1);
  at::Tensor q = at::empty({n, k}, z.options());
  if (n == 0) return q;
  AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "student_t_cpu", [&] {
    student_t_fwd_impl<scalar_t>(z.data_ptr<scalar_t>(), muT.data_ptr<scalar_t>(), q.data_ptr<scalar_t>(), n, k,
                                 d, alpha);
  });
  return q;
}

// With c_ij = -(alpha+1) (g_ij - sum_l g_il q_il) q_ij / (alpha + d_ij):
//   grad_z_i  =  sum_j c_ij (z_i - mu_j),    grad_mu_j = -sum_i c_ij (z_i - mu_j).
template <typename scalar_t>
void student_t_bwd_impl(const scalar_t* gp, const scalar_t* zp, const scalar_t* mp, const scalar_t* muT,
                        const scalar_t* qp, scalar_t* gzp, scalar_t* partial, int64_t n, int64_t k, int64_t d,
                        double alpha) {
  const int64_t nblocks = (n + kRowBlock - 1) / kRowBlock;
  const scalar_t a = static_cast<scalar_t>(alpha), ap1 = static_cast<scalar_t>(alpha + 1.0);
  at::parallel_for(0, nblocks, 1, [&](int64_t bb, int64_t be) {
    const int64_t kp = Lanes<scalar_t>::padded(k);
    std::vector<scalar_t> coef(kp);
    for (int64_t blk = bb; blk < be; ++blk) {
      scalar_t* gm = partial + blk * k * d;
      const int64_t r1 = std::min(n, (blk + 1) * kRowBlock);
      for (int64_t i = blk * kRowBlock; i < r1; ++i) {
        const scalar_t* zi = zp + i * d;
        const scalar_t* gi = gp + i * k;
        const scalar_t* qi = qp + i * k;
        scalar_t* c = coef.data();
        row_sqdist(zi, muT, kp, d, c);
        scalar_t dot = 0;
        _Pragma("omp simd reduction(+ : dot)")
        for (int64_t j = 0; j < k; ++j) dot += gi[j] * qi[j];
        _Pragma("omp simd")
        for (int64_t j = 0; j < k; ++j) c[j] = -ap1 * (gi[j] - dot) * qi[j] / (a + c[j]);
        scalar_t* gzi = gzp + i * d;
        for (int64_t t = 0; t < d; ++t) gzi[t] = 0;
        for (int64_t j = 0; j < k; ++j) {
          const scalar_t cj = c[j];
          const scalar_t* mj = mp + j * d;
          scalar_t* gmj = gm + j * d;
          _Pragma("omp simd")
          for (int64_t t = 0; t < d; ++t) {
            const scalar_t cd = cj * (zi[t] - mj[t]);
            gzi[t] += cd;
            gmj[t] -= cd;
          }
        }
      }
    }
  });
}

std::tuple<at::Tensor, at::Tensor> student_t_backward_cpu(const at::Tensor& grad_q_, const at::Tensor& z_,
                                                          const at::Tensor& mu_, const at::Tensor& q_,
                                                          double alpha) {
  check_student_t_inputs(z_, mu_, alpha);
  const int64_t n = z_.size(0), k = mu_.size(0), d = z_.size(1);
  TORCH_CHECK(q_.dim() == 2 && q_.size(0) == n && q_.size(1) == k && grad_q_.sizes() == q_.sizes(),
              "student_t_backward: grad_q and q must be (n, k) = (", n, ", ", k, "), got ", grad_q_.sizes(),
              " and ", q_.sizes());
  const at::Tensor z = z_.contiguous(), mu = mu_.contiguous(), muT = padded_centers_t(mu);
  const at::Tensor g = grad_q_.to(z.scalar_type()).contiguous(), q = q_.to(z.scalar_type()).contiguous();
  at::Tensor grad_z = at::empty_like(z);
  const int64_t nblocks = (n + kRowBlock - 1) / kRowBlock;
  // one (k x d) partial sum of grad_mu per fixed row block
  at::Tensor partial = at::zeros({std::max<int64_t>(nblocks, 1), k, d}, z.options());
  AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "student_t_backward_cpu", [&] {
    student_t_bwd_impl<scalar_t>(g.data_ptr<scalar_t>(), z.data_ptr<scalar_t>(), mu.data_ptr<scalar_t>(),
                                 muT.data_ptr<scalar_t>(), q.data_ptr<scalar_t>(), grad_z.data_ptr<scalar_t>(),
                                 partial.data_ptr<scalar_t>(), n, k, d, alpha);
  });
  // sum the block partials in block order (fixed => independent of the thread count)
  at::Tensor grad_mu = partial.select(0, 0).clone();
  for (int64_t b = 1; b < nblocks; ++b) grad_mu.add_(partial.select(0, b));
  return std::make_tuple(grad_z, grad_mu);
}

// p_ij = w_ij / sum_j' w_ij', w_ij = q_ij^2 / f_j, f_j = sum_i q_ij (accumulated in float64).
// Columns with f_j == 0 get w_ij = 0; a row whose w's are all 0 stays 0 (only for invalid q).
at::Tensor target_distribution_cpu(const at::Tensor& q_) {
  TORCH_CHECK(q_.dim() == 2, "target_distribution: q must be 2-D (n, k), got shape ", q_.sizes());
  TORCH_CHECK(q_.scalar_type() == at::kFloat || q_.scalar_type() == at::kDouble,
              "target_distribution: the kernel supports float32 and float64, got ", q_.scalar_type());
  const at::Tensor q = q_.contiguous();
  const int64_t n = q.size(0), k = q.size(1);
  at::Tensor p = at::empty_like(q);
  if (n == 0 || k == 0) return p;
  AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "target_distribution_cpu", [&] {
    const scalar_t* qp = q.data_ptr<scalar_t>();
    scalar_t* pp = p.data_ptr<scalar_t>();
    const int64_t nblocks = (n + kRowBlock - 1) / kRowBlock;
    std::vector<double> part(nblocks * k, 0.0);
    at::parallel_for(0, nblocks, 1, [&](int64_t bb, int64_t be) {
      for (int64_t blk = bb; blk < be; ++blk) {
        double* f = part.data() + blk * k;
        const int64_t r1 = std::min(n, (blk + 1) * kRowBlock);
        for (int64_t i = blk * kRowBlock; i < r1; ++i)
          for (int64_t j = 0; j < k; ++j) f[j] += static_cast<double>(qp[i * k + j]);
      }
    });
    std::vector<double> inv_f(k, 0.0);
    for (int64_t j = 0; j < k; ++j) {
      double f = 0;
      for (int64_t blk = 0; blk < nblocks; ++blk) f += part[blk * k + j];
      inv_f[j] = f != 0.0 ? 1.0 / f : 0.0;
    }
    const int64_t grain = std::max<int64_t>(1, 32768 / k);
    at::parallel_for(0, n, grain, [&](int64_t begin, int64_t end) {
      std::vector<double> w(k);
      for (int64_t i = begin; i < end; ++i) {
        double s = 0;
        for (int64_t j = 0; j < k; ++j) {
          const double qij = qp[i * k + j];
          w[j] = qij * qij * inv_f[j];
          s += w[j];
        }
        const double inv = s != 0.0 ? 1.0 / s : 0.0;
        for (int64_t j = 0; j < k; ++j) pp[i * k + j] = static_cast<scalar_t>(w[j] * inv);
      }
    });
  });
  return p;
}

}  // namespace

TORCH_LIBRARY_IMPL(dglclust, CPU, m) {
  m.impl("student_t", &student_t_cpu);
  m.impl("student_t_backward", &student_t_backward_cpu);
  m.impl("target_distribution", &target_distribution_cpu);
}

}  // namespace dglclust
