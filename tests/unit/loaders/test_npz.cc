// .npz archives as numpy writes them (tests/data/npz/make.py): stored and deflated members,
// zip64 records; damaged archives fail with the file and the member named.
#include <doctest/doctest.h>

#include <cstring>

#include "base/error.h"
#include "base/file_util.h"
#include "loaders/npz.h"
#include "tests/support/test_paths.h"

using namespace octet;

namespace {

void check_two_inputs(const std::vector<HostTensor>& a) {
  REQUIRE(a.size() == 2);
  CHECK(a[0].name == "x");
  CHECK(a[0].dtype == DType::kF32);
  CHECK(a[0].dims == Dims{3, 4});
  for (int i = 0; i < 12; ++i) CHECK(a[0].values<float>()[size_t(i)] == float(i) / 4 - 1);
  CHECK(a[1].name == "ids");
  CHECK(a[1].dtype == DType::kI32);
  CHECK(a[1].dims == Dims{3, 3});
  const std::vector<int32_t> ids{0, 1, 2, 3, 4, 5, 9, 8, 7};
  CHECK(std::equal(ids.begin(), ids.end(), a[1].values<int32_t>().begin()));
}

}  // namespace

TEST_CASE("npz: numpy's stored and deflated archives read back array for array") {
  check_two_inputs(load_npz(octet::test::data_path("npz/two_inputs.npz")));
  check_two_inputs(load_npz(octet::test::data_path("npz/two_inputs_compressed.npz")));
}

TEST_CASE("npz: damaged archives fail with the file and the member named") {
  const std::string path = octet::test::data_path("npz/two_inputs_compressed.npz");
  const std::vector<std::byte> good = read_file_bytes(path);
  // Cut anywhere: never a crash, always an octet::Error naming the source.
  for (size_t cut = 0; cut < good.size(); cut += 7)
    CHECK_THROWS_WITH_AS(parse_npz(good.data(), cut, "cut.npz"), doctest::Contains("cut.npz"), Error);
  // A flipped byte inside the first member's deflated data.
  std::vector<std::byte> bad = good;
  const size_t data_at = 30 + size_t(good[26]) + size_t(good[28]);  // local header, name, extra
  bad[data_at + 10] ^= std::byte{0x5a};
  CHECK_THROWS_WITH_AS(parse_npz(bad.data(), bad.size(), "flip.npz"), doctest::Contains("flip.npz: .npz member 'x.npy'"),
                       Error);
  // Every single-byte change either reads or fails with a message.
  for (size_t i = 0; i < good.size(); ++i) {
    std::vector<std::byte> b = good;
    b[i] ^= std::byte{0xff};
    try {
      parse_npz(b.data(), b.size(), "mut.npz");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("mut.npz") != std::string::npos);
    }
  }
  const char text[] = "not a zip archive at all, just some text of some length";
  CHECK_THROWS_WITH_AS(parse_npz(text, sizeof text, "t.npz"), doctest::Contains("t.npz: not a .npz file"), Error);
}
