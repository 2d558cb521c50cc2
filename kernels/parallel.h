// A loop over independent items on OpenMP threads. With one thread it runs in the caller
// without entering a parallel region: libgomp sets up (and allocates) a team for every
// region, even a team of one, which costs more than the smallest nodes take.
#pragma once
#include <omp.h>

#include <cstdint>

namespace octet::kernels {

// body(i, thread) for i in [0, n), static schedule; thread is omp_get_thread_num() (0 when
// serial), for per-thread scratch.
template <typename Body>
void parallel_for(int64_t n, int threads, Body&& body) {
  if (threads <= 1 || n <= 1) {
    for (int64_t i = 0; i < n; ++i) body(i, 0);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < n; ++i) body(i, omp_get_thread_num());
}

}  // namespace octet::kernels
