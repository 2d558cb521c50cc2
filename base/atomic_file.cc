#include "base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "base/error.h"

namespace octet {
namespace {

// The permissions a plain create would give: 0666 less the process's umask.
mode_t default_file_mode() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  OCTET_CHECK(!path_.empty(), "cannot write a file with an empty name");
  std::error_code ec;
  OCTET_CHECK(!std::filesystem::is_directory(path_, ec), path_, ": is a folder, not a file to write");
  // A read-only destination stays read-only: rename would replace it regardless.
  if (std::filesystem::exists(path_, ec) && ::access(path_.c_str(), W_OK) != 0)
    fail(path_, ": cannot write (", std::strerror(errno), "); it is left as it was");
  std::vector<char> name(path_.begin(), path_.end());
  const std::string suffix = ".tmp-XXXXXX";
  name.insert(name.end(), suffix.begin(), suffix.end());
  name.push_back('\0');
  fd_ = ::mkostemp(name.data(), O_CLOEXEC);  // O_CREAT | O_EXCL: never an existing file or link
  if (fd_ < 0) fail(path_, ": cannot create a temporary file beside it (", std::strerror(errno), ")");
  temp_ = name.data();
  ::fchmod(fd_, default_file_mode());
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

void AtomicFile::write(const void* data, size_t size) {
  OCTET_CHECK(fd_ >= 0, path_, ": written after it was committed");
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(path_, ": write failed (", std::strerror(n < 0 ? errno : ENOSPC), "); it is left as it was");
    p += n;
    size -= size_t(n);
  }
}

void AtomicFile::commit() {
  OCTET_CHECK(fd_ >= 0, path_, ": committed twice");
  if (::fsync(fd_) != 0) fail(path_, ": cannot flush to disk (", std::strerror(errno), "); it is left as it was");
  const int closed = ::close(fd_);
  fd_ = -1;
  if (closed != 0) fail(path_, ": write failed (", std::strerror(errno), "); it is left as it was");
  if (std::rename(temp_.c_str(), path_.c_str()) != 0)
    fail(path_, ": cannot replace it (", std::strerror(errno), "); it is left as it was");
  temp_.clear();
}

void write_file_atomically(const std::string& path, const void* data, size_t size) {
  AtomicFile f(path);
  f.write(data, size);
  f.commit();
}

}  // namespace octet
