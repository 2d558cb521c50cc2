// Integer rounding helpers for sizes and counts (non-negative x, positive m).
#pragma once
#include <cstdint>

namespace octet {

inline int64_t ceil_div(int64_t x, int64_t m) { return (x + m - 1) / m; }
inline int64_t round_up(int64_t x, int64_t m) { return ceil_div(x, m) * m; }

}  // namespace octet
