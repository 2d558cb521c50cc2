// Helpers shared by the data movement op bindings (engine/ops/movement_*.cc).
#include "engine/op.h"
#include "engine/ops/movement_common.h"
#include "kernels/copy.h"

namespace octet {
namespace movement {

int64_t normalize_axis(const InferContext& ctx, int64_t axis, int64_t rank, const char* what) {
  if (axis < -rank || axis >= rank)
    ctx.fail(what, " ", axis, " is out of range for rank ", rank, " (valid: ", -rank, "..",
             rank - 1, ")");
  return axis < 0 ? axis + rank : axis;
}

bool ints_from_attr_or_input(const InferContext& ctx, const char* attr, size_t input,
                             int64_t input_since, std::vector<int64_t>& out) {
  if (ctx.opset() < input_since) {
    if (!ctx.attrs().has(attr)) return false;
    out = ctx.attrs().get_ints(attr);
    return true;
  }
  if (ctx.attrs().has(attr))
    ctx.fail("attribute '", attr, "' is not allowed at opset ", ctx.opset(),
             " (it is input ", input, " since opset ", input_since, ")");
  if (!ctx.has_input(input)) return false;
  if (ctx.input_dims(input).size() > 1)
    ctx.fail("input ", input, " ('", attr, "') must be 1-D, got shape ",
             dims_to_string(ctx.input_dims(input)));
  out = ctx.constant_ints(input);
  return true;
}

size_t element_size(const InferContext& ctx, DType t) {
  size_t s = dtype_size(t);
  if (s == 0)
    ctx.fail("data of type ", dtype_name(t),
             " is not supported (packed 4-bit tensors cannot be moved element by element)");
  return s;
}

namespace {

class ViewCopyKernel final : public Kernel {
 public:
  explicit ViewCopyKernel(int threads) : threads_(threads) {}
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    if (in[0].data == out[0].data) return;
    kernels::copy_bytes(in[0].data, out[0].data, dtype_storage_bytes(in[0].dtype, in[0].numel()),
                        threads_);
  }
  std::string_view impl_name() const override { return "view"; }

 private:
  int threads_;
};

}  // namespace

std::unique_ptr<Kernel> prepare_view_copy(const PrepareContext& ctx) {
  return std::make_unique<ViewCopyKernel>(ctx.threads);
}

}  // namespace movement

}  // namespace octet
