#include "kernels/qexact.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "kernels/gemm.h"
#include "kernels/parallel.h"
#include "kernels/qcodes.h"
#include "kernels/requant.h"

namespace octet::kernels {
namespace {

enum class Route { kFloat, kFloatSplit, kInteger };

// max |code - zp| over the codes of `type`.
double code_span(DType type, int32_t zp) {
  int32_t lo = 0, hi = 255;
  switch (type) {
    case DType::kI8: lo = -128; hi = 127; break;
    case DType::kU16: lo = 0; hi = 65535; break;
    case DType::kI16: lo = -32768; hi = 32767; break;
    default: break;
  }
  return std::max(std::abs(double(lo) - zp), std::abs(double(hi) - zp));
}

double max_abs_row_sum(const int8_t* w, int64_t N, int64_t K) {
  double worst = 0;
  for (int64_t n = 0; n < N; ++n) {
    double s = 0;
    for (int64_t k = 0; k < K; ++k) s += std::abs(int(w[n * K + k]));
    worst = std::max(worst, s);
  }
  return worst;
}

Route choose_route(const int8_t* w, int64_t N, int64_t K, DType x_type, int32_t zp, bool wide) {
  const double rows = max_abs_row_sum(w, N, K);
  if (rows * code_span(x_type, zp) < kExactFloatLimit) return Route::kFloat;
  if (wide && 256.0 * rows < kExactFloatLimit) return Route::kFloatSplit;
  return Route::kInteger;
}

}  // namespace

// What QConvExact and QGemmExact share: the route, the codes -> float conversion, the float
// op, and the requantization of the integer-valued float sums.
struct ExactCore {
  Route route = Route::kInteger;
  bool wide = false;  // int64 sums and requantize_one64
  DType x_type = DType::kU8;
  int32_t zero_point = 0;
  int64_t in_count = 0, rows = 0, n = 0;  // input elements; output rows x n channels
  Requantizer rq;
  DType out_type = DType::kU8;
  std::vector<int32_t> bias32;
  std::vector<int64_t> bias64;
  int threads = 1;
  std::function<void(const float*, float*)> float_op;
  std::function<void(const void*, void*)> integer_op;  // the reference loops
  std::vector<float> xf, yf, xl, yl;
  std::vector<int32_t> acc32;
  std::vector<int64_t> acc64;

  void allocate() {
    if (route == Route::kInteger) return;
    xf.resize(size_t(in_count));
    yf.resize(size_t(rows * n));
    if (wide) acc64.resize(yf.size());
    else acc32.resize(yf.size());
    if (route == Route::kFloatSplit) {
      xl.resize(xf.size());
      yl.resize(yf.size());
    }
  }

  void to_float(const void* x) {
    const float zp = float(zero_point);
    float* out = xf.data();
    if (x_type == DType::kU8) {
      const auto* s = static_cast<const uint8_t*>(x);
      parallel_for(in_count, threads, [&](int64_t i, int) { out[i] = float(s[i]) - zp; });
    } else if (x_type == DType::kI8) {
      const auto* s = static_cast<const int8_t*>(x);
      parallel_for(in_count, threads, [&](int64_t i, int) { out[i] = float(s[i]) - zp; });
    } else {
      parallel_for(in_count, threads,
                   [&](int64_t i, int) { out[i] = float(load_code_any(x, x_type, i)) - zp; });
    }
  }

  // v = code - zp as its high part v >> 8 (xf) and low byte (xl).
  void to_float_split(const void* x) {
    parallel_for(in_count, threads, [&](int64_t i, int) {
      const int32_t v = load_code_any(x, x_type, i) - zero_point;
      xf[size_t(i)] = float(v >> 8);
      xl[size_t(i)] = float(v & 255);
    });
  }

  void requantize(void* y) {
    const size_t es = dtype_size(out_type);
    const bool split = route == Route::kFloatSplit;
    parallel_for(rows, threads, [&](int64_t r, int) {
      const float* f = yf.data() + r * n;
      void* out = static_cast<uint8_t*>(y) + r * n * int64_t(es);
      if (wide) {
        int64_t* acc = acc64.data() + r * n;
        for (int64_t j = 0; j < n; ++j)
          acc[j] = split ? int64_t(f[j]) * 256 + int64_t(yl[size_t(r * n + j)]) : int64_t(f[j]);
        requantize_row64_reference(acc, bias64.empty() ? nullptr : bias64.data(), n, 0, rq, out,
                                   out_type);
      } else {
        int32_t* acc = acc32.data() + r * n;
        for (int64_t j = 0; j < n; ++j) acc[j] = int32_t(f[j]);  // integer-valued, < 2^24
        requantize_row_reference(acc, bias32.empty() ? nullptr : bias32.data(), n, 0, rq, out,
                                 out_type);
      }
    });
  }

  void run(const void* x, void* y) {
    switch (route) {
      case Route::kInteger:
        integer_op(x, y);
        return;
      case Route::kFloatSplit:
        to_float_split(x);
        float_op(xf.data(), yf.data());
        float_op(xl.data(), yl.data());
        break;
      case Route::kFloat:
        to_float(x);
        float_op(xf.data(), yf.data());
        break;
    }
    requantize(y);
  }

  std::string name(const char* op) const {
    const std::string base = std::string(op) + (wide ? "16" : "") + "_exact_";
    switch (route) {
      case Route::kFloat: return base + "f32";
      case Route::kFloatSplit: return base + "f32_split";
      case Route::kInteger: break;
    }
    return base + (wide ? "int64" : "int32");
  }
};

// ---- convolution ------------------------------------------------------------------------------

struct QConvExact::Impl {
  ExactCore core;
  ConvParams p;
  std::vector<int8_t> w;
  QConvQuant q8;
  QConv16Quant q16;
  std::unique_ptr<Conv2dNhwc> conv;
  std::string name;

  void init(const ConvParams& params, const int8_t* weights, DType x_type, int32_t zp,
            const Requantizer& rq, DType out_type, bool wide, int threads) {
    p = params;
    const int64_t K = (p.C / p.group) * p.KH * p.KW;
    w.assign(weights, weights + p.M * K);
    ExactCore& c = core;
    c.wide = wide;
    c.x_type = x_type;
    c.zero_point = zp;
    c.rq = rq;
    c.out_type = out_type;
    c.threads = std::max(1, threads);
    c.in_count = p.N * p.H * p.W * p.C;
    c.rows = p.N * p.OH * p.OW;
    c.n = p.M;
    c.route = choose_route(w.data(), p.M, K, x_type, zp, wide);
    if (c.route != Route::kInteger) {
      // Padding reads v = 0 (the zero point's code) in every part: the float conv pads with 0.
      const std::vector<float> wf(w.begin(), w.end());
      ConvParams fp = p;
      fp.lo = -INFINITY;
      fp.hi = INFINITY;
      conv = std::make_unique<Conv2dNhwc>(fp, wf.data(), nullptr, c.threads);
      c.float_op = [this](const float* x, float* y) { conv->run_nhwc(x, y); };
    }
    c.allocate();
    name = c.name("qconv");
  }
};

QConvExact::QConvExact(const ConvParams& p, const QConvQuant& q, const int8_t* w,
                       const int32_t* bias, int threads)
    : impl_(new Impl) {
  Impl& im = *impl_;
  im.q8 = q;
  if (bias) im.core.bias32.assign(bias, bias + p.M);
  const DType x_type = q.x_signed ? DType::kI8 : DType::kU8;
  im.init(p, w, x_type, q.x_zero_point, q.requant, q.out_type, false, threads);
  im.core.integer_op = [&im](const void* x, void* y) {
    qconv2d_reference(im.p, im.q8, x, im.w.data(),
                      im.core.bias32.empty() ? nullptr : im.core.bias32.data(), y);
  };
}

QConvExact::QConvExact(const ConvParams& p, const QConv16Quant& q, const int8_t* w,
                       const int64_t* bias, int threads)
    : impl_(new Impl) {
  Impl& im = *impl_;
  im.q16 = q;
  if (bias) im.core.bias64.assign(bias, bias + p.M);
  im.init(p, w, q.x_type, q.x_zero_point, q.requant, q.out_type, true, threads);
  im.core.integer_op = [&im](const void* x, void* y) {
    qconv16_reference(im.p, im.q16, x, im.w.data(),
                      im.core.bias64.empty() ? nullptr : im.core.bias64.data(), y);
  };
}

QConvExact::~QConvExact() = default;
void QConvExact::run(const void* x, void* y) { impl_->core.run(x, y); }
std::string_view QConvExact::impl_name() const { return impl_->name; }

// ---- matrix product ---------------------------------------------------------------------------

struct QGemmExact::Impl {
  ExactCore core;
  int64_t M = 0, N = 0, K = 0;
  std::vector<int8_t> w;
  QGemmA a8;
  QGemm16A a16;
  PackedB packed;
  std::string name;

  void init(int64_t m, int64_t n, int64_t k, const int8_t* b_nk, DType x_type, int32_t zp,
            const Requantizer* rq, DType out_type, bool wide, int threads) {
    OCTET_CHECK(rq, "qgemm_exact: the epilogue needs a requantizer");
    M = m;
    N = n;
    K = k;
    w.assign(b_nk, b_nk + N * K);
    ExactCore& c = core;
    c.wide = wide;
    c.x_type = x_type;
    c.zero_point = zp;
    c.rq = *rq;
    c.out_type = out_type;
    c.threads = std::max(1, threads);
    c.in_count = M * K;
    c.rows = M;
    c.n = N;
    c.route = choose_route(w.data(), N, K, x_type, zp, wide);
    if (c.route != Route::kInteger) {
      const std::vector<float> wf(w.begin(), w.end());
      packed.pack(wf.data(), size_t(K), size_t(N), 1, K);
      c.float_op = [this](const float* a, float* out) {
        gemm_packed(size_t(M), a, size_t(K), packed, out, size_t(N), nullptr, -INFINITY, INFINITY,
                    core.threads);
      };
    }
    c.allocate();
    name = c.name("qgemm");
  }
};

QGemmExact::QGemmExact(int64_t M, int64_t N, int64_t K, const QGemmA& a, const int8_t* b_nk,
                       const QGemmEpilogue& ep, int threads)
    : impl_(new Impl) {
  Impl& im = *impl_;
  OCTET_CHECK(!a.rows, "qgemm_exact: indirect A is not supported");
  im.a8 = a;
  if (ep.bias) im.core.bias32.assign(ep.bias, ep.bias + N);
  im.init(M, N, K, b_nk, a.is_signed ? DType::kI8 : DType::kU8, a.zero_point, ep.requant,
          ep.out_type, false, threads);
  im.core.integer_op = [&im](const void* x, void* y) {
    QGemmA a = im.a8;
    a.data = x;
    a.lda = im.K;
    const QGemmEpilogue e{im.core.bias32.empty() ? nullptr : im.core.bias32.data(), &im.core.rq,
                          im.core.out_type};
    qgemm_reference(im.M, im.N, im.K, a, im.w.data(), e, y, im.N);
  };
}

QGemmExact::QGemmExact(int64_t M, int64_t N, int64_t K, const QGemm16A& a, const int8_t* b_nk,
                       const QGemm16Epilogue& ep, int threads)
    : impl_(new Impl) {
  Impl& im = *impl_;
  im.a16 = a;
  if (ep.bias) im.core.bias64.assign(ep.bias, ep.bias + N);
  im.init(M, N, K, b_nk, a.type, a.zero_point, ep.requant, ep.out_type, true, threads);
  im.core.integer_op = [&im](const void* x, void* y) {
    QGemm16A a = im.a16;
    a.data = x;
    a.lda = im.K;
    const QGemm16Epilogue e{im.core.bias64.empty() ? nullptr : im.core.bias64.data(), &im.core.rq,
                            im.core.out_type};
    qgemm16_reference(im.M, im.N, im.K, a, im.w.data(), e, y, im.N);
  };
}

QGemmExact::~QGemmExact() = default;
void QGemmExact::run(const void* a, void* c) { impl_->core.run(a, c); }
std::string_view QGemmExact::impl_name() const { return impl_->name; }

}  // namespace octet::kernels
