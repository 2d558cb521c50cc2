#include "engine/attributes.h"

#include "base/error.h"

namespace octet {

const AttributeValue* Attributes::find(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

namespace {
template <typename T>
const T& typed(const AttributeValue* v, const std::string& name, const char* type) {
  const T* p = std::get_if<T>(v);
  OCTET_CHECK(p, "attribute '", name, "' is not of type ", type);
  return *p;
}
}  // namespace

int64_t Attributes::get_int(const std::string& name, int64_t fallback) const {
  const AttributeValue* v = find(name);
  return v ? typed<int64_t>(v, name, "int") : fallback;
}

float Attributes::get_float(const std::string& name, float fallback) const {
  const AttributeValue* v = find(name);
  if (!v) return fallback;
  if (auto* i = std::get_if<int64_t>(v)) return static_cast<float>(*i);
  return typed<float>(v, name, "float");
}

std::string Attributes::get_string(const std::string& name, const std::string& fallback) const {
  const AttributeValue* v = find(name);
  return v ? typed<std::string>(v, name, "string") : fallback;
}

std::vector<int64_t> Attributes::get_ints(const std::string& name,
                                          std::vector<int64_t> fallback) const {
  const AttributeValue* v = find(name);
  return v ? typed<std::vector<int64_t>>(v, name, "ints") : fallback;
}

std::vector<float> Attributes::get_floats(const std::string& name,
                                          std::vector<float> fallback) const {
  const AttributeValue* v = find(name);
  return v ? typed<std::vector<float>>(v, name, "floats") : fallback;
}

int64_t Attributes::require_int(const std::string& name) const {
  const AttributeValue* v = find(name);
  OCTET_CHECK(v, "required attribute '", name, "' is missing");
  return typed<int64_t>(v, name, "int");
}

std::vector<int64_t> Attributes::require_ints(const std::string& name) const {
  const AttributeValue* v = find(name);
  OCTET_CHECK(v, "required attribute '", name, "' is missing");
  return typed<std::vector<int64_t>>(v, name, "ints");
}

}  // namespace octet
