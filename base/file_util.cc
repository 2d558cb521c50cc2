#include "base/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/atomic_file.h"
#include "base/error.h"

namespace octet {
namespace {

// An open descriptor of a regular file, closed on scope exit.
class ReadOnlyFile {
 public:
  // O_NONBLOCK: opening a FIFO or a device must not wait for a writer; the type is checked on
  // the descriptor itself, so the file cannot be swapped between the check and the read.
  ReadOnlyFile(const std::string& path, bool follow_final_symlink) : path_(path) {
    const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (follow_final_symlink ? 0 : O_NOFOLLOW);
    fd_ = ::open(path.c_str(), flags);
    if (fd_ < 0) {
      const int err = errno;
      if (err == ELOOP) fail(path, ": is a symbolic link, which is not followed here");
      if (err == ENOENT) fail(path, ": cannot open: no such file");
      fail(path, ": cannot open (", std::strerror(err), ")");
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail(path, ": cannot read its size (", std::strerror(errno), ")");
    if (!S_ISREG(st.st_mode))
      fail(path, ": not a regular file (",
           S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO"
           : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : "a special file",
           ")");
    size_ = static_cast<uint64_t>(st.st_size);
  }
  ~ReadOnlyFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;

  uint64_t size() const { return size_; }

  std::vector<std::byte> read(uint64_t offset, uint64_t length, const std::string& what) const {
    OCTET_CHECK(offset <= size_ && length <= size_ - offset, path_, ": ", what, " needs bytes ",
                offset, "..", offset + length, " but the file has ", size_);
    std::vector<std::byte> bytes(length);
    uint64_t done = 0;
    while (done < length) {
      const ssize_t n = ::pread(fd_, bytes.data() + done, length - done,
                                static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      OCTET_CHECK(n > 0, path_, ": read failed for ", what, " (",
                  n < 0 ? std::strerror(errno) : "the file is shorter than it was", ")");
      done += static_cast<uint64_t>(n);
    }
    return bytes;
  }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace

std::vector<std::byte> read_file_bytes(const std::string& path, size_t max_bytes) {
  ReadOnlyFile file(path, /*follow_final_symlink=*/true);
  OCTET_CHECK(file.size() <= max_bytes, path, ": ", file.size(), " bytes, larger than the limit of ",
              max_bytes, " bytes");
  return file.read(0, file.size(), "the file");
}

std::vector<std::byte> read_file_head(const std::string& path, size_t max_bytes) {
  ReadOnlyFile file(path, /*follow_final_symlink=*/true);
  return file.read(0, std::min<uint64_t>(file.size(), max_bytes), "the file's header");
}

std::vector<std::byte> read_file_range(const std::string& path, uint64_t offset, uint64_t length,
                                       const std::string& what) {
  return ReadOnlyFile(path, /*follow_final_symlink=*/true).read(offset, length, what);
}

std::string resolve_inside(const std::string& folder, const std::string& relative,
                           const std::string& what) {
  namespace fs = std::filesystem;
  const fs::path rel(relative);
  OCTET_CHECK(!relative.empty() && rel.is_relative(), what, ": location '", relative,
              "' must be relative to the model's folder");
  for (const auto& part : rel)
    OCTET_CHECK(part != "..", what, ": location '", relative, "' leaves the model's folder");
  std::error_code ec;
  const fs::path root = fs::canonical(folder, ec);
  OCTET_CHECK(!ec, folder, ": cannot resolve the model's folder (", ec.message(), ")");
  const fs::path target = fs::canonical(root / rel, ec);
  OCTET_CHECK(!ec, what, ": '", (fs::path(folder) / rel).string(), "': ", ec.message());
  // Symbolic links are resolved: the file they lead to must still be inside the folder.
  auto r = root.begin();
  auto t = target.begin();
  for (; r != root.end(); ++r, ++t)
    OCTET_CHECK(t != target.end() && *r == *t, what, ": location '", relative, "' resolves to '",
                target.string(), "', outside the model's folder '", root.string(), "'");
  return target.string();
}

std::vector<std::byte> read_file_range_inside(const std::string& folder,
                                              const std::string& relative, uint64_t offset,
                                              uint64_t length, const std::string& what) {
  const std::string path = resolve_inside(folder, relative, what);
  // The resolved path has no links left; O_NOFOLLOW refuses one put there since.
  return ReadOnlyFile(path, /*follow_final_symlink=*/false).read(offset, length, what);
}

std::string parent_directory(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

void write_file_bytes(const std::string& path, const void* data, size_t size) {
  write_file_atomically(path, data, size);
}

}  // namespace octet
