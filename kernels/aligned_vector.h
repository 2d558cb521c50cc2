// std::vector whose storage starts on a 64-byte boundary: packed weights read by full-width
// AVX-512 loads, which cost twice as much when they cross a cache line.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

namespace octet::kernels {

template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(size_t n) {
    const size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, bytes ? bytes : 64);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }
  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const { return true; }
};

template <typename T>
using aligned_vector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace octet::kernels
