// Placeholder until the optimized paths land: runs the reference.
#include "kernels/qconv.h"

#include <vector>

namespace octet::kernels {

struct QConv2dNhwc::Impl {
  ConvParams p;
  QConvQuant q;
  std::vector<int8_t> w;
  std::vector<int32_t> bias;
};

QConv2dNhwc::QConv2dNhwc(const ConvParams& p, const QConvQuant& q, const int8_t* w,
                         const int32_t* bias, int threads, QIsa isa)
    : impl_(new Impl{p, q, std::vector<int8_t>(w, w + p.M * (p.C / p.group) * p.KH * p.KW),
                     bias ? std::vector<int32_t>(bias, bias + p.M) : std::vector<int32_t>{}}) {}
QConv2dNhwc::~QConv2dNhwc() = default;

void QConv2dNhwc::run(const void* x, void* y) {
  qconv2d_reference(impl_->p, impl_->q, x, impl_->w.data(),
                    impl_->bias.empty() ? nullptr : impl_->bias.data(), y);
}

std::string_view QConv2dNhwc::impl_name() const { return "qconv_reference"; }

}  // namespace octet::kernels
