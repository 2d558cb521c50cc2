// Shared helpers of the data movement op bindings (engine/ops/movement_*.cc).
#pragma once
#include <string>
#include <vector>

#include "engine/op.h"

namespace octet {

namespace movement {

// Largest rank accepted for data movement (bounds index arithmetic and tables).
constexpr int64_t kMaxRank = 16;

// Maps axis in [-rank, rank) to [0, rank); fails naming `what` otherwise.
int64_t normalize_axis(const InferContext& ctx, int64_t axis, int64_t rank, const char* what);

// Ints given as attribute `attr` before opset `input_since`, as input `input` from then
// on. Returns false when neither is present. An input must be a constant.
bool ints_from_attr_or_input(const InferContext& ctx, const char* attr, size_t input,
                             int64_t input_since, std::vector<int64_t>& out);

// Element size of a dtype movement ops can copy; fails for packed 4-bit types.
size_t element_size(const InferContext& ctx, DType t);

// Output-copy kernel of view ops: copies input 0 to output 0 only when they do not alias.
std::unique_ptr<Kernel> prepare_view_copy(const PrepareContext& ctx);

}  // namespace movement
}  // namespace octet
