#include "loaders/npz.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "base/error.h"
#include "loaders/mapped_file.h"
#include "loaders/npy.h"

namespace octet {
namespace {

// Zip record signatures and sizes (PKWARE APPNOTE 6.3).
constexpr uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50,
                   kEndOfCentral = 0x06054b50, kZip64EndOfCentral = 0x06064b50,
                   kZip64Locator = 0x07064b50;
constexpr size_t kLocalHeaderBytes = 30, kCentralHeaderBytes = 46, kEndOfCentralBytes = 22;
constexpr size_t kMaxMembers = 4096;
constexpr uint16_t kStored = 0, kDeflated = 8;

class Reader {
 public:
  Reader(const unsigned char* data, size_t size, const std::string& source)
      : p_(data), size_(size), source_(source) {}
  uint16_t u16(size_t at) const { return uint16_t(byte(at) | byte(at + 1) << 8); }
  uint32_t u32(size_t at) const { return uint32_t(u16(at)) | uint32_t(u16(at + 2)) << 16; }
  uint64_t u64(size_t at) const { return uint64_t(u32(at)) | uint64_t(u32(at + 4)) << 32; }
  void need(size_t at, size_t n, const char* what) const {
    OCTET_CHECK(at <= size_ && n <= size_ - at, source_, ": .npz ", what, " at byte ", at,
                " runs past the end of the file (", size_, " bytes)");
  }
  const unsigned char* at(size_t offset) const { return p_ + offset; }
  size_t size() const { return size_; }

 private:
  unsigned byte(size_t at) const {
    OCTET_CHECK(at < size_, source_, ": .npz record at byte ", at, " runs past the end of the file");
    return p_[at];
  }
  const unsigned char* p_;
  size_t size_;
  const std::string& source_;
};

struct Member {
  std::string name;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0, uncompressed = 0, local_offset = 0;
};

// The zip64 extended-information extra field replaces the 32-bit fields that are 0xFFFFFFFF,
// in the order uncompressed size, compressed size, local header offset.
void apply_zip64_extra(const Reader& r, size_t extra, size_t extra_len, Member& m,
                       const std::string& source) {
  size_t pos = extra;
  while (pos + 4 <= extra + extra_len) {
    const uint16_t id = r.u16(pos), len = r.u16(pos + 2);
    OCTET_CHECK(pos + 4 + len <= extra + extra_len, source, ": .npz member '", m.name,
                "': an extra field runs past its record");
    if (id == 0x0001) {
      size_t f = pos + 4;
      auto take = [&](uint64_t& v) {
        if (v != 0xFFFFFFFFu) return;
        OCTET_CHECK(f + 8 <= pos + 4 + len, source, ": .npz member '", m.name,
                    "': zip64 field too short");
        v = r.u64(f);
        f += 8;
      };
      take(m.uncompressed);
      take(m.compressed);
      take(m.local_offset);
    }
    pos += 4 + len;
  }
}

std::vector<std::byte> inflate_member(const unsigned char* src, uint64_t compressed,
                                      uint64_t uncompressed, const std::string& what) {
  std::vector<std::byte> out(uncompressed);
  z_stream z{};
  OCTET_CHECK(inflateInit2(&z, -MAX_WBITS) == Z_OK, what, ": cannot start inflating");
  uint64_t in_left = compressed, out_done = 0;
  const unsigned char* in = src;
  int rc = Z_OK;
  while (true) {  // in chunks: zlib counts in 32 bits
    const uInt in_chunk = uInt(std::min<uint64_t>(in_left, 1u << 30));
    const uInt out_chunk = uInt(std::min<uint64_t>(uncompressed - out_done, 1u << 30));
    z.next_in = const_cast<Bytef*>(in);
    z.avail_in = in_chunk;
    z.next_out = reinterpret_cast<Bytef*>(out.data()) + out_done;
    z.avail_out = out_chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    const uInt consumed = in_chunk - z.avail_in, produced = out_chunk - z.avail_out;
    in += consumed;
    in_left -= consumed;
    out_done += produced;
    if (rc != Z_OK || (consumed == 0 && produced == 0)) break;
  }
  inflateEnd(&z);
  OCTET_CHECK(rc == Z_STREAM_END && out_done == uncompressed, what,
              ": the deflated data is corrupt or its size disagrees with the directory (",
              out_done, " of ", uncompressed, " bytes)");
  return out;
}

}  // namespace

std::vector<HostTensor> parse_npz(const void* data, size_t size, const std::string& source) {
  const Reader r(static_cast<const unsigned char*>(data), size, source);
  OCTET_CHECK(size >= kEndOfCentralBytes, source, ": not a .npz file (too short for a zip)");
  // The end-of-central-directory record: the last one, before a comment of up to 64 KiB.
  size_t eocd = size - kEndOfCentralBytes;
  const size_t lowest = size > kEndOfCentralBytes + 65535 ? size - kEndOfCentralBytes - 65535 : 0;
  while (r.u32(eocd) != kEndOfCentral) {
    OCTET_CHECK(eocd > lowest, source, ": not a .npz file (no zip directory)");
    --eocd;
  }
  uint64_t count = r.u16(eocd + 10), dir_size = r.u32(eocd + 12), dir_offset = r.u32(eocd + 16);
  if (eocd >= 20 && r.u32(eocd - 20) == kZip64Locator) {
    const uint64_t z64 = r.u64(eocd - 20 + 8);
    r.need(z64, 56, "zip64 directory end");
    OCTET_CHECK(r.u32(z64) == kZip64EndOfCentral, source, ": .npz zip64 directory end is corrupt");
    count = r.u64(z64 + 32);
    dir_size = r.u64(z64 + 40);
    dir_offset = r.u64(z64 + 48);
  }
  OCTET_CHECK(count > 0, source, ": the .npz archive holds no arrays");
  OCTET_CHECK(count <= kMaxMembers, source, ": the .npz archive lists ", count,
              " members, more than the limit of ", kMaxMembers);
  r.need(dir_offset, dir_size, "directory");

  std::vector<HostTensor> arrays;
  std::set<std::string> names;
  size_t pos = dir_offset;
  for (uint64_t i = 0; i < count; ++i) {
    r.need(pos, kCentralHeaderBytes, "directory entry");
    OCTET_CHECK(r.u32(pos) == kCentralHeader, source, ": .npz directory entry ", i, " is corrupt");
    Member m;
    m.method = r.u16(pos + 10);
    m.crc = r.u32(pos + 16);
    const uint16_t flags = r.u16(pos + 8);
    m.compressed = r.u32(pos + 20);
    m.uncompressed = r.u32(pos + 24);
    const size_t name_len = r.u16(pos + 28), extra_len = r.u16(pos + 30), comment_len = r.u16(pos + 32);
    m.local_offset = r.u32(pos + 42);
    r.need(pos + kCentralHeaderBytes, name_len + extra_len + comment_len, "directory entry");
    m.name.assign(reinterpret_cast<const char*>(r.at(pos + kCentralHeaderBytes)), name_len);
    apply_zip64_extra(r, pos + kCentralHeaderBytes + name_len, extra_len, m, source);
    pos += kCentralHeaderBytes + name_len + extra_len + comment_len;

    const std::string what = source + ": .npz member '" + m.name + "'";
    OCTET_CHECK(!(flags & 1), what, " is encrypted");
    OCTET_CHECK(m.name.size() > 4 && m.name.compare(m.name.size() - 4, 4, ".npy") == 0, what,
                " is not a .npy array");
    std::string key = m.name.substr(0, m.name.size() - 4);
    OCTET_CHECK(names.insert(key).second, what, " appears twice");
    OCTET_CHECK(m.method == kStored || m.method == kDeflated, what, " uses zip method ", m.method,
                " (numpy writes stored or deflated members)");
    r.need(m.local_offset, kLocalHeaderBytes, "member header");
    OCTET_CHECK(r.u32(m.local_offset) == kLocalHeader, what, ": its local header is corrupt");
    const size_t data_at = m.local_offset + kLocalHeaderBytes + r.u16(m.local_offset + 26) +
                           r.u16(m.local_offset + 28);
    r.need(data_at, m.compressed, "member data");
    std::vector<std::byte> inflated;
    const unsigned char* bytes = r.at(data_at);
    size_t length = m.compressed;
    if (m.method == kDeflated) {
      // A deflated member expands at most ~1032x; a directory claiming more is corrupt.
      OCTET_CHECK(m.uncompressed / 1032 <= m.compressed + 1, what, ": claims ", m.uncompressed,
                  " bytes from ", m.compressed, " compressed, more than deflate can give");
      inflated = inflate_member(bytes, m.compressed, m.uncompressed, what);
      bytes = reinterpret_cast<const unsigned char*>(inflated.data());
      length = inflated.size();
    } else {
      OCTET_CHECK(m.compressed == m.uncompressed, what, ": stored sizes disagree");
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t done = 0; done < length;) {  // zlib counts in 32 bits
      const uInt chunk = uInt(std::min<size_t>(length - done, 1u << 30));
      crc = crc32(crc, bytes + done, chunk);
      done += chunk;
    }
    OCTET_CHECK(uint32_t(crc) == m.crc, what, ": its data does not match its CRC-32 (damaged file)");
    arrays.push_back(parse_npy(bytes, length, what));
    arrays.back().name = std::move(key);
  }
  return arrays;
}

std::vector<HostTensor> load_npz(const std::string& path) {
  const auto file = MappedFile::open(path);
  return parse_npz(file->data(), file->size(), path);
}

}  // namespace octet
