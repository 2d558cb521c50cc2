// Gemm and MatMul bindings over the packed-B GEMM (kernels/gemm.h).
#include <algorithm>
#include <memory>

#include "engine/ops/nn_common.h"
#include "engine/ops/op_groups.h"
#include "kernels/gemm.h"

namespace octet {
namespace {


// ---------------------------------------------------------------------------------- Gemm
struct GemmGeom {
  int64_t M, N, K;
  bool ta, tb;
  float alpha, beta;
  Dims c;  // C's dims (empty when absent)
  bool has_c = false;
};

GemmGeom gemm_geom(const Node& node, const Dims& a, const Dims& b, const Dims* c) {
  GemmGeom g;
  const int64_t ta = node.attrs.get_int("transA", 0), tb = node.attrs.get_int("transB", 0);
  if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1)) node_fail(node, "transA/transB must be 0 or 1");
  g.ta = ta;
  g.tb = tb;
  g.alpha = node.attrs.get_float("alpha", 1.f);
  g.beta = node.attrs.get_float("beta", 1.f);
  if (a.size() != 2 || b.size() != 2) node_fail(node, "A and B must be 2-D");
  g.M = g.ta ? a[1] : a[0];
  g.K = g.ta ? a[0] : a[1];
  const int64_t kb = g.tb ? b[1] : b[0];
  g.N = g.tb ? b[0] : b[1];
  if (kb != g.K) node_fail(node, "inner dimensions differ: ", g.K, " vs ", kb);
  if (c) {
    g.has_c = true;
    g.c = *c;
    if (c->size() > 2) node_fail(node, "C must have rank <= 2");
    Dims cc = *c;
    while (cc.size() < 2) cc.insert(cc.begin(), 1);
    if ((cc[0] != 1 && cc[0] != g.M) || (cc[1] != 1 && cc[1] != g.N))
      node_fail(node, "C of shape ", dims_to_string(*c), " does not broadcast to (", g.M, ", ",
                g.N, ")");
  }
  return g;
}

void infer_gemm(InferContext& ctx) {
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (ctx.has_input(i)) nn::require_f32(ctx.node(), ctx.input_dtype(i), "Gemm input");
  Dims cd;
  if (ctx.has_input(2)) cd = ctx.input_dims(2);
  GemmGeom g = gemm_geom(ctx.node(), ctx.input_dims(0), ctx.input_dims(1),
                         ctx.has_input(2) ? &cd : nullptr);
  ctx.set_output(0, DType::kF32, {g.M, g.N});
}

class GemmKernel final : public Kernel {
 public:
  explicit GemmKernel(const PrepareContext& ctx) : threads_(ctx.threads), ref_(ctx.reference) {
    Dims cd;
    if (ctx.has_input(2)) cd = ctx.input_dims(2);
    g_ = gemm_geom(ctx.node, ctx.input_dims(0), ctx.input_dims(1),
                   ctx.has_input(2) ? &cd : nullptr);
    nn::act_range(ctx.node, lo_, hi_);
    Dims cc = g_.c;
    while (cc.size() < 2) cc.insert(cc.begin(), 1);
    if (g_.has_c) {
      c_rows_ = cc[0];
      c_cols_ = cc[1];
    }
    const_b_ = ctx.input(1).is_constant();
    const_c_ = !g_.has_c || ctx.input(2).is_constant();
    if (!ref_ && const_b_) pack_b(nn::const_floats(ctx.node, ctx.input(1)).data());
    if (!ref_ && g_.has_c && const_c_) set_c(nn::const_floats(ctx.node, ctx.input(2)).data());
  }

  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    const float* A = in[0].as<float>();
    const float* B = in[1].as<float>();
    const float* C = g_.has_c ? in[2].as<float>() : nullptr;
    float* Y = out[0].as<float>();
    const size_t M = g_.M, N = g_.N, K = g_.K;
    if (ref_) {
      kernels::gemm_reference(M, N, K, A, g_.ta ? 1 : K, g_.ta ? M : 1, B, g_.tb ? 1 : N,
                              g_.tb ? K : 1, Y, N);
      for (size_t m = 0; m < M; ++m)
        for (size_t n = 0; n < N; ++n) {
          float v = g_.alpha * Y[m * N + n];
          if (C) v += g_.beta * C[(c_rows_ == 1 ? 0 : m) * c_cols_ + (c_cols_ == 1 ? 0 : n)];
          Y[m * N + n] = std::min(std::max(v, lo_), hi_);
        }
      return;
    }
    if (!const_b_) pack_b(B);
    if (g_.has_c && !const_c_) set_c(C);
    const float* a = A;
    if (g_.ta) {  // A is K x M: make it M x K
      at_.resize(M * K);
      for (size_t k = 0; k < K; ++k)
        for (size_t m = 0; m < M; ++m) at_[m * K + k] = A[k * M + m];
      a = at_.data();
    }
    const bool post = g_.has_c && c_rows_ != 1;  // C varies along rows: add it afterwards
    kernels::gemm_packed(M, a, K, packed_, Y, N, post ? nullptr : bias_.data(),
                         post ? -INFINITY : lo_, post ? INFINITY : hi_, threads_);
    if (post) {
      for (size_t m = 0; m < M; ++m)
        for (size_t n = 0; n < N; ++n) {
          float v = Y[m * N + n] + cscaled_[m * c_cols_ + (c_cols_ == 1 ? 0 : n)];
          Y[m * N + n] = std::min(std::max(v, lo_), hi_);
        }
    }
  }
  std::string_view impl_name() const override { return ref_ ? "gemm_reference" : "gemm_f32_hwy"; }

 private:
  void pack_b(const float* B) {
    const size_t N = g_.N, K = g_.K;
    packed_.pack(B, K, N, g_.tb ? 1 : N, g_.tb ? K : 1, g_.alpha);
  }
  void set_c(const float* C) {
    cscaled_.assign(C, C + c_rows_ * c_cols_);
    for (float& v : cscaled_) v *= g_.beta;
    if (c_rows_ == 1) {
      std::vector<float> row(g_.N);
      for (int64_t n = 0; n < g_.N; ++n) row[n] = cscaled_[c_cols_ == 1 ? 0 : n];
      bias_ = kernels::pad_bias(row.data(), g_.N);
    }
  }

  int threads_;
  bool ref_;
  GemmGeom g_;
  float lo_, hi_;
  int64_t c_rows_ = 1, c_cols_ = 1;
  bool const_b_ = false, const_c_ = true;
  kernels::PackedB packed_;
  std::vector<float> bias_, cscaled_, at_;
};

std::unique_ptr<Kernel> prepare_gemm(const PrepareContext& ctx) {
  return std::make_unique<GemmKernel>(ctx);
}

// -------------------------------------------------------------------------------- MatMul
struct MatMulGeom {
  int64_t M, N, K;
  Dims batch;                 // broadcast batch dims of the output
  std::vector<int64_t> a_bs;  // per batch dim: A's element stride (0 where broadcast)
  std::vector<int64_t> b_bs;
  Dims out;
  int64_t batches = 1;
  bool b_2d = false;          // B has no batch dims: one packed B serves every batch
};

MatMulGeom matmul_geom(const Node& node, Dims a, Dims b) {
  MatMulGeom g;
  if (a.empty() || b.empty()) node_fail(node, "MatMul operands must have rank >= 1");
  const bool a1 = a.size() == 1, b1 = b.size() == 1;
  if (a1) a.insert(a.begin(), 1);
  if (b1) b.push_back(1);
  g.M = a[a.size() - 2];
  g.K = a[a.size() - 1];
  g.N = b[b.size() - 1];
  if (b[b.size() - 2] != g.K)
    node_fail(node, "inner dimensions differ: ", g.K, " vs ", b[b.size() - 2]);
  const size_t ra = a.size() - 2, rb = b.size() - 2, r = std::max(ra, rb);
  g.b_2d = rb == 0;
  g.batch.resize(r);
  g.a_bs.assign(r, 0);
  g.b_bs.assign(r, 0);
  int64_t sa = g.M * g.K, sb = g.K * g.N;
  for (size_t i = r; i-- > 0;) {
    const int64_t da = i + ra >= r ? a[i + ra - r] : 1;
    const int64_t db = i + rb >= r ? b[i + rb - r] : 1;
    if (da != db && da != 1 && db != 1)
      node_fail(node, "batch dims do not broadcast: ", dims_to_string(a), " and ",
                dims_to_string(b));
    g.batch[i] = std::max(da, db);
    if (da == 0 || db == 0) g.batch[i] = 0;
    g.a_bs[i] = da == 1 ? 0 : sa;
    g.b_bs[i] = db == 1 ? 0 : sb;
    sa *= da;
    sb *= db;
  }
  g.batches = checked_numel(g.batch);
  g.out = g.batch;
  if (!a1) g.out.push_back(g.M);
  if (!b1) g.out.push_back(g.N);
  checked_numel(g.out);
  return g;
}

void infer_matmul(InferContext& ctx) {
  nn::require_f32(ctx.node(), ctx.input_dtype(0), "A");
  nn::require_f32(ctx.node(), ctx.input_dtype(1), "B");
  ctx.set_output(0, DType::kF32, matmul_geom(ctx.node(), ctx.input_dims(0), ctx.input_dims(1)).out);
}

class MatMulKernel final : public Kernel {
 public:
  explicit MatMulKernel(const PrepareContext& ctx) : threads_(ctx.threads), ref_(ctx.reference) {
    g_ = matmul_geom(ctx.node, ctx.input_dims(0), ctx.input_dims(1));
    nn::act_range(ctx.node, lo_, hi_);
    const_b_ = ctx.input(1).is_constant();
    a_contig_ = true;  // A's batch dims equal the output's when A is not broadcast
    for (size_t i = 0; i < g_.a_bs.size(); ++i)
      if (g_.a_bs[i] == 0 && g_.batch[i] != 1) a_contig_ = false;
    if (!ref_ && const_b_ && g_.b_2d)
      packed_.pack(nn::const_floats(ctx.node, ctx.input(1)).data(), g_.K, g_.N, g_.N, 1);
  }

  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    const float* A = in[0].as<float>();
    const float* B = in[1].as<float>();
    float* Y = out[0].as<float>();
    const size_t M = g_.M, N = g_.N, K = g_.K;
    if (!ref_ && g_.b_2d && a_contig_) {
      if (!const_b_) packed_.pack(B, K, N, N, 1);
      kernels::gemm_packed(M * g_.batches, A, K, packed_, Y, N, nullptr, lo_, hi_, threads_);
      return;
    }
    int64_t prev_b = -1;
    for (int64_t bi = 0; bi < g_.batches; ++bi) {
      int64_t ao = 0, bo = 0, rem = bi;
      for (size_t i = g_.batch.size(); i-- > 0;) {
        const int64_t idx = rem % g_.batch[i];
        rem /= g_.batch[i];
        ao += idx * g_.a_bs[i];
        bo += idx * g_.b_bs[i];
      }
      float* y = Y + bi * M * N;
      if (ref_) {
        kernels::gemm_reference(M, N, K, A + ao, K, 1, B + bo, N, 1, y, N);
        for (size_t i = 0; i < M * N; ++i) y[i] = std::min(std::max(y[i], lo_), hi_);
        continue;
      }
      if (!(const_b_ && g_.b_2d) && bo != prev_b) {  // repack only when B's batch changes
        packed_.pack(B + bo, K, N, N, 1);
        prev_b = bo;
      }
      kernels::gemm_packed(M, A + ao, K, packed_, y, N, nullptr, lo_, hi_, threads_);
    }
  }
  std::string_view impl_name() const override {
    return ref_ ? "matmul_reference" : "matmul_f32_hwy";
  }

 private:
  int threads_;
  bool ref_;
  MatMulGeom g_;
  float lo_, hi_;
  bool const_b_ = false, a_contig_ = true;
  kernels::PackedB packed_;
};

std::unique_ptr<Kernel> prepare_matmul(const PrepareContext& ctx) {
  return std::make_unique<MatMulKernel>(ctx);
}

// Gemm's B is [K, N], or [N, K] with transB; MatMul's is [..., K, N].
int gemm_channel_axis(const Node& n, int rank) { return n.attrs.get_int("transB", 0) ? 0 : rank - 1; }
int gemm_reduction_axis(const Node& n, int) { return n.attrs.get_int("transB", 0) ? 1 : 0; }
int matmul_channel_axis(const Node&, int rank) { return rank - 1; }
int matmul_reduction_axis(const Node&, int rank) { return rank == 2 ? 0 : -1; }

}  // namespace

void register_nn_matmul_ops(OpRegistry& r) {
  r.add({.name = "Gemm", .min_inputs = 2, .max_inputs = 3, .infer = infer_gemm,
         .prepare = prepare_gemm,
         .params = {.weight = 1, .bias = 2, .channel_axis = gemm_channel_axis,
                    .reduction_axis = gemm_reduction_axis,
                    .input_channel_axis = gemm_reduction_axis}});
  r.add({.name = "MatMul", .min_inputs = 2, .max_inputs = 2, .infer = infer_matmul,
         .prepare = prepare_matmul,
         .params = {.weight = 1, .channel_axis = matmul_channel_axis,
                    .reduction_axis = matmul_reduction_axis,
                    .input_channel_axis = matmul_reduction_axis}});
}

}  // namespace octet
