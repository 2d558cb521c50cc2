// Every file octet writes goes through AtomicFile: a new version of a file appears whole or not
// at all. The bytes go to a new temporary file in the destination's folder, created with
// O_EXCL (a link or file planted at that name is never followed or overwritten), are flushed
// to disk, and the temporary file is renamed over the destination. A failure (full disk, a
// kill, an error while producing the bytes) leaves the destination as it was and removes the
// temporary file. Errors name the destination and the system's reason.
#pragma once
#include <cstddef>
#include <string>

namespace octet {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();  // not committed: the temporary file is removed

  void write(const void* data, size_t size);
  // Flushes to disk and renames over the destination; the object is spent afterwards.
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_, temp_;
  int fd_ = -1;
};

// A whole file's bytes through AtomicFile.
void write_file_atomically(const std::string& path, const void* data, size_t size);

}  // namespace octet
