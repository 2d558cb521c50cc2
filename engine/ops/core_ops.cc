// Identity and inference-mode Dropout: the output is the input.
#include "engine/op.h"
#include "engine/ops/op_groups.h"
#include "kernels/copy.h"

#include <cstring>

namespace octet {
namespace {

void infer_identity(InferContext& ctx) {
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_dims(0));
  if (ctx.num_outputs() > 1) {  // Dropout's mask: all true at inference
    ctx.set_output(1, DType::kBool, ctx.input_dims(0));
  }
}

class IdentityKernel final : public Kernel {
 public:
  explicit IdentityKernel(int threads) : threads_(threads) {}
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    kernels::copy_bytes(in[0].data, out[0].data, dtype_storage_bytes(in[0].dtype, in[0].numel()),
                        threads_);
    if (out.size() > 1 && out[1].data)
      std::memset(out[1].data, 1, static_cast<size_t>(out[1].numel()));
  }
  std::string_view impl_name() const override { return "copy"; }

 private:
  int threads_;
};

std::unique_ptr<Kernel> prepare_identity(const PrepareContext& ctx) {
  return std::make_unique<IdentityKernel>(ctx.threads);
}

}  // namespace

void register_core_ops(OpRegistry& r) {
  r.add({.name = "Identity", .infer = infer_identity, .prepare = prepare_identity,
         .layout = LayoutClass::kPointwiseUnary, .encoding = EncodingClass::kRearranges});
  r.add({.name = "Dropout", .min_inputs = 1, .max_inputs = 3, .max_outputs = 2,
         .infer = infer_identity, .prepare = prepare_identity,
         .encoding = EncodingClass::kSelects});
}

}  // namespace octet
