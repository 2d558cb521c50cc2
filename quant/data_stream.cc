#include "quant/data_stream.h"

#include <algorithm>
#include <filesystem>
#include <limits>

#include "base/error.h"
#include "loaders/npy.h"
#include "loaders/npz.h"

namespace octet::quant {
namespace {

namespace fs = std::filesystem;

bool has_extension(const std::string& path, const char* ext) { return fs::path(path).extension() == ext; }

// The .npy or .npz files of a folder in name order, or the file itself.
std::vector<std::string> list_files(const std::string& path, bool npz_allowed) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    OCTET_CHECK(fs::exists(path, ec), path, ": no such file or folder");
    OCTET_CHECK(npz_allowed || !has_extension(path, ".npz"), path,
                ": a .npz holds arrays for every input; give it as --data FILE, not NAME=FILE");
    return {path};
  }
  std::vector<std::string> npy, npz;
  for (const auto& entry : fs::directory_iterator(path)) {
    if (!entry.is_regular_file()) continue;
    if (entry.path().extension() == ".npy") npy.push_back(entry.path().string());
    if (entry.path().extension() == ".npz") npz.push_back(entry.path().string());
  }
  OCTET_CHECK(npy.empty() || npz.empty(), path, ": the folder mixes .npy and .npz files");
  OCTET_CHECK(npz_allowed || npz.empty(), path, ": a folder of .npz files feeds every input; give it as --data FOLDER");
  std::vector<std::string>& files = npy.empty() ? npz : npy;
  OCTET_CHECK(!files.empty(), path, ": the folder holds no .npy", npz_allowed ? " or .npz" : "", " files");
  std::sort(files.begin(), files.end());
  return files;
}

std::string input_names(const Graph& g, const std::vector<TensorId>& ids) {
  std::string s;
  for (TensorId id : ids) s += (s.empty() ? "" : ", ") + g.tensor(id).name;
  return s;
}

// The range of an integer type, as doubles (exact for every type up to 32 bits).
std::pair<double, double> integer_range(DType t) {
  switch (t) {
    case DType::kI8: return {-128, 127};
    case DType::kU8: return {0, 255};
    case DType::kI16: return {-32768, 32767};
    case DType::kU16: return {0, 65535};
    case DType::kI32: return {-2147483648.0, 2147483647.0};
    case DType::kU32: return {0, 4294967295.0};
    case DType::kI64: return {-9223372036854775808.0, 9223372036854775807.0};
    case DType::kU64: return {0, 18446744073709551615.0};
    case DType::kBool: return {0, 1};
    default: fail("no integer range for ", dtype_name(t));
  }
}

std::string data_for(const std::string& file, const TensorInfo& t) {
  return file + ": the data for input '" + t.name + "'";
}

// The shape samples of `dims` take for the input `t` (its rank and known dimensions beyond
// axis 0), or an error naming `file`.
Dims conform_dims(Dims dims, const TensorInfo& t, const std::string& file) {
  const std::string what = data_for(file, t);
  OCTET_CHECK(!dims.empty() && dims[0] > 0, what, " has shape ", dims_to_string(dims),
              ": samples lie along axis 0 and there must be at least one");
  if (t.shape.has_rank && dims.size() != t.shape.rank() && t.shape.rank() >= 1) {
    // Another rank with the same values per sample (images [N,1,28,28] for an input [1,28,28]
    // fed one sample at a time): the samples take the input's shape.
    bool known = true;
    Dims sample{dims[0]};
    for (size_t i = 1; i < t.shape.rank(); ++i) {
      known = known && t.shape.dims[i].is_known();
      sample.push_back(t.shape.dims[i].value);
    }
    if (known && checked_numel(sample) == checked_numel(dims)) dims = sample;
  }
  if (t.shape.has_rank) {
    OCTET_CHECK(dims.size() == t.shape.rank(), what, " has shape ", dims_to_string(dims),
                "; the input is ", t.shape.to_string(), " (rank ", t.shape.rank(), ", samples along axis 0)");
    for (size_t i = 1; i < dims.size(); ++i)
      OCTET_CHECK(!t.shape.dims[i].is_known() || t.shape.dims[i].value == dims[i], what,
                  " has shape ", dims_to_string(dims), "; the input is ", t.shape.to_string(),
                  " (dimension ", i, " differs)");
  }
  return dims;
}

// Whether data of type `d` can feed the input `t` (values are checked when read).
void check_dtype(DType d, const TensorInfo& t, const std::string& file) {
  const std::string what = data_for(file, t);
  if (t.dtype == DType::kUndefined || d == t.dtype) return;
  OCTET_CHECK(dtype_size(d) > 0 && (dtype_is_float(d) || dtype_is_integer(d)),
              what, " is ", dtype_name(d), ", not numbers the input's ", dtype_name(t.dtype), " can take");
  if (dtype_is_float(t.dtype)) return;
  OCTET_CHECK(dtype_is_integer(t.dtype) && dtype_size(t.dtype) > 0, "input '", t.name, "' has type ",
              dtype_name(t.dtype), ", which data cannot feed");
  OCTET_CHECK(!dtype_is_float(d), what, " is ", dtype_name(d), "; the input is ", dtype_name(t.dtype),
              ": save integer data (e.g. array.astype(np.", dtype_name(t.dtype) == "i32" ? "int32" : "int64", "))");
}

// `data` as the input `t` takes it: its type, its rank, its known dimensions beyond axis 0.
HostTensor conform(HostTensor data, const TensorInfo& t, const std::string& file) {
  const std::string what = data_for(file, t);
  data.dims = conform_dims(data.dims, t, file);
  check_dtype(data.dtype, t, file);
  if (t.dtype == DType::kUndefined || data.dtype == t.dtype) return data;
  if (dtype_is_float(t.dtype)) return convert_dtype(data, t.dtype);
  const auto [lo, hi] = integer_range(t.dtype);
  const int64_t n = data.numel();
  for (int64_t i = 0; i < n; ++i) {
    const double v = element_as_double(data, i);
    OCTET_CHECK(v >= lo && v <= hi, what, ": value ", v, " at element ", i, " does not fit the input's ",
                dtype_name(t.dtype));
  }
  return convert_dtype(data, t.dtype);
}

}  // namespace

SampleBatch SampleBatch::slice(int64_t begin, int64_t end) const {
  SampleBatch b;
  for (const HostTensor& t : inputs) {
    b.inputs.push_back(slice_rows(t, begin, end));
    b.inputs.back().name = t.name;
  }
  return b;
}

std::string SampleBatch::shapes() const {
  std::string s;
  for (const HostTensor& t : inputs) s += (s.empty() ? "" : " ") + t.name + dims_to_string(t.dims);
  return s;
}

std::vector<TensorId> fed_inputs(const Graph& g) {
  std::vector<TensorId> ids;
  for (TensorId id : g.inputs)
    if (!g.tensor(id).is_constant()) ids.push_back(id);
  return ids;
}

SampleBatch single_input_batch(const Graph& g, const HostTensor& samples) {
  const std::vector<TensorId> ids = fed_inputs(g);
  OCTET_CHECK(ids.size() == 1, "one array of samples feeds a model with one input; this one has ",
              ids.size(), " (", input_names(g, ids), "): pass a tensor per input");
  SampleBatch b;
  b.inputs.push_back(conform(samples, g.tensor(ids[0]), "the samples"));
  b.inputs.back().name = g.tensor(ids[0]).name;
  return b;
}

SampleStream::SampleStream(const std::vector<std::string>& specs, const Graph& model)
    : inputs_(fed_inputs(model)), model_(&model) {
  OCTET_CHECK(!specs.empty(), "no data given");
  OCTET_CHECK(!inputs_.empty(), "the model has no inputs to feed");
  const std::string names = input_names(model, inputs_);
  for (const std::string& spec : specs) {
    std::error_code ec;
    const size_t eq = spec.find('=');
    if (fs::exists(spec, ec) || eq == std::string::npos) {
      OCTET_CHECK(specs.size() == 1, "--data ", spec, " feeds every input; give it alone, or NAME=FILE "
                  "for each input (", names, ")");
      Source s;
      s.files = list_files(spec, true);
      if (!has_extension(s.files[0], ".npz")) {
        OCTET_CHECK(inputs_.size() == 1, spec, " holds one array, but the model has ", inputs_.size(),
                    " inputs (", names, "): give a .npz with one array per input, or --data NAME=FILE for each");
        s.input = model.tensor(inputs_[0]).name;
      }
      sources_.push_back(std::move(s));
      continue;
    }
    Source s;
    s.input = spec.substr(0, eq);
    auto known = std::find_if(inputs_.begin(), inputs_.end(),
                              [&](TensorId id) { return model.tensor(id).name == s.input; });
    OCTET_CHECK(known != inputs_.end(), "--data ", spec, ": the model has no input '", s.input,
                "' (its inputs: ", names, ")");
    for (const Source& other : sources_)
      OCTET_CHECK(other.input != s.input, "--data gives input '", s.input, "' twice");
    s.files = list_files(spec.substr(eq + 1), false);
    OCTET_CHECK(sources_.empty() || s.files.size() == sources_[0].files.size(), "--data ", spec, ": ",
                s.files.size(), " files, but input '", sources_[0].input, "' has ", sources_[0].files.size(),
                " (the files of all inputs are read side by side)");
    sources_.push_back(std::move(s));
  }
  if (!sources_[0].input.empty()) {
    std::string missing;
    for (TensorId id : inputs_) {
      const std::string& name = model.tensor(id).name;
      if (std::none_of(sources_.begin(), sources_.end(), [&](const Source& s) { return s.input == name; }))
        missing += (missing.empty() ? "" : ", ") + name;
    }
    OCTET_CHECK(missing.empty(), "--data gives no samples for input(s) ", missing, " (give NAME=FILE for each)");
  }
  count_ = sources_[0].files.size();
  // Every batch checked before any work starts, and the total known: .npy files from their
  // headers (their data is read when streamed), a .npz read whole.
  for (size_t i = 0; i < count_; ++i) total_ += sources_[0].input.empty() ? read(i).rows() : check_headers(i);
}

int64_t SampleStream::check_headers(size_t index) const {
  int64_t rows = -1;
  const Source* first = nullptr;
  for (const Source& s : sources_) {
    const std::string& file = s.files[index];
    const NpyInfo info = read_npy_info(file);
    const TensorInfo& t = model_->tensor(model_->require_tensor(s.input));
    const Dims dims = conform_dims(info.dims, t, file);
    check_dtype(info.dtype, t, file);
    if (!first) {
      first = &s;
      rows = dims[0];
    }
    OCTET_CHECK(dims[0] == rows, file, ": ", dims[0], " samples for input '", s.input, "' but ", rows,
                " for '", first->input, "' (", first->files[index], ")");
  }
  return rows;
}

SampleBatch SampleStream::read(size_t index) const {
  SampleBatch b;
  b.inputs.resize(inputs_.size());
  std::vector<std::string> from(inputs_.size());
  for (const Source& s : sources_) {
    const std::string& file = s.files[index];
    if (!s.input.empty()) {
      const size_t k = size_t(std::find_if(inputs_.begin(), inputs_.end(),
                                           [&](TensorId id) { return model_->tensor(id).name == s.input; }) -
                              inputs_.begin());
      b.inputs[k] = load_npy(file);
      from[k] = file;
      continue;
    }
    std::vector<HostTensor> arrays = load_npz(file);
    for (HostTensor& a : arrays) {
      auto it = std::find_if(inputs_.begin(), inputs_.end(),
                             [&](TensorId id) { return model_->tensor(id).name == a.name; });
      OCTET_CHECK(it != inputs_.end(), file, ": array '", a.name, "' matches no model input (inputs: ",
                  input_names(*model_, inputs_), ")");
      const size_t k = size_t(it - inputs_.begin());
      b.inputs[k] = std::move(a);
      from[k] = file;
    }
  }
  for (size_t k = 0; k < inputs_.size(); ++k) {
    const TensorInfo& t = model_->tensor(inputs_[k]);
    OCTET_CHECK(!from[k].empty(), sources_[0].files[index], ": no array for input '", t.name, "'");
    b.inputs[k] = conform(std::move(b.inputs[k]), t, from[k]);
    b.inputs[k].name = t.name;
    OCTET_CHECK(b.inputs[k].dims[0] == b.inputs[0].dims[0], from[k], ": ", b.inputs[k].dims[0],
                " samples for input '", t.name, "' but ", b.inputs[0].dims[0], " for '", b.inputs[0].name,
                "' (", from[0], ")");
  }
  return b;
}

bool SampleStream::next(SampleBatch& out) {
  if (index_ >= count_) return false;
  out = read(index_++);
  return true;
}

SampleBatch load_samples(const std::vector<std::string>& specs, const Graph& model, int64_t limit) {
  SampleStream stream(specs, model);
  SampleBatch all, part;
  while ((limit <= 0 || all.rows() < limit) && stream.next(part)) {
    if (limit > 0 && all.rows() + part.rows() > limit) part = part.slice(0, limit - all.rows());
    if (all.inputs.empty()) {
      all = std::move(part);
      continue;
    }
    for (size_t k = 0; k < all.inputs.size(); ++k) {
      HostTensor& a = all.inputs[k];
      const HostTensor& p = part.inputs[k];
      OCTET_CHECK(std::equal(a.dims.begin() + 1, a.dims.end(), p.dims.begin() + 1, p.dims.end()),
                  "input '", a.name, "': batches of shape ", dims_to_string(a.dims), " and ",
                  dims_to_string(p.dims), " cannot be joined along axis 0");
      a.dims[0] += p.dims[0];
      checked_numel(a.dims);
      a.bytes.insert(a.bytes.end(), p.bytes.begin(), p.bytes.end());
    }
  }
  return all;
}

}  // namespace octet::quant
