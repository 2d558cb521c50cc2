#include "kernels/qeltwise.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "base/dims.h"
#include "kernels/broadcast.h"
#include "kernels/qcodes.h"

namespace octet::kernels {

void set_qbinary_scales(QBinaryParams& p, float sa, float sb, float sy) {
  for (float s : {sa, sb, sy})
    OCTET_CHECK(std::isfinite(s) && s > 0.f, "scales must be finite and positive, got ", sa, ", ",
                sb, ", ", sy);
  p.fp32.za = float(p.za);
  p.fp32.zb = float(p.zb);
  p.fp32.zy = float(p.zy);
  p.fp32.lo = float(p.qmin - p.zy);
  p.fp32.hi = float(p.qmax - p.zy);
  if (p.arith == OpArithmetic::kMlas) {
    // The operations in the order ORT's kernels do them (this file builds without FP contraction;
    // ORT's compiler fused the second product of the constant into a multiply-add, which
    // tests/unit/engine/test_profile_vs_ort.cc tells apart).
    p.mlas.lo = float(p.qmin);
    p.mlas.hi = float(p.qmax);
    if (p.op == QBinaryOp::kAdd) {
      p.mlas.ma = sa / sy;
      p.mlas.mb = sb / sy;
      p.mlas.fixed = float(p.zy) - std::fma(p.mlas.mb, float(p.zb), p.mlas.ma * float(p.za));
    } else {
      p.mlas.ma = sa * sb / sy;
      p.mlas.fixed = float(p.zy);
    }
    for (float m : {p.mlas.ma, p.mlas.mb})  // mb is 0 for QMul
      OCTET_CHECK(std::isfinite(m) && m < 256.f, p.op == QBinaryOp::kAdd ? "add" : "mul",
                  " multiplier ", m, " is not below 256");
    return;
  }
  if (p.op == QBinaryOp::kAdd) {
    if (p.scheme == RequantScheme::kFp32) {
      p.fp32.ma = sa / sy;
      p.fp32.mb = sb / sy;
      for (float m : {p.fp32.ma, p.fp32.mb})
        OCTET_CHECK(std::isfinite(m) && m >= std::ldexp(1.f, -32) && m < 256.f,
                    "add multiplier ", m, " is outside [2^-32, 256)");
    } else {
      const double twice_max = 2.0 * std::max(double(sa), double(sb));
      p.in_a = make_multiplier_from_real(p.scheme, double(sa) / twice_max);
      p.in_b = make_multiplier_from_real(p.scheme, double(sb) / twice_max);
      p.out = make_multiplier_from_real(
          p.scheme, twice_max / (double(1 << QBinaryParams::kAddLeftShift) * double(sy)));
    }
  } else {
    p.out = make_multiplier(p.scheme, sa, sb, sy);
    p.fp32.ma = p.out.multiplier;  // (sa * sb) / sy in float for kFp32
  }
}

void qbinary_reference(const QBinaryParams& p, const void* a, const void* b, void* y) {
  int64_t total = checked_numel(p.y_dims);
  const BroadcastPlan plan = make_broadcast_plan({p.a_dims, p.b_dims}, p.y_dims);
  const bool a_bcast = plan.inner_stride(0) == 0, b_bcast = plan.inner_stride(1) == 0;
  std::vector<int64_t> idx(p.y_dims.size(), 0);
  for (int64_t i = 0; i < total; ++i) {
    const int32_t av = load_code(a, p.a_type, broadcast_offset(p.a_dims, p.y_dims, idx.data()));
    const int32_t bv = load_code(b, p.b_type, broadcast_offset(p.b_dims, p.y_dims, idx.data()));
    store_code(y, p.y_type, i, qbinary_one(p, av, a_bcast, bv, b_bcast));
    next_index(p.y_dims, idx.data());
  }
}

std::vector<uint8_t> qbinary_table(const QBinaryParams& p) {
  std::vector<uint8_t> t(256 * 256);
  const int32_t amin = code8_min(p.a_type), bmin = code8_min(p.b_type);
  for (int32_t i = 0; i < 256; ++i)
    for (int32_t j = 0; j < 256; ++j)
      store_code(t.data(), p.y_type, i * 256 + j, qbinary_fixed_one(p, i + amin, j + bmin));
  return t;
}

void qbinary(const QBinaryParams& p, const std::vector<uint8_t>& table, const void* a,
             const void* b, void* y, int threads) {
  const BroadcastPlan plan = make_broadcast_plan({p.a_dims, p.b_dims}, p.y_dims);
  const bool a_bcast = plan.inner_stride(0) == 0, b_bcast = plan.inner_stride(1) == 0;
  const auto* ab = static_cast<const uint8_t*>(a);  // 1-byte elements: byte offsets
  const auto* bb = static_cast<const uint8_t*>(b);
  auto* yb = static_cast<uint8_t*>(y);
  const simd::QCode ta = qcode_of(p.a_type), tb = qcode_of(p.b_type), ty = qcode_of(p.y_type);
  parallel_runs<2>(plan, threads, [&](const std::array<int64_t, 2>& off, int64_t o, int64_t n) {
    if (p.arith == OpArithmetic::kMlas) {
      if (p.op == QBinaryOp::kAdd)
        simd::q_add_mlas(ab + off[0], ta, a_bcast, bb + off[1], tb, b_bcast, yb + o, ty,
                         size_t(n), p.mlas);
      else
        simd::q_mul_mlas(ab + off[0], ta, p.za, a_bcast, bb + off[1], tb, p.zb, b_bcast, yb + o,
                         ty, size_t(n), p.mlas);
      return;
    }
    if (p.scheme == RequantScheme::kFp32) {
      if (p.op == QBinaryOp::kAdd)
        simd::q_add_fp32(ab + off[0], ta, a_bcast, bb + off[1], tb, b_bcast, yb + o, ty,
                         size_t(n), p.fp32);
      else
        simd::q_mul_fp32(ab + off[0], ta, a_bcast, bb + off[1], tb, b_bcast, yb + o, ty,
                         size_t(n), p.fp32);
      return;
    }
    const int64_t sa = a_bcast ? 0 : 1, sb = b_bcast ? 0 : 1;
    if (!table.empty()) {
      // Byte ^ 0x80 maps an i8 code to its index from the type's minimum; u8 codes index as is.
      const uint8_t fa = p.a_type == DType::kI8 ? 0x80 : 0, fb = p.b_type == DType::kI8 ? 0x80 : 0;
      const uint8_t* t = table.data();
      for (int64_t i = 0; i < n; ++i)
        yb[o + i] = t[size_t(ab[off[0] + i * sa] ^ fa) * 256 + (bb[off[1] + i * sb] ^ fb)];
      return;
    }
    for (int64_t i = 0; i < n; ++i)
      store_code(y, p.y_type, o + i,
                 qbinary_fixed_one(p, load_code(a, p.a_type, off[0] + i * sa),
                                   load_code(b, p.b_type, off[1] + i * sb)));
  });
}

}  // namespace octet::kernels
