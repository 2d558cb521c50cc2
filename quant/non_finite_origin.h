// Where a run first makes NaN or infinity out of finite values: the first node, in the order
// the graph runs, whose output holds a non-finite value while none of its inputs does, and
// what those inputs held as the node saw them (in qdq: after their quantizers). `octet eval`
// prints it when an output is not comparable (e.g. a LayerNorm whose variance quantizes to 0,
// then 0 / 0).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/execution_mode.h"
#include "engine/graph.h"
#include "quant/data_stream.h"

namespace octet::quant {

struct NonFiniteOrigin {
  std::string node, op_type;
  int64_t sample = 0;  // the first sample (row of the data) that shows it
  int64_t nan = 0, inf = 0;  // non-finite values in the node's outputs on that sample
  struct Input {
    std::string name;
    bool quantized = false;  // read through its quantizer (qdq)
    int64_t count = 0, zeros = 0, negative = 0;
    double min = 0, max = 0;
  };
  std::vector<Input> inputs;  // the node's float inputs
};

// Runs the samples of `data` one at a time in `mode` (float or qdq) until one makes a
// non-finite value; nullopt when none does. Costs a run with every tensor kept per sample.
std::optional<NonFiniteOrigin> find_non_finite_origin(std::shared_ptr<const Graph> model,
                                                      const SampleBatch& data, ExecutionMode mode,
                                                      int threads = 1);

// "node 'X' (Div) on sample 3 made 512 NaN, 0 infinite from finite inputs: 'a' after its
// quantizer: 512 values in [-1.7, 2.6], 37 zero; ..."
std::string describe(const NonFiniteOrigin& origin);

}  // namespace octet::quant
