#pragma once
// Where the data files shipped with octet (quantsim configs, target profiles) are found, in
// this order, the first folder that exists winning:
//   1. the environment variable named by the caller (OCTET_CONFIG_DIR, OCTET_PROFILE_DIR);
//   2. <folder of the running executable>/../share/octet/<kind> (an installed octet);
//   3. <install prefix given at configure time>/share/octet/<kind> (a program linking the
//      installed library);
//   4. the source tree's folder (a build-tree binary, the tests).
#include <filesystem>
#include <string>
#include <vector>

namespace octet {

enum class ShippedKind { kConfigs, kProfiles };

// Candidate folders for `kind`, in search order (those that do not exist included).
std::vector<std::filesystem::path> shipped_data_search_path(ShippedKind kind);

// The first candidate folder that exists; throws octet::Error listing every candidate if none.
std::filesystem::path shipped_data_dir(ShippedKind kind);

}  // namespace octet
