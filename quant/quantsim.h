// QuantSim: quantizers placed on a model as a target runtime would quantize it, driven by an
// AIMET quantsim config (quant/quantsim_config.h), their encodings computed from calibration
// data, and the model annotated for `qdq` execution and export.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/host_tensor.h"
#include "quant/encoding.h"
#include "quant/data_stream.h"
#include "quant/observers.h"
#include "quant/quantsim_config.h"

namespace octet::quant {

enum class QuantizerRole { kModelInput, kActivation, kParam };

struct Quantizer {
  std::string tensor{};  // tensor name in QuantSim::model(), the exported ONNX name
  QuantizerRole role = QuantizerRole::kActivation;
  std::string op_type{};  // producing op (activations) or consuming op (params)
  std::string param{};    // "weight" or "bias" for params
  bool enabled = true;
  int bitwidth = 8;
  EncodingKind kind = EncodingKind::kAsymmetric;
  int axis = -1;        // per-channel axis of a param (per-block: the reduction axis); -1 per-tensor
  int block_size = 0;   // > 0: per-block along `axis` (TensorEncoding's blocked layout)
  std::optional<TensorEncoding> encoding{};
  bool frozen = false;  // encoding fixed (set by hand, imported, AdaRound): calibration keeps it
  // The config's fixed ends of an activation's range (encoding_constraints): calibration keeps
  // them and measures the others.
  std::optional<EncodingConstraints> range_constraints{};
  // The config's supported_kernels for op_type (its own list, else the defaults'); empty when
  // the config gives none. For mixed precision and kernel_support_warnings().
  std::vector<SupportedKernel> supported_kernels{};
};

struct QuantSimOptions {
  std::optional<int> param_bitwidth;  // default 8; overrides nothing in the config (it has no bitwidths)
  std::optional<int> act_bitwidth;    // default 8
  std::optional<bool> per_channel;    // overrides the config's per_channel_quantization
  bool fold_batch_norms = true;       // fold BN into Conv/Gemm before placing quantizers
  // > 0: Conv / Gemm / MatMul weights get one encoding per output channel and block of this
  // many indices along the reduction axis (input channels); their ranges are min/max.
  int block_size = 0;
  // Per-tensor choices applied after placement (AIMET's qc_quantize_op_dict[name] edits): the
  // bitwidth of a tensor's quantizer, or no quantizer at all (the tensor stays float). A name
  // that has no quantizer is an error naming it.
  std::map<std::string, int> tensor_bitwidths;
  std::set<std::string> float_tensors;
};

struct CalibrationOptions {
  ObserverOptions observer;  // range scheme for activations and params
  int64_t batch_size = 32;   // used when the model's batch dimension is symbolic
  int threads = 1;
  // Called after each batch with (samples done, samples total); may be empty.
  std::function<void(int64_t, int64_t)> progress;
};

class QuantSim {
 public:
  QuantSim(std::shared_ptr<const Graph> model, const QuantsimConfig& config,
           const QuantSimOptions& options = {});

  // The float graph the quantizers refer to (BN folded, identities removed): export this.
  const Graph& model() const { return *model_; }
  std::shared_ptr<const Graph> model_ptr() const { return model_; }
  // For passes that change parameters in place (bias correction): replace constants with new
  // Buffers, never write into existing ones; quantizers keep referring to tensors by name.
  Graph& mutable_model() { return *model_; }
  std::vector<Quantizer>& quantizers() { return quantizers_; }
  const std::vector<Quantizer>& quantizers() const { return quantizers_; }
  // What placement could not do as asked (e.g. a weight not divisible into blocks).
  const std::vector<std::string>& notes() const { return notes_; }
  Quantizer* find(const std::string& tensor);
  Quantizer& at(const std::string& tensor);  // throws octet::Error when absent

  // Parameter encodings from the weights (skips frozen ones).
  void compute_param_encodings(const ObserverOptions& observer);
  // Param encodings, then activation encodings from the data, streamed batch by batch: data
  // specs as quant/data_stream.h reads them (a .npy, a .npz with an array per input, a folder,
  // or NAME=FILE per input).
  void calibrate(const std::string& data_spec, const CalibrationOptions& options);
  void calibrate(const std::vector<std::string>& data_specs, const CalibrationOptions& options);
  // Same, from samples already in memory (axis 0): one tensor for a one-input model, or a
  // tensor per input.
  void calibrate(const HostTensor& samples, const CalibrationOptions& options);
  void calibrate(const SampleBatch& samples, const CalibrationOptions& options);

  // A copy of model() whose tensors carry the encodings of enabled quantizers (QuantParams);
  // this is what a quantized .octet file stores.
  std::shared_ptr<Graph> annotated_model() const;

 private:
  void place(const QuantsimConfig& config, const QuantSimOptions& options);
  void apply_tensor_choices(const QuantSimOptions& options);
  void calibrate_batches(const std::function<bool(SampleBatch&)>& next, int64_t total,
                         const CalibrationOptions& options);

  std::shared_ptr<Graph> model_;
  std::vector<Quantizer> quantizers_;
  std::vector<std::string> notes_;
};

// The encoding kind from the config's symmetry flags.
EncodingKind encoding_kind(bool symmetric, bool strict_symmetric, bool unsigned_symmetric);

// QuantParams (what a Graph/.octet stores) <-> TensorEncoding (AIMET's view).
QuantParams to_quant_params(const TensorEncoding& te);
TensorEncoding from_quant_params(const QuantParams& q, const std::string& what);

}  // namespace octet::quant
