// Float ONNX-style graphs built in memory with random (deterministic) weights, for end-to-end
// timing: MobileNetV2 1.0 and ResNet-18 as published (torchvision layouts), any resolution.
// Weights follow He-style normal initialization, and every Conv is followed by a
// BatchNormalization with random gamma/beta/mean/var (folded by the passes), scaled so that the
// activations keep a sane range through the depth (a few units, no explosion at the residual
// Adds). The graphs carry shapes only on inputs and outputs (as an ONNX file without
// value_info would); Session infers the rest.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "engine/graph.h"

namespace octet::bench {

struct ZooOptions {
  int64_t resolution = 224;    // input H = W
  int64_t num_classes = 1000;
  int64_t batch = 1;           // fixed batch (ignored when symbolic_batch)
  bool symbolic_batch = false; // input [N,3,H,W] with N symbolic
  uint32_t seed = 1;
  int64_t opset = 13;
};

// MobileNetV2 1.0: Conv3x3/2(32)-BN-ReLU6; 17 inverted residual blocks (t,c,n,s) = (1,16,1,1),
// (6,24,2,2), (6,32,3,2), (6,64,4,2), (6,96,3,1), (6,160,3,2), (6,320,1,1) with depthwise 3x3
// and a residual Add where stride 1 and channels match; Conv1x1(1280)-BN-ReLU6;
// GlobalAveragePool; Flatten; Gemm(num_classes). Input "input", output "logits".
std::shared_ptr<Graph> build_mobilenet_v2(const ZooOptions& options = {});

// ResNet-18: Conv7x7/2(64)-BN-Relu, MaxPool3x3/2; 4 stages of 2 BasicBlocks (64, 128, 256,
// 512; stride 2 and a 1x1 projection at the first block of stages 2-4); GlobalAveragePool;
// Flatten; Gemm(num_classes). Input "input", output "logits".
std::shared_ptr<Graph> build_resnet18(const ZooOptions& options = {});

// Counts the nodes of `g` whose op_type is `op`.
int count_nodes(const Graph& g, const std::string& op);

}  // namespace octet::bench
