// Resize (opsets 10..19+) and the older Upsample (7..9): nearest and N-linear modes,
// every coordinate_transformation_mode except cubic-only behaviour; `_layout` NHWC for 4-D.
#include <cmath>
#include <cstring>
#include <functional>

#include "engine/op.h"
#include "engine/ops/op_groups.h"
#include "engine/ops/resize_spec.h"
#include "engine/ops/ref_opt_kernel.h"
#include "kernels/resize.h"

namespace octet {
namespace {

using kernels::ResizeAxis;
using kernels::ResizeParams;

using InputFn = ResizeInputFn;

std::vector<double> read_values(const Node& n, const TensorInfo& t, const char* what) {
  if (!t.is_constant()) node_fail(n, "the ", what, " input '", t.name, "' must be a constant");
  const int64_t count = checked_numel(t.shape.concrete());
  const size_t width = dtype_size(t.dtype);
  if (width == 0 || t.data->size() < static_cast<size_t>(count) * width)
    node_fail(n, "the ", what, " input is truncated or has an unsupported type");
  std::vector<double> v(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const std::byte* p = t.data->data() + i * width;
    switch (t.dtype) {
      case DType::kF32: { float f; std::memcpy(&f, p, 4); v[i] = f; break; }
      case DType::kF64: { double f; std::memcpy(&f, p, 8); v[i] = f; break; }
      case DType::kI64: { int64_t f; std::memcpy(&f, p, 8); v[i] = static_cast<double>(f); break; }
      case DType::kI32: { int32_t f; std::memcpy(&f, p, 4); v[i] = f; break; }
      default: node_fail(n, "the ", what, " input has unsupported type ", dtype_name(t.dtype));
    }
  }
  return v;
}

// `out` is the resized length scale * in (not rounded), as ONNX defines it.
double transform(const std::string& mode, double x, double scale, int64_t in, double out,
                 double out_int, double roi_start, double roi_end) {
  if (mode == "half_pixel") return (x + 0.5) / scale - 0.5;
  if (mode == "pytorch_half_pixel") return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
  if (mode == "align_corners") return out == 1 ? 0.0 : x * double(in - 1) / (out - 1);
  if (mode == "asymmetric") return x / scale;
  if (mode == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
  if (mode == "half_pixel_symmetric") {
    const double adjustment = out_int / (scale * double(in));
    const double center = double(in) / 2;
    return center * (1 - adjustment) + (x + 0.5) / scale - 0.5;
  }
  // tf_crop_and_resize
  return out > 1 ? roi_start * double(in - 1) + x * (roi_end - roi_start) * double(in - 1) / (out - 1)
                 : 0.5 * (roi_start + roi_end) * double(in - 1);
}

int64_t nearest(const std::string& mode, double x, bool downsample) {
  if (mode == "floor") return static_cast<int64_t>(std::floor(x));
  if (mode == "ceil") return static_cast<int64_t>(std::ceil(x));
  if (mode == "simple") return static_cast<int64_t>(downsample ? std::ceil(x) : std::floor(x));
  const double f = std::floor(x);
  if (x - f == 0.5) return static_cast<int64_t>(mode == "round_prefer_ceil" ? f + 1 : f);
  return static_cast<int64_t>(std::round(x));
}

}  // namespace

ResizeSpec resize_spec(const Node& n, int64_t opset, const Dims& actual, const InputFn& input,
                       bool with_tables) {
  const bool upsample = n.op_type == "Upsample";
  const bool v11 = !upsample && opset >= 11;
  const bool nhwc = n.attrs.get_string("_layout", "NCHW") == "NHWC";
  if (n.attrs.has("_layout") && !nhwc && n.attrs.get_string("_layout", "") != "NCHW")
    node_fail(n, "_layout must be NCHW or NHWC");
  if (nhwc && actual.size() != 4) node_fail(n, "_layout NHWC needs a 4-D input");
  if (actual.empty()) node_fail(n, "input must have rank >= 1");
  // Work in ONNX order; permute to the actual layout at the end.
  const Dims in = nhwc ? Dims{actual[0], actual[3], actual[1], actual[2]} : actual;
  const size_t r = in.size();

  std::string mode = n.attrs.get_string("mode", "nearest");
  if (mode == "bilinear" && upsample) mode = "linear";
  if (mode == "cubic") node_fail(n, "mode 'cubic' is not supported");
  if (mode != "nearest" && mode != "linear") node_fail(n, "unknown mode '", mode, "'");
  const bool linear = mode == "linear";
  const std::string coord =
      v11 ? n.attrs.get_string("coordinate_transformation_mode", "half_pixel") : "asymmetric";
  const std::string nmode = v11 ? n.attrs.get_string("nearest_mode", "round_prefer_floor") : "simple";
  for (const char* m : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                        "tf_half_pixel_for_nn", "half_pixel_symmetric", "tf_crop_and_resize"})
    if (coord == m) goto coord_ok;
  node_fail(n, "unknown coordinate_transformation_mode '", coord, "'");
coord_ok:
  if (nmode != "round_prefer_floor" && nmode != "round_prefer_ceil" && nmode != "floor" &&
      nmode != "ceil" && nmode != "simple")
    node_fail(n, "unknown nearest_mode '", nmode, "'");
  if (linear && n.attrs.get_int("antialias", 0) != 0)
    node_fail(n, "antialias is not supported");
  const float extrapolation = n.attrs.get_float("extrapolation_value", 0.f);

  // Axes the scales / sizes / roi refer to (opset 18).
  std::vector<int64_t> axes = n.attrs.get_ints("axes", {});
  if (axes.empty())
    for (size_t a = 0; a < r; ++a) axes.push_back(static_cast<int64_t>(a));
  std::vector<bool> seen(r, false);
  for (int64_t& a : axes) {
    if (a < -static_cast<int64_t>(r) || a >= static_cast<int64_t>(r))
      node_fail(n, "axis ", a, " is out of range for rank ", r);
    if (a < 0) a += static_cast<int64_t>(r);
    if (seen[a]) node_fail(n, "axis ", a, " is given twice");
    seen[a] = true;
  }
  const size_t k = axes.size();

  std::vector<double> scales_in, sizes_in, roi_in;
  if (upsample) {
    if (opset < 9) {
      for (float s : n.attrs.get_floats("scales", {})) scales_in.push_back(s);
    } else if (const TensorInfo* t = input(1)) {
      scales_in = read_values(n, *t, "scales");
    }
  } else if (!v11) {
    if (const TensorInfo* t = input(1)) scales_in = read_values(n, *t, "scales");
  } else {
    if (const TensorInfo* t = input(2)) scales_in = read_values(n, *t, "scales");
    if (const TensorInfo* t = input(3)) sizes_in = read_values(n, *t, "sizes");
    if (coord == "tf_crop_and_resize")
      if (const TensorInfo* t = input(1)) roi_in = read_values(n, *t, "roi");
  }
  if (!scales_in.empty() && !sizes_in.empty()) node_fail(n, "give either scales or sizes, not both");
  if (scales_in.empty() && sizes_in.empty()) node_fail(n, "needs scales or sizes");

  std::vector<double> scale(r, 1.0), roi_start(r, 0.0), roi_end(r, 1.0);
  Dims out = in;
  if (!roi_in.empty()) {
    if (roi_in.size() != 2 * k) node_fail(n, "roi has ", roi_in.size(), " values, expected ", 2 * k);
    for (size_t i = 0; i < k; ++i) {
      roi_start[axes[i]] = roi_in[i];
      roi_end[axes[i]] = roi_in[k + i];
    }
  }
  if (!scales_in.empty()) {
    if (scales_in.size() != k) node_fail(n, "scales has ", scales_in.size(), " values, expected ", k);
    for (size_t i = 0; i < k; ++i) {
      const double s = scales_in[i];
      if (!(s > 0) || s > 1e6) node_fail(n, "scale ", s, " must be positive (and at most 1e6)");
      scale[axes[i]] = s;
      out[axes[i]] = static_cast<int64_t>(std::floor(double(in[axes[i]]) * s));
    }
  } else {
    if (sizes_in.size() != k) node_fail(n, "sizes has ", sizes_in.size(), " values, expected ", k);
    for (size_t i = 0; i < k; ++i)
      if (!(sizes_in[i] >= 0) || sizes_in[i] > 1e9) node_fail(n, "size ", sizes_in[i], " is out of range");
    const std::string policy = n.attrs.get_string("keep_aspect_ratio_policy", "stretch");
    if (policy == "stretch") {
      for (size_t i = 0; i < k; ++i) {
        out[axes[i]] = static_cast<int64_t>(sizes_in[i]);
        scale[axes[i]] = double(out[axes[i]]) / double(in[axes[i]]);
      }
    } else if (policy == "not_larger" || policy == "not_smaller") {
      double s = policy == "not_larger" ? 1e300 : 0.0;
      for (size_t i = 0; i < k; ++i) {
        const double si = sizes_in[i] / double(in[axes[i]]);
        s = policy == "not_larger" ? std::min(s, si) : std::max(s, si);
      }
      for (size_t i = 0; i < k; ++i) {
        scale[axes[i]] = s;
        out[axes[i]] = static_cast<int64_t>(std::floor(s * double(in[axes[i]]) + 0.5));
      }
    } else {
      node_fail(n, "unknown keep_aspect_ratio_policy '", policy, "'");
    }
  }
  for (size_t a = 0; a < r; ++a)
    if (out[a] < 0 || (in[a] == 0 && out[a] > 0))
      node_fail(n, "cannot resize dimension ", a, " from ", in[a], " to ", out[a]);
  const bool build = with_tables && checked_numel(out) > 0;

  std::vector<ResizeAxis> tables(r);
  for (size_t a = 0; a < r && build; ++a) {
    ResizeAxis& t = tables[a];
    const int64_t o = out[a], len = in[a];
    t.i0.resize(o);
    t.i1.resize(o);
    t.w.assign(o, 0.f);
    t.outside.assign(o, 0);
    const bool identity_axis = len == o && scale[a] == 1.0 && coord != "tf_crop_and_resize";
    for (int64_t j = 0; j < o; ++j) {
      double xo = identity_axis ? double(j)
                                : transform(coord, double(j), scale[a], len, scale[a] * double(len), double(o),
                                            roi_start[a], roi_end[a]);
      if (coord == "tf_crop_and_resize" && (xo < 0 || xo > double(len - 1))) {
        t.outside[j] = 1;
        t.i0[j] = t.i1[j] = 0;
        continue;
      }
      if (linear) {
        xo = std::clamp(xo, 0.0, double(len - 1));
        const int64_t i0 = static_cast<int64_t>(std::floor(xo));
        t.i0[j] = i0;
        t.i1[j] = std::min(i0 + 1, len - 1);
        t.w[j] = static_cast<float>(xo - double(i0));
      } else {
        t.i0[j] = t.i1[j] = std::clamp<int64_t>(nearest(nmode, xo, scale[a] < 1.0), 0, len - 1);
      }
    }
  }
  ResizeSpec spec;
  spec.params.linear = linear;
  spec.params.extrapolation_value = extrapolation;
  if (nhwc) {
    const size_t perm[4] = {0, 2, 3, 1};  // actual axis i is ONNX axis perm[i]
    for (size_t i = 0; i < 4; ++i) {
      spec.params.in.push_back(in[perm[i]]);
      spec.params.out.push_back(out[perm[i]]);
      spec.params.axes.push_back(std::move(tables[perm[i]]));
    }
  } else {
    spec.params.in = in;
    spec.params.out = out;
    spec.params.axes = std::move(tables);
  }
  spec.out = spec.params.out;
  return spec;
}

namespace {

void infer_resize(InferContext& ctx) {
  if (ctx.input_dtype(0) != DType::kF32)
    ctx.fail("input type ", dtype_name(ctx.input_dtype(0)), " is not supported");
  InputFn input = [&](size_t i) -> const TensorInfo* {
    if (!ctx.has_input(i)) return nullptr;
    return &ctx.input(i);
  };
  ctx.set_output(0, DType::kF32,
                 resize_spec(ctx.node(), ctx.opset(), ctx.input_dims(0), input, /*with_tables=*/false).out);
}

std::unique_ptr<Kernel> prepare_resize(const PrepareContext& ctx) {
  InputFn input = [&](size_t i) -> const TensorInfo* {
    if (!ctx.has_input(i)) return nullptr;
    return &ctx.input(i);
  };
  ResizeSpec s = resize_spec(ctx.node, ctx.graph.opset, ctx.input_dims(0), input);
  return ref_opt_kernel(
      std::move(s.params), ctx.reference, ctx.threads,
      {"resize_reference",
       [](const auto& p, auto in, auto out, int) {
         kernels::resize_reference(p, in[0].template as<float>(), out[0].template as<float>());
       }},
      {"resize_f32", [](const auto& p, auto in, auto out, int threads) {
         kernels::resize_f32(p, in[0].template as<float>(), out[0].template as<float>(), threads);
       }});
}

}  // namespace

void register_resize_ops(OpRegistry& r) {
  r.add({.name = "Resize", .min_inputs = 1, .max_inputs = 4, .infer = infer_resize,
         .prepare = prepare_resize});
  r.add({.name = "Upsample", .min_inputs = 1, .max_inputs = 2, .infer = infer_resize,
         .prepare = prepare_resize});
}

}  // namespace octet
