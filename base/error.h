// The one exception type of octet: what failed and where (file, node, tensor).
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace octet {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

// Throws octet::Error with the streamed parts as message.
template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(detail::concat(parts...));
}

}  // namespace octet

// Validation of untrusted data and of API arguments: never compiled out.
#define OCTET_CHECK(cond, ...)                 \
  do {                                         \
    if (!(cond)) ::octet::fail(__VA_ARGS__);   \
  } while (0)
