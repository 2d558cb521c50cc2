// What the kernel benchmarks against oneDNN share: the thread counts to run, the collection
// of each run's fastest time, and the table of time ratios per shape with their geometric mean.
#pragma once
#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

namespace octet::bench {

// OCTET_BENCH_THREADS (comma-separated, default "1,2").
std::vector<int> bench_thread_counts();

// Registers `b` with the settings every comparison uses: a thread-count argument, real time,
// microseconds, and a "min" statistic over repetitions.
void configure(benchmark::internal::Benchmark* b, int threads);

// Keeps each benchmark's fastest time per iteration: the "min" aggregate or the minimum over
// single runs (the repetition least disturbed by other work). OCTET_BENCH_METRIC=cpu compares
// the main thread's CPU time instead of real time (for one thread on a machine shared with
// other work; meaningless at more threads).
class FastestRunCollector : public benchmark::ConsoleReporter {
 public:
  FastestRunCollector();
  void ReportRuns(const std::vector<Run>& runs) override;
  // The time of `prefix/shape/threads:T/real_time`, or a negative value when it did not run.
  double time_of(const std::string& prefix, const std::string& shape, int threads) const;

 private:
  bool use_cpu_time_ = false;
  std::map<std::string, double> times_;
};

// Prints, per shape and thread count, time(numerator/...) / time(denominator/...) and the
// geometric mean of each column; `label` heads the columns (e.g. "octet/oneDNN").
void print_ratio_table(const FastestRunCollector& runs, const std::vector<std::string>& shapes,
                       const std::vector<int>& threads, const std::string& numerator,
                       const std::string& denominator, const std::string& label);

}  // namespace octet::bench
