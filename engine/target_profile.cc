#include "engine/target_profile.h"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "base/error.h"
#include "engine/shipped_data.h"
#include "base/file_util.h"

namespace octet {

int32_t TargetProfile::weight_min(int bits) const {
  const int32_t full = -(int32_t(1) << (bits - 1));
  return narrow_weights ? full + 1 : full;
}
int32_t TargetProfile::weight_max(int bits) const { return (int32_t(1) << (bits - 1)) - 1; }

namespace {

constexpr size_t kMaxProfileBytes = 64 * 1024;

std::string string_key(const nlohmann::json& j, const char* key, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end()) fail(source, ": missing key '", key, "'");
  if (!it->is_string()) fail(source, ": '", key, "' must be a string");
  return it->get<std::string>();
}

}  // namespace

namespace {

TargetProfile parse_profile_json(std::string_view text, const std::string& source) {
  OCTET_CHECK(text.size() <= kMaxProfileBytes, source, ": target profile larger than ",
              kMaxProfileBytes, " bytes");
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) fail(source, ": not valid JSON");
  if (!j.is_object()) fail(source, ": a target profile is a JSON object");
  static const std::set<std::string> known = {"name", "activation_type", "weight_range",
                                              "requantization", "quantize_rounding",
                                              "description", "activation_type_16", "arithmetic"};
  for (const auto& [key, value] : j.items())
    if (!known.count(key)) fail(source, ": unknown key '", key, "'");
  TargetProfile p;
  p.name = string_key(j, "name", source);
  OCTET_CHECK(!p.name.empty() && p.name.size() <= 64, source, ": 'name' must have 1..64 chars");
  const std::string act = string_key(j, "activation_type", source);
  if (act == "uint8") p.activation_type = DType::kU8;
  else if (act == "int8") p.activation_type = DType::kI8;
  else fail(source, ": activation_type must be \"uint8\" or \"int8\", got \"", act, "\"");
  const std::string range = string_key(j, "weight_range", source);
  if (range != "narrow" && range != "full")
    fail(source, ": weight_range must be \"narrow\" or \"full\", got \"", range, "\"");
  p.narrow_weights = range == "narrow";
  const std::string rq = string_key(j, "requantization", source);
  try {
    p.requant = kernels::parse_requant_scheme(rq);
  } catch (const Error& e) {
    fail(source, ": ", e.what());
  }
  const std::string rounding = string_key(j, "quantize_rounding", source);
  if (rounding != "half-even" && rounding != "half-away")
    fail(source, ": quantize_rounding must be \"half-even\" or \"half-away\", got \"", rounding,
         "\"");
  p.quantize_half_away = rounding == "half-away";
  if (j.contains("activation_type_16")) {
    const std::string a16 = string_key(j, "activation_type_16", source);
    if (a16 == "uint16") p.activation_type_16 = DType::kU16;
    else if (a16 == "int16") p.activation_type_16 = DType::kI16;
    else if (a16 != "none")
      fail(source, ": activation_type_16 must be \"uint16\", \"int16\" or \"none\", got \"", a16,
           "\"");
  }
  if (j.contains("arithmetic")) {
    const std::string e = string_key(j, "arithmetic", source);
    if (e == "mlas") p.arithmetic = kernels::OpArithmetic::kMlas;
    else if (e != "requantization")
      fail(source, ": arithmetic must be \"requantization\" or \"mlas\", got \"", e, "\"");
  }
  return p;
}

}  // namespace

TargetProfile parse_target_profile(std::string_view text, const std::string& source) {
  try {
    return parse_profile_json(text, source);
  } catch (const nlohmann::json::exception& e) {
    fail(source, ": unexpected JSON value: ", e.what());
  }
}

TargetProfile load_target_profile_file(const std::filesystem::path& path) {
  const std::vector<std::byte> bytes = read_file_bytes(path.string(), kMaxProfileBytes);
  return parse_target_profile(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path.string());
}

std::filesystem::path shipped_profile_dir() { return shipped_data_dir(ShippedKind::kProfiles); }

TargetProfile load_target_profile(const std::string& name_or_path) {
  if (name_or_path.ends_with(".json") || name_or_path.find('/') != std::string::npos)
    return load_target_profile_file(name_or_path);
  bool ok = !name_or_path.empty() && name_or_path.size() <= 64;
  for (char c : name_or_path)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_');
  if (!ok) fail("invalid target profile name '", name_or_path, "'");
  const std::filesystem::path path = shipped_profile_dir() / (name_or_path + ".json");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    fail("unknown target profile '", name_or_path, "' (shipped: onnxruntime, xnnpack, tflite, ",
         "tflite-single-rounding; or a path to a .json profile)");
  return load_target_profile_file(path);
}

}  // namespace octet
