#include "engine/op.h"
#include "engine/ops/op_groups.h"

namespace octet {

void register_pool_ops(OpRegistry& r) {}

}  // namespace octet
