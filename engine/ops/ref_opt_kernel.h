// The kernel of an op whose reference and optimized forms are two calls on the same
// parameters. Which form runs is fixed when the session is built (use_reference), so a
// binding states the two calls and their names and nothing else.
#pragma once
#include <memory>
#include <span>
#include <string_view>
#include <utility>

#include "engine/op.h"

namespace octet {

template <typename Params>
struct KernelForm {
  std::string_view name;  // shown by `octet info`
  void (*run)(const Params& p, std::span<const TensorRef> in, std::span<TensorRef> out,
              int threads);
};

template <typename Params>
class RefOptKernel final : public Kernel {
 public:
  RefOptKernel(Params p, bool reference, int threads, KernelForm<Params> ref,
               KernelForm<Params> opt)
      : p_(std::move(p)), form_(reference ? ref : opt), threads_(reference ? 1 : threads) {}
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    form_.run(p_, in, out, threads_);
  }
  std::string_view impl_name() const override { return form_.name; }

 private:
  Params p_;
  KernelForm<Params> form_;
  int threads_;
};

// ref_opt_kernel(p, use_reference(ctx), ctx.threads,
//                {"x_reference", [](const auto& p, auto in, auto out, int) { ... }},
//                {"x_omp", [](const auto& p, auto in, auto out, int threads) { ... }})
template <typename Params>
std::unique_ptr<Kernel> ref_opt_kernel(Params p, bool reference, int threads,
                                       KernelForm<Params> ref, KernelForm<Params> opt) {
  return std::make_unique<RefOptKernel<Params>>(std::move(p), reference, threads, ref, opt);
}

}  // namespace octet
