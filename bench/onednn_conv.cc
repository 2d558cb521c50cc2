#include "bench/onednn_conv.h"

namespace octet::bench {

OneDnnConv::OneDnnConv(const ConvShape& s, int64_t OH, int64_t OW, const OneDnnConvTypes& types,
                       const dnnl::primitive_attr& attr, void* x, void* w, void* b, void* y) {
  using namespace dnnl;
  using tag = memory::format_tag;
  const memory::dims src_dims{1, s.C, s.H, s.W}, dst_dims{1, s.M, OH, OW};
  const memory::dims w_dims = s.group > 1
                                  ? memory::dims{s.group, s.M / s.group, s.C / s.group, s.k, s.k}
                                  : memory::dims{s.M, s.C, s.k, s.k};
  const auto src_md = memory::desc(src_dims, types.src, tag::nhwc);
  const auto dst_md = memory::desc(dst_dims, types.dst, tag::nhwc);
  const auto w_any = memory::desc(w_dims, types.weights, tag::any);
  const auto b_md = memory::desc({s.M}, types.bias, tag::x);
  convolution_forward::desc desc(prop_kind::forward_inference, algorithm::convolution_direct,
                                 src_md, w_any, b_md, dst_md, {s.stride, s.stride}, {0, 0},
                                 {s.pad, s.pad}, {s.pad, s.pad});
  convolution_forward::primitive_desc pd(desc, attr, eng_);
  memory src(src_md, eng_, x), dst(dst_md, eng_, y), bias(b_md, eng_, b);
  memory w_user(memory::desc(w_dims, types.weights, s.group > 1 ? tag::goihw : tag::oihw), eng_,
                w);
  memory wp(pd.weights_desc(), eng_);
  reorder(w_user, wp).execute(strm_, w_user, wp);  // weight reorder: not timed
  strm_.wait();
  conv_ = convolution_forward(pd);
  args_ = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wp}, {DNNL_ARG_BIAS, bias},
           {DNNL_ARG_DST, dst}};
  impl_ = pd.impl_info_str();
}

}  // namespace octet::bench
