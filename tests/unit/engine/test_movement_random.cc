// Data movement ops: optimized kernels against the reference ones on random shapes,
// permutations, axes and element types.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "kernels/cast.h"
#include "kernels/strided_copy.h"
#include "tests/support/op_test_util.h"

using namespace octet;
using test::OpCase;

namespace {

HostTensor i64(const std::string& name, std::vector<int64_t> v) {
  return HostTensor::from<int64_t>(name, {static_cast<int64_t>(v.size())}, v);
}

// A tensor of random bytes of the given type and shape.
HostTensor random_tensor(const std::string& name, DType t, const Dims& dims, std::mt19937& rng) {
  HostTensor h;
  h.name = name;
  h.dtype = t;
  h.dims = dims;
  h.bytes.resize(dtype_storage_bytes(t, checked_numel(dims)));
  for (auto& b : h.bytes) b = static_cast<std::byte>(rng() & 0xff);
  if (t == DType::kBool)
    for (auto& b : h.bytes) b = static_cast<std::byte>(static_cast<int>(b) & 1);
  return h;
}

Dims random_dims(std::mt19937& rng, int rank, int64_t max_dim) {
  Dims d(rank);
  for (auto& x : d) x = 1 + static_cast<int64_t>(rng() % max_dim);
  return d;
}

const DType kTypes[] = {DType::kU8, DType::kF16, DType::kF32, DType::kI64, DType::kBool};

void compare_ref_opt(const OpCase& c, int threads) {
  auto ref = test::run_op(c, true);
  auto opt = test::run_op(c, false, threads);
  REQUIRE(ref.size() == opt.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    REQUIRE(ref[i].dims == opt[i].dims);
    REQUIRE(ref[i].bytes == opt[i].bytes);
  }
}

}  // namespace

TEST_CASE("movement random: strided copy kernel, optimized vs reference") {
  std::mt19937 rng(7);
  for (int iter = 0; iter < 200; ++iter) {
    const int rank = 1 + static_cast<int>(rng() % 5);
    kernels::StridedCopy c;
    c.dims = random_dims(rng, rank, iter % 10 == 0 ? 40 : 7);
    // Source: a dense tensor of the same dims under a random permutation, with random
    // negative steps (walking from the far end).
    std::vector<int64_t> perm(rank);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    Dims src_dims(rank);
    for (int k = 0; k < rank; ++k) src_dims[perm[k]] = c.dims[k];
    auto src_strides = kernels::dense_strides(src_dims);
    int64_t offset = 0;
    c.src_strides.resize(rank);
    for (int k = 0; k < rank; ++k) {
      int64_t s = src_strides[perm[k]];
      if (rng() % 4 == 0) {
        offset += (c.dims[k] - 1) * s;
        s = -s;
      }
      c.src_strides[k] = s;
    }
    c.dst_strides = kernels::dense_strides(c.dims);
    const size_t elem = size_t(1) << (rng() % 5);  // 1..16 bytes
    const int64_t n = checked_numel(c.dims);
    std::vector<unsigned char> src(n * elem), a(n * elem, 0), b(n * elem, 1);
    for (auto& x : src) x = static_cast<unsigned char>(rng());
    kernels::strided_copy_reference(src.data() + offset * elem, a.data(), elem, c);
    kernels::strided_copy(src.data() + offset * elem, b.data(), elem, c, 1 + iter % 3);
    INFO("iter " << iter << " dims " << dims_to_string(c.dims) << " elem " << elem);
    REQUIRE(a == b);
  }
}

TEST_CASE("movement random: NCHW <-> NHWC transposes, blocked and threaded") {
  std::mt19937 rng(11);
  for (DType t : {DType::kF32, DType::kU8, DType::kF16, DType::kF64}) {
    for (auto perm : {std::vector<int64_t>{0, 2, 3, 1}, std::vector<int64_t>{0, 3, 1, 2}}) {
      OpCase c{.op = "Transpose", .inputs = {random_tensor("x", t, {2, 37, 19, 23}, rng)}};
      c.attrs.set("perm", perm);
      compare_ref_opt(c, 2);
      compare_ref_opt(c, 1);
    }
  }
}

TEST_CASE("movement random: Transpose with random perms and types") {
  std::mt19937 rng(3);
  for (int iter = 0; iter < 40; ++iter) {
    const int rank = 1 + static_cast<int>(rng() % 5);
    std::vector<int64_t> perm(rank);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    OpCase c{.op = "Transpose",
             .inputs = {random_tensor("x", kTypes[iter % 5], random_dims(rng, rank, 6), rng)}};
    c.attrs.set("perm", perm);
    compare_ref_opt(c, 1 + iter % 2);
  }
}

TEST_CASE("movement random: Slice with random starts, ends and steps") {
  std::mt19937 rng(5);
  for (int iter = 0; iter < 40; ++iter) {
    const int rank = 1 + static_cast<int>(rng() % 4);
    Dims dims = random_dims(rng, rank, 8);
    std::vector<int64_t> starts, ends, axes, steps;
    for (int k = 0; k < rank; ++k) {
      if (rng() % 3 == 0) continue;
      axes.push_back(rng() % 2 ? k : k - rank);
      starts.push_back(static_cast<int64_t>(rng() % 21) - 10);
      ends.push_back(static_cast<int64_t>(rng() % 21) - 10);
      int64_t s = 1 + static_cast<int64_t>(rng() % 3);
      steps.push_back(rng() % 2 ? s : -s);
    }
    OpCase c{.op = "Slice",
             .inputs = {random_tensor("x", kTypes[iter % 5], dims, rng), i64("s", starts),
                        i64("e", ends), i64("a", axes), i64("st", steps)},
             .constant = {false, true, true, true, true}};
    compare_ref_opt(c, 2);
  }
}

TEST_CASE("movement random: Concat, Split and Gather on random axes") {
  std::mt19937 rng(9);
  for (int iter = 0; iter < 30; ++iter) {
    const int rank = 1 + static_cast<int>(rng() % 4);
    Dims dims = random_dims(rng, rank, 6);
    const int64_t axis = static_cast<int64_t>(rng() % rank);
    const DType t = kTypes[iter % 5];
    OpCase c{.op = "Concat"};
    c.attrs.set("axis", rng() % 2 ? axis : axis - rank);
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < n; ++i) {
      Dims d = dims;
      d[axis] = static_cast<int64_t>(rng() % 4);
      c.inputs.push_back(random_tensor("x" + std::to_string(i), t, d, rng));
    }
    compare_ref_opt(c, 2);

    std::vector<int64_t> split(n);
    for (auto& s : split) s = static_cast<int64_t>(rng() % 4);
    Dims sd = dims;
    sd[axis] = std::accumulate(split.begin(), split.end(), int64_t(0));
    OpCase s{.op = "Split",
             .inputs = {random_tensor("x", t, sd, rng), i64("split", split)},
             .constant = {false, true},
             .num_outputs = n};
    s.attrs.set("axis", axis);
    compare_ref_opt(s, 2);

    std::vector<int64_t> idx(1 + rng() % 5);
    for (auto& v : idx) v = static_cast<int64_t>(rng() % (2 * dims[axis])) - dims[axis];
    OpCase g{.op = "Gather",
             .inputs = {random_tensor("d", t, dims, rng),
                        HostTensor::from<int64_t>("i", {static_cast<int64_t>(idx.size())}, idx)}};
    g.attrs.set("axis", axis);
    compare_ref_opt(g, 2);
  }
}

TEST_CASE("movement random: Pad in every mode, Tile and Expand") {
  std::mt19937 rng(13);
  const char* modes[] = {"constant", "reflect", "edge", "wrap"};
  for (int iter = 0; iter < 40; ++iter) {
    const int rank = 1 + static_cast<int>(rng() % 4);
    Dims dims = random_dims(rng, rank, 6);
    std::vector<int64_t> pads(2 * rank);
    for (int k = 0; k < 2 * rank; ++k) {
      int64_t dim = dims[k % rank];
      pads[k] = static_cast<int64_t>(rng() % 7) - std::min<int64_t>(dim / 2, 2);
    }
    const DType t = kTypes[iter % 5];
    OpCase c{.op = "Pad",
             .inputs = {random_tensor("x", t, dims, rng), i64("p", pads),
                        random_tensor("v", t, {}, rng)},
             .constant = {false, true, false}};
    c.attrs.set("mode", std::string(modes[iter % 4]));
    compare_ref_opt(c, 2);

    std::vector<int64_t> reps(rank);
    for (auto& r : reps) r = static_cast<int64_t>(rng() % 3);
    OpCase tile{.op = "Tile", .inputs = {random_tensor("x", t, dims, rng), i64("r", reps)},
                .constant = {false, true}};
    compare_ref_opt(tile, 2);

    Dims ed = dims;
    for (auto& d : ed)
      if (rng() % 2) d = 1;
    std::vector<int64_t> shape(dims.begin(), dims.end());
    if (rng() % 2) shape.insert(shape.begin(), 3);
    OpCase e{.op = "Expand", .inputs = {random_tensor("x", t, ed, rng), i64("s", shape)},
             .constant = {false, true}};
    compare_ref_opt(e, 2);
  }
  // Large enough to take the threaded path.
  OpCase big{.op = "Pad", .inputs = {random_tensor("x", DType::kF32, {3, 64, 130}, rng),
                                     i64("p", {0, 1, 2, 0, 3, 1})},
             .constant = {false, true}};
  big.attrs.set("mode", std::string("reflect"));
  compare_ref_opt(big, 2);
}

TEST_CASE("movement random: Cast between all types, optimized vs reference") {
  std::mt19937 rng(17);
  const DType all[] = {DType::kF32, DType::kF64, DType::kF16, DType::kI8,  DType::kU8,
                       DType::kI16, DType::kU16, DType::kI32, DType::kU32, DType::kI64,
                       DType::kU64, DType::kBool};
  const int64_t n = 20000;  // above the threading chunk
  for (DType from : all) {
    // Floats from a range that stays inside every integer type would hide the wrapping;
    // use values in [-1e3, 1e3] plus specials.
    HostTensor src;
    src.dtype = from;
    src.dims = {n};
    src.bytes.resize(dtype_size(from) * n);
    std::vector<float> f = test::random_floats(n, rng(), -1000.f, 1000.f);
    f[0] = 0.f;
    f[1] = -0.f;
    kernels::cast_reference(f.data(), DType::kF32, src.bytes.data(), from, n);
    for (DType to : all) {
      std::vector<std::byte> a(dtype_size(to) * n), b(dtype_size(to) * n);
      kernels::cast_reference(src.bytes.data(), from, a.data(), to, n);
      kernels::cast(src.bytes.data(), from, b.data(), to, n, 2);
      INFO(dtype_name(from) << " -> " << dtype_name(to));
      REQUIRE(a == b);
    }
  }
  // f16 round trip of every half value (NaNs stay NaN).
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = kernels::half_to_float(static_cast<uint16_t>(h));
    uint16_t back = kernels::float_to_half(f);
    if (std::isnan(f)) REQUIRE((back & 0x7fff) > 0x7c00);
    else REQUIRE(back == h);
  }
  // Halfway cases round to even; overflow goes to infinity.
  CHECK(kernels::float_to_half(1.f + 1.f / 2048) == 0x3c00);
  CHECK(kernels::float_to_half(1.f + 3.f / 2048) == 0x3c02);
  CHECK(kernels::float_to_half(65520.f) == 0x7c00);
  CHECK(kernels::float_to_half(65519.f) == 0x7bff);
  CHECK(kernels::float_to_half(5.9604645e-8f) == 0x0001);  // smallest subnormal
  CHECK(kernels::float_to_half(2.9802322e-8f) == 0x0000);  // half of it: ties to even
}
