// oneDNN's direct convolution on one benchmark shape (batch 1, nhwc source and destination,
// weights reordered once into the primitive's own layout), the reference the conv benchmarks
// compare octet against.
#pragma once
#include <string>
#include <unordered_map>

#include "bench/conv_shapes.h"
#include "dnnl.hpp"

namespace octet::bench {

struct OneDnnConvTypes {
  dnnl::memory::data_type src, weights, bias, dst;
};

class OneDnnConv {
 public:
  // x: C*H*W source values (nhwc), w: ONNX-layout weights [M][C/group][k][k], b: M bias
  // values, y: M*OH*OW destination values (nhwc); all must outlive this object.
  OneDnnConv(const ConvShape& s, int64_t OH, int64_t OW, const OneDnnConvTypes& types,
             const dnnl::primitive_attr& attr, void* x, void* w, void* b, void* y);
  void run() {
    conv_.execute(strm_, args_);
    strm_.wait();
  }
  const std::string& impl() const { return impl_; }

 private:
  dnnl::engine eng_{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm_{eng_};
  dnnl::convolution_forward conv_;
  std::unordered_map<int, dnnl::memory> args_;
  std::string impl_;
};

}  // namespace octet::bench
