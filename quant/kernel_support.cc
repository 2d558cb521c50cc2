#include "quant/kernel_support.h"

#include <map>
#include <set>
#include <tuple>

namespace octet::quant {

std::vector<std::string> kernel_support_warnings(const QuantSim& sim) {
  std::set<int> act_bitwidths;
  for (const Quantizer& q : sim.quantizers())
    if (q.enabled && q.role != QuantizerRole::kParam) act_bitwidths.insert(q.bitwidth);

  // (op type, is param, bitwidth) -> (count, kernels)
  std::map<std::tuple<std::string, bool, int>, std::pair<int, const std::vector<SupportedKernel>*>>
      misses;
  for (const Quantizer& q : sim.quantizers()) {
    if (!q.enabled || q.supported_kernels.empty()) continue;
    bool ok = false;
    if (q.role != QuantizerRole::kParam) {
      ok = kernels_support(q.supported_kernels, q.bitwidth, std::nullopt);
    } else if (q.param != "weight") {
      continue;  // biases: the kernels' param entries describe the weights
    } else {
      for (int a : act_bitwidths) ok = ok || kernels_support(q.supported_kernels, a, q.bitwidth);
      if (act_bitwidths.empty()) ok = true;
    }
    if (ok) continue;
    auto& m = misses[{q.op_type.empty() ? std::string("(model input)") : q.op_type,
                      q.role == QuantizerRole::kParam, q.bitwidth}];
    ++m.first;
    m.second = &q.supported_kernels;
  }
  std::vector<std::string> out;
  for (const auto& [key, value] : misses) {
    const auto& [op, param, bw] = key;
    std::string list;
    for (const SupportedKernel& k : *value.second)
      list += (list.empty() ? "" : "; ") + describe_kernel(k);
    out.push_back(op + ": " + std::to_string(value.first) + (param ? " weight" : " activation") +
                  " quantizer(s) at int" + std::to_string(bw) +
                  ", which none of its supported kernels has (" + list + ")");
  }
  return out;
}

}  // namespace octet::quant
