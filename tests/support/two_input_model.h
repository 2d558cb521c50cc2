// A small model with a float and an integer input, for the data and CLI tests.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/buffer.h"
#include "engine/graph.h"

namespace octet::testing {

// z = Relu(x + ReduceMean(Gather(table, ids), axis 1)): x f32 [batch, 4], ids [batch, 3] of
// `ids_type` (token ids into a 10-row table), the shape [batch, `width`] of x as given.
inline std::shared_ptr<Graph> two_input_model(DType ids_type, Dim width = Dim::known(4)) {
  auto g = std::make_shared<Graph>();
  g->opset = 17;
  TensorInfo x;
  x.name = "x";
  x.dtype = DType::kF32;
  x.shape.has_rank = true;
  x.shape.dims = {Dim::symbolic("batch"), width};
  TensorInfo ids;
  ids.name = "ids";
  ids.dtype = ids_type;
  ids.shape.has_rank = true;
  ids.shape.dims = {Dim::symbolic("batch"), Dim::known(3)};
  const TensorId xid = g->add_tensor(x), iid = g->add_tensor(ids);
  g->inputs = {xid, iid};
  std::vector<float> table(40);
  for (size_t i = 0; i < table.size(); ++i) table[i] = 0.1f * float(i % 7) - 0.2f;
  const TensorId tid = g->add_constant("table", DType::kF32, {10, 4},
                                       Buffer::copy_of(reinterpret_cast<const std::byte*>(table.data()), 160));
  auto node = [&](const std::string& op, std::vector<TensorId> in, const std::string& out) {
    const TensorId o = g->add_unique_tensor(out, DType::kF32);
    Node n;
    n.name = out + "_node";
    n.op_type = op;
    n.inputs = std::move(in);
    n.outputs = {o};
    g->nodes.push_back(std::move(n));
    return o;
  };
  const TensorId e = node("Gather", {tid, iid}, "embedded");
  const TensorId m = node("ReduceMean", {e}, "pooled");
  g->nodes.back().attrs.set("axes", std::vector<int64_t>{1});
  g->nodes.back().attrs.set("keepdims", int64_t{0});
  const TensorId s = node("Add", {xid, m}, "sum");
  g->outputs = {node("Relu", {s}, "z")};
  return g;
}

}  // namespace octet::testing
