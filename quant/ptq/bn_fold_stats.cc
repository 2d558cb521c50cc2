#include "quant/ptq/bn_fold_stats.h"

#include <set>

#include "engine/passes/pass_util.h"

namespace octet::quant {

BnFoldReport fold_batch_norms_keep_stats(Graph& graph) {
  // Record every candidate BN's statistics first; keep those whose node the fold removed.
  const std::vector<int32_t> producer = graph.producers();
  std::map<std::string, BnStats> candidates;  // by BN node name
  std::map<std::string, std::string> out_name;
  for (const Node& bn : graph.nodes) {
    if (bn.op_type != "BatchNormalization" || bn.inputs.size() < 5 || bn.outputs.empty()) continue;
    if (bn.inputs[0] == kNoTensor || bn.outputs[0] == kNoTensor) continue;
    auto gamma = passes::constant_f32(graph, bn.inputs[1]);
    auto beta = passes::constant_f32(graph, bn.inputs[2]);
    auto mean = passes::constant_f32(graph, bn.inputs[3]);
    auto var = passes::constant_f32(graph, bn.inputs[4]);
    if (!gamma || !beta || !mean || !var) continue;
    const int32_t p = producer[bn.inputs[0]];
    if (p < 0) continue;
    BnStats s{*gamma, *beta, *mean, *var, bn.attrs.get_float("epsilon", 1e-5f), bn.name,
              graph.nodes[p].name};
    candidates.emplace(bn.name, std::move(s));
    out_name.emplace(bn.name, graph.tensor(bn.outputs[0]).name);
  }
  BnFoldReport report;
  report.pass = fold_batch_norms(graph);
  std::set<std::string> remaining;
  for (const Node& n : graph.nodes) remaining.insert(n.name);
  for (auto& [name, s] : candidates)
    if (!remaining.count(name)) report.stats.emplace(out_name[name], std::move(s));
  return report;
}

}  // namespace octet::quant
