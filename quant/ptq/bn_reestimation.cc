#include "quant/ptq/bn_reestimation.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "base/error.h"
#include "engine/passes/pass_util.h"
#include "engine/passes/passes.h"
#include "engine/session.h"
#include "loaders/npy.h"
#include "quant/batch_runner.h"

namespace octet::quant {
namespace {

Node* node_named(Graph& g, const std::string& name) {
  for (Node& n : g.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

}  // namespace

BnReestimationReport reestimate_batch_norms(Graph& graph, const QuantsimConfig& config,
                                            const SampleBatch& samples,
                                            const BnReestimationOptions& options) {
  BnReestimationReport report;
  OCTET_CHECK(samples.rows() > 0, "BN re-estimation needs samples along axis 0");
  const int64_t total = std::min(samples.rows(), options.num_samples);
  report.samples = total;

  // Weight encodings on the unfolded model; the run graph fake-quantizes weights only.
  QuantSimOptions qo = options.sim;
  qo.fold_batch_norms = false;
  QuantSim sim(std::make_shared<const Graph>(graph), config, qo);
  sim.compute_param_encodings(options.observer);
  auto run = std::make_shared<Graph>(sim.model());
  for (const Quantizer& q : sim.quantizers())
    if (q.role == QuantizerRole::kParam && q.enabled && q.encoding)
      run->tensor(run->require_tensor(q.tensor)).quant = to_quant_params(*q.encoding);
  insert_fake_quantization(*run);

  std::vector<std::string> bns;
  for (const Node& n : run->nodes)
    if (n.op_type == "BatchNormalization" && n.inputs.size() >= 5 && !n.name.empty()) bns.push_back(n.name);
  if (bns.empty()) report.notes.push_back("no BatchNormalization nodes");

  passes::Namer run_names(*run), names(graph);
  for (const std::string& bn_name : bns) {
    Node* bn = node_named(*run, bn_name);
    Node* orig = node_named(graph, bn_name);
    if (!bn || !orig) {
      report.notes.push_back("'" + bn_name + "' not found in the model");
      continue;
    }
    auto old_mean = passes::constant_f32(*run, bn->inputs[3]);
    auto old_var = passes::constant_f32(*run, bn->inputs[4]);
    if (!old_mean || !old_var || old_mean->size() != old_var->size()) {
      report.notes.push_back("'" + bn_name + "' skipped: mean / var are not f32 constants");
      continue;
    }
    const int64_t c = static_cast<int64_t>(old_mean->size());
    auto g = std::make_shared<Graph>(*run);
    g->outputs = {bn->inputs[0]};
    std::vector<double> sum(static_cast<size_t>(c), 0.0), sq(static_cast<size_t>(c), 0.0);
    int64_t count = 0;
    BatchRunner runner(g, options.threads, options.batch_size);
    runner.for_each(samples, total, [&](const SampleBatch&, std::vector<HostTensor>& outs) {
      const HostTensor& y = outs[0];
      OCTET_CHECK(y.dims.size() >= 2 && y.dims[1] == c, "BN re-estimation: input of '", bn_name,
                  "' does not have ", c, " channels on axis 1");
      int64_t inner = 1;
      for (size_t d = 2; d < y.dims.size(); ++d) inner *= y.dims[d];
      const auto v = y.values<float>();
      for (int64_t n = 0; n < y.dims[0]; ++n)
        for (int64_t ch = 0; ch < c; ++ch) {
          const float* p = v.data() + (n * c + ch) * inner;
          double s1 = 0, s2 = 0;
          for (int64_t k = 0; k < inner; ++k) s1 += p[k], s2 += static_cast<double>(p[k]) * p[k];
          sum[static_cast<size_t>(ch)] += s1;
          sq[static_cast<size_t>(ch)] += s2;
        }
      count += y.dims[0] * inner;
    });
    BnReestimationLayer rec;
    rec.bn = bn_name;
    rec.channels = c;
    rec.old_mean = *old_mean;
    rec.old_var = *old_var;
    rec.new_mean.resize(static_cast<size_t>(c));
    rec.new_var.resize(static_cast<size_t>(c));
    double dm = 0, vr = 0;
    for (size_t ch = 0; ch < static_cast<size_t>(c); ++ch) {
      const double m = sum[ch] / static_cast<double>(count);
      // Unbiased, as torch's running_var.
      const double var = count > 1 ? std::max(0.0, (sq[ch] - count * m * m) / static_cast<double>(count - 1)) : 0.0;
      rec.new_mean[ch] = static_cast<float>(m);
      rec.new_var[ch] = static_cast<float>(var);
      dm += std::fabs(m - rec.old_mean[ch]);
      vr += rec.old_var[ch] > 0 ? var / rec.old_var[ch] : 1.0;
    }
    rec.mean_abs_mean_change = dm / static_cast<double>(std::max<int64_t>(1, c));
    rec.mean_var_ratio = vr / static_cast<double>(std::max<int64_t>(1, c));
    const Dims cd{c};
    bn->inputs[3] = passes::add_f32_constant(*run, run_names, bn_name + "_mean_reest", cd, rec.new_mean);
    bn = node_named(*run, bn_name);
    bn->inputs[4] = passes::add_f32_constant(*run, run_names, bn_name + "_var_reest", cd, rec.new_var);
    orig->inputs[3] = passes::add_f32_constant(graph, names, bn_name + "_mean_reest", cd, rec.new_mean);
    orig = node_named(graph, bn_name);
    orig->inputs[4] = passes::add_f32_constant(graph, names, bn_name + "_var_reest", cd, rec.new_var);
    report.layers.push_back(std::move(rec));
  }
  return report;
}

}  // namespace octet::quant
