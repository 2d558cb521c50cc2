// Load and prepare time of long node chains: loading and every pass must stay near-linear
// in the node count (issue 11, finding 6). Reports time per node at 10k and 100k nodes;
// a quadratic step shows as a 10x larger per-node time at 100k.
#include <benchmark/benchmark.h>
#include <onnx/onnx_pb.h>

#include <string>

#include "engine/session.h"
#include "loaders/octet_format.h"
#include "loaders/onnx_loader.h"

namespace {

// x -> Neg -> Relu -> Neg -> ... (`nodes` nodes), input [1, 8].
std::string chain_model(int nodes) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("chain");
  auto* in = g->add_input();
  in->set_name("t0");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto_DataType_FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_value(1);
  tt->mutable_shape()->add_dim()->set_dim_value(8);
  for (int i = 0; i < nodes; ++i) {
    auto* n = g->add_node();
    n->set_op_type(i % 2 ? "Relu" : "Neg");
    n->set_name("n" + std::to_string(i));
    n->add_input("t" + std::to_string(i));
    n->add_output("t" + std::to_string(i + 1));
  }
  g->add_output()->set_name("t" + std::to_string(nodes));
  return m.SerializeAsString();
}

// Seconds per node per iteration (shown as e.g. "1.2u").
void per_node(benchmark::State& state) {
  state.counters["per_node"] = benchmark::Counter(
      double(state.range(0)), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_LoadOnnxChain(benchmark::State& state) {
  const std::string bytes = chain_model(int(state.range(0)));
  for (auto _ : state)
    benchmark::DoNotOptimize(octet::load_onnx_bytes(bytes.data(), bytes.size(), "chain.onnx", "."));
  per_node(state);
}

void BM_OctetRoundTripChain(benchmark::State& state) {
  const std::string bytes = chain_model(int(state.range(0)));
  auto g = octet::load_onnx_bytes(bytes.data(), bytes.size(), "chain.onnx", ".");
  for (auto _ : state) {
    const auto out = octet::save_octet_bytes(*g);
    benchmark::DoNotOptimize(octet::load_octet_bytes(out.data(), out.size(), nullptr, "chain.octet"));
  }
  per_node(state);
}

void BM_PrepareSessionChain(benchmark::State& state) {
  const std::string bytes = chain_model(int(state.range(0)));
  std::shared_ptr<const octet::Graph> g =
      octet::load_onnx_bytes(bytes.data(), bytes.size(), "chain.onnx", ".");
  for (auto _ : state) {
    octet::Session s(g);  // shape inference, every optimization pass, kernels, memory plan
    benchmark::DoNotOptimize(s.arena_bytes());
  }
  per_node(state);
}

}  // namespace

BENCHMARK(BM_LoadOnnxChain)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_OctetRoundTripChain)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PrepareSessionChain)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
