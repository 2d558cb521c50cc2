#include "engine/memory_limit.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "base/error.h"

namespace octet {
namespace {
std::atomic<size_t> g_default_limit{0};
}  // namespace

size_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return size_t(1) << 40;  // unknown: no practical limit
  return size_t(pages) * size_t(page);
}

size_t default_memory_limit() {
  const size_t set = g_default_limit.load(std::memory_order_relaxed);
  return set ? set : physical_memory_bytes();
}

void set_default_memory_limit(size_t bytes) { g_default_limit.store(bytes, std::memory_order_relaxed); }

size_t parse_byte_size(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  double unit = 1;
  const std::string suffix = end ? std::string(end) : std::string();
  if (suffix == "K" || suffix == "KiB" || suffix == "k") unit = 1024.0;
  else if (suffix == "M" || suffix == "MiB") unit = 1024.0 * 1024;
  else if (suffix == "G" || suffix == "GiB") unit = 1024.0 * 1024 * 1024;
  else if (suffix == "T" || suffix == "TiB") unit = 1024.0 * 1024 * 1024 * 1024;
  else if (!suffix.empty()) fail("'", text, "' is not a size (bytes, or a number with K, M, G or T)");
  const double bytes = v * unit;
  OCTET_CHECK(end != text.c_str() && std::isfinite(bytes) && bytes >= 1 && bytes < 0x1p62, "'",
              text, "' is not a size between 1 byte and 2^62 bytes");
  return static_cast<size_t>(bytes);
}

std::string format_byte_size(size_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = double(bytes);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  char buf[64];
  if (u == 0) std::snprintf(buf, sizeof buf, "%zu bytes", bytes);
  else std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
  return buf;
}

}  // namespace octet
