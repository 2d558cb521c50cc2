// Placeholder until the SIMD paths land: packs nothing, runs the reference loops.
#include "kernels/qgemm.h"

#include <vector>

#include "engine/error.h"

namespace octet::kernels {

std::string_view qisa_name(QIsa isa) {
  switch (isa) {
    case QIsa::kScalar: return "scalar";
    case QIsa::kAvx2: return "avx2";
    case QIsa::kAvx512Vnni: return "avx512_vnni";
    case QIsa::kAmx: return "amx";
  }
  return "?";
}

QIsa qgemm_best_isa() { return QIsa::kScalar; }

struct QGemmPackedB::Impl {
  std::vector<int8_t> b;
  int64_t N, K;
  QIsa isa;
};

QGemmPackedB::QGemmPackedB(const int8_t* b_nk, int64_t N, int64_t K, QIsa isa)
    : impl_(new Impl{std::vector<int8_t>(b_nk, b_nk + N * K), N, K, isa}) {}
QGemmPackedB::~QGemmPackedB() = default;
QGemmPackedB::QGemmPackedB(QGemmPackedB&&) noexcept = default;
QGemmPackedB& QGemmPackedB::operator=(QGemmPackedB&&) noexcept = default;
int64_t QGemmPackedB::N() const { return impl_->N; }
int64_t QGemmPackedB::K() const { return impl_->K; }
QIsa QGemmPackedB::isa() const { return impl_->isa; }
int64_t QGemmPackedB::panel_width() const { return 1; }

void qgemm(int64_t M, const QGemmA& a, const QGemmPackedB& b, int64_t n0, int64_t n1,
           const QGemmEpilogue& ep, void* c, int64_t ldc) {
  const QGemmPackedB::Impl& im = b.impl();
  const size_t out_size = dtype_size(ep.out_type);
  QGemmEpilogue shifted = ep;
  if (ep.bias) shifted.bias = ep.bias + n0;
  // Column slice: the reference over rows of B starting at n0, with channel indices shifted.
  Requantizer rq;
  if (ep.requant) {
    rq = *ep.requant;
    if (rq.multipliers.size() > 1)
      rq.multipliers.assign(ep.requant->multipliers.begin() + n0,
                            ep.requant->multipliers.begin() + n1);
    shifted.requant = &rq;
  }
  qgemm_reference(M, n1 - n0, im.K, a, im.b.data() + n0 * im.K, shifted,
                  static_cast<uint8_t*>(c) + n0 * out_size, ldc);
}

}  // namespace octet::kernels
