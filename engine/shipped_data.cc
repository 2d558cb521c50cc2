#include "engine/shipped_data.h"

#include <cstdlib>
#include <system_error>

#include "base/error.h"

namespace octet {
namespace {

struct KindInfo {
  const char* env;
  const char* subdir;
  const char* source_dir;
};

KindInfo info(ShippedKind kind) {
  switch (kind) {
    case ShippedKind::kConfigs:
      return {"OCTET_CONFIG_DIR", "configs", OCTET_SOURCE_DIR "/quant/configs"};
    case ShippedKind::kProfiles:
      return {"OCTET_PROFILE_DIR", "profiles", OCTET_SOURCE_DIR "/quant/profiles"};
  }
  fail("shipped data: unknown kind");
}

std::filesystem::path executable_dir() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}

}  // namespace

std::vector<std::filesystem::path> shipped_data_search_path(ShippedKind kind) {
  const KindInfo k = info(kind);
  std::vector<std::filesystem::path> out;
  if (const char* env = std::getenv(k.env); env != nullptr && *env != '\0') {
    out.emplace_back(env);
    return out;  // an explicit choice: nothing else is searched
  }
  if (const std::filesystem::path exe = executable_dir(); !exe.empty())
    out.push_back(exe.parent_path() / "share" / "octet" / k.subdir);
  out.push_back(std::filesystem::path(OCTET_INSTALL_DATA_DIR) / k.subdir);
  out.emplace_back(k.source_dir);
  return out;
}

std::filesystem::path shipped_data_dir(ShippedKind kind) {
  const std::vector<std::filesystem::path> candidates = shipped_data_search_path(kind);
  std::string tried;
  for (const auto& dir : candidates) {
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec)) return dir;
    tried += (tried.empty() ? "" : ", ") + dir.string();
  }
  fail("octet's shipped ", info(kind).subdir, " were not found (looked in ", tried,
       "); set ", info(kind).env, " to their folder");
}

}  // namespace octet
