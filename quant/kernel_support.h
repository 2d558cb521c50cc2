// Checks the bitwidths QuantSim chose against the supported_kernels of the quantsim config
// (AIMET's meaning: the (activation, param) bitwidth/dtype pairs a target has kernels for).
#pragma once
#include <string>
#include <vector>

#include "quant/quantsim.h"

namespace octet::quant {

// One line per op type whose enabled quantizers use bitwidths none of its supported kernels
// has (activations: the producer's list; params: the consuming op's list, with the bitwidth of
// that op's output quantizer when it has one, else of the first activation bitwidth found).
// Empty when everything is supported or the config lists no kernels.
std::vector<std::string> kernel_support_warnings(const QuantSim& sim);

}  // namespace octet::quant
