// Every writer replaces its file whole or not at all (base/atomic_file.h), and never follows a
// link planted where a temporary file might go (issue 29, findings 2 and 3).
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/atomic_file.h"
#include "base/error.h"
#include "loaders/model_loader.h"
#include "loaders/npy.h"
#include "loaders/octet_format.h"
#include "tests/support/test_paths.h"

using namespace octet;
namespace fs = std::filesystem;

namespace {

struct Dir {
  fs::path path = fs::temp_directory_path() / ("octet_atomic_" + std::to_string(::getpid()));
  Dir() { fs::create_directories(path); }
  ~Dir() { fs::remove_all(path); }
  std::string file(const std::string& n) const { return (path / n).string(); }
};

std::string text_of(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void put(const std::string& p, const std::string& text) { std::ofstream(p) << text; }

}  // namespace

TEST_CASE("atomic writes: a file appears whole or not at all, and no temporary file stays") {
  Dir d;
  const std::string target = d.file("out.bin");
  put(target, "old contents");
  {
    AtomicFile f(target);
    f.write("new", 3);
    CHECK(text_of(target) == "old contents");  // nothing visible before commit
  }  // not committed: abandoned
  CHECK(text_of(target) == "old contents");
  write_file_atomically(target, "new contents", 12);
  CHECK(text_of(target) == "new contents");
  int entries = 0;
  for (const auto& e : fs::directory_iterator(d.path)) entries += e.path().filename() != "out.bin";
  CHECK(entries == 0);
  CHECK_THROWS_WITH_AS(write_file_atomically(d.file("no/such/folder/x.bin"), "x", 1),
                       doctest::Contains("x.bin: cannot create a temporary file beside it"), Error);
  CHECK_THROWS_WITH_AS(write_file_atomically(d.path.string(), "x", 1), doctest::Contains("is a folder"), Error);
}

TEST_CASE("atomic writes: .octet no longer writes through a link planted at OUT.tmp") {
  Dir d;
  const std::string victim = d.file("victim.txt"), out = d.file("model.octet");
  put(victim, "precious");
  fs::create_symlink(victim, out + ".tmp");
  const auto g = load_model(octet::test::data_path("mnist_resnet.onnx"));
  save_octet(*g, out);
  CHECK(text_of(victim) == "precious");
  CHECK(load_model(out)->nodes.size() == g->nodes.size());
  // Converting a file named like the old temporary name onto its target keeps the input.
  const std::string tmp_named = d.file("m2.octet.tmp"), target = d.file("m2.octet");
  save_octet(*g, tmp_named);
  save_octet(*load_model(tmp_named), target);
  CHECK(load_model(tmp_named)->nodes.size() == g->nodes.size());
}
