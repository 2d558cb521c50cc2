// A loop over independent items on OpenMP threads. With one thread it runs in the caller
// without entering a parallel region: libgomp sets up (and allocates) a team for every
// region, even a team of one, which costs more than the smallest nodes take.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "base/int_math.h"

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

// body() on each of `threads` threads of a parallel region, or once in the caller with one
// thread. Worksharing inside (`#pragma omp for`) binds to the region, or runs the whole loop
// in the caller when there is none (an orphaned construct), so per-thread scratch declared in
// the body before it works either way.
template <typename Body>
void parallel_region(int threads, Body&& body) {
  if (threads <= 1) {
    body();
    return;
  }
#pragma omp parallel num_threads(threads)
  body();
}

// Tasks of a rows x cols GEMM: balanced row blocks of at most 192 rows, as many as a multiple
// of the thread count; with too few rows for that, blocks of whole `panel`-column panels
// instead. Task t covers rows [(t / col_blocks) * rows_per, ...) and columns
// [(t % col_blocks) * cols_per, ...), both clipped to the matrix.
struct GemmSplit {
  int64_t row_blocks = 1, col_blocks = 1, rows_per = 0, cols_per = 0;
  int64_t tasks() const { return row_blocks * col_blocks; }
};
inline GemmSplit split_gemm(int64_t rows, int64_t cols, int64_t panel, int threads) {
  GemmSplit s;
  s.row_blocks = ceil_div(rows, 192);
  if (threads > 1) {
    if (rows >= 24 * threads)
      s.row_blocks = ceil_div(std::max<int64_t>(s.row_blocks, threads), threads) * threads;
    else
      s.col_blocks = std::min<int64_t>(threads, ceil_div(cols, panel));
  }
  s.rows_per = ceil_div(rows, s.row_blocks);
  s.cols_per = ceil_div(ceil_div(cols, s.col_blocks), panel) * panel;
  s.col_blocks = ceil_div(cols, s.cols_per);
  return s;
}

// tile(r0, r1, n0, n1) for every task of split_gemm(rows, cols, panel, threads), on `threads`
// threads: the one place a GEMM's work is divided between threads.
template <typename Tile>
void gemm_parallel(int64_t rows, int64_t cols, int64_t panel, int threads, Tile&& tile) {
  const GemmSplit sp = split_gemm(rows, cols, panel, threads);
  parallel_for(sp.tasks(), threads, [&](int64_t task, int) {
    const int64_t r0 = (task / sp.col_blocks) * sp.rows_per;
    const int64_t n0 = (task % sp.col_blocks) * sp.cols_per;
    if (r0 >= rows || n0 >= cols) return;
    tile(r0, std::min(rows, r0 + sp.rows_per), n0, std::min(cols, n0 + sp.cols_per));
  });
}

}  // namespace octet::kernels
