#include "kernels/broadcast.h"

#include "base/dims.h"

namespace octet::kernels {

bool broadcast_dims(const Dims& a, const Dims& b, Dims* out) {
  const size_t r = std::max(a.size(), b.size());
  Dims o(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == db || db == 1) o[i] = da;
    else if (da == 1) o[i] = db;
    else return false;
  }
  *out = std::move(o);
  return true;
}

bool broadcasts_to(const Dims& in, const Dims& out) {
  if (in.size() > out.size()) return false;
  const size_t shift = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i] != 1 && in[i] != out[i + shift]) return false;
  return true;
}

BroadcastPlan make_broadcast_plan(const std::vector<Dims>& inputs, const Dims& out) {
  const size_t K = inputs.size();
  BroadcastPlan p;
  p.numel = checked_numel(out);
  p.strides.resize(K);
  // Full strides of each input against the output dims.
  std::vector<Dims> full(K, Dims(out.size(), 0));
  for (size_t k = 0; k < K; ++k) {
    const Dims& in = inputs[k];
    const size_t shift = out.size() - in.size();
    int64_t stride = 1;
    for (size_t d = in.size(); d-- > 0;) {
      full[k][d + shift] = in[d] == 1 ? 0 : stride;
      stride *= in[d];
    }
  }
  for (size_t d = 0; d < out.size(); ++d) {
    if (out[d] == 1) continue;
    bool merge = !p.dims.empty();
    for (size_t k = 0; k < K && merge; ++k)
      merge = p.strides[k].back() == full[k][d] * out[d];
    if (merge) {
      p.dims.back() *= out[d];
      for (size_t k = 0; k < K; ++k) p.strides[k].back() = full[k][d];
    } else {
      p.dims.push_back(out[d]);
      for (size_t k = 0; k < K; ++k) p.strides[k].push_back(full[k][d]);
    }
  }
  if (p.dims.empty()) {  // a single element
    p.dims.push_back(1);
    for (size_t k = 0; k < K; ++k) p.strides[k].push_back(0);
  }
  return p;
}

}  // namespace octet::kernels
