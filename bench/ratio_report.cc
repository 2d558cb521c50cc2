#include "bench/ratio_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace octet::bench {

std::vector<int> bench_thread_counts() {
  std::vector<int> t;
  const char* env = std::getenv("OCTET_BENCH_THREADS");
  std::stringstream ss(env ? env : "1,2");
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) t.push_back(std::max(1, std::atoi(item.c_str())));
  return t;
}

void configure(benchmark::internal::Benchmark* b, int threads) {
  b->ArgName("threads")
      ->Arg(threads)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond)
      ->ComputeStatistics("min", [](const std::vector<double>& v) {
        return *std::min_element(v.begin(), v.end());
      });
}

FastestRunCollector::FastestRunCollector() {
  const char* m = std::getenv("OCTET_BENCH_METRIC");
  use_cpu_time_ = m && std::string(m) == "cpu";
}

void FastestRunCollector::ReportRuns(const std::vector<Run>& runs) {
  for (const Run& r : runs) {
    const bool single = r.run_type == Run::RT_Iteration;
    const bool min_agg = r.run_type == Run::RT_Aggregate && r.aggregate_name == "min";
    if ((single || min_agg) && !r.error_occurred) {
      const double t = use_cpu_time_ ? r.GetAdjustedCPUTime() : r.GetAdjustedRealTime();
      auto [it, fresh] = times_.emplace(r.run_name.str(), t);
      if (!fresh) it->second = std::min(it->second, t);
    }
  }
  ConsoleReporter::ReportRuns(runs);
}

double FastestRunCollector::time_of(const std::string& prefix, const std::string& shape,
                                    int threads) const {
  auto it = times_.find(prefix + "/" + shape + "/threads:" + std::to_string(threads) +
                        "/real_time");
  return it == times_.end() ? -1.0 : it->second;
}

void print_ratio_table(const FastestRunCollector& runs, const std::vector<std::string>& shapes,
                       const std::vector<int>& threads, const std::string& numerator,
                       const std::string& denominator, const std::string& label) {
  std::printf("\n%-18s", "shape");
  for (int t : threads) std::printf("  %16s", (label + "@" + std::to_string(t) + "T").c_str());
  std::printf("\n");
  std::vector<double> logsum(threads.size(), 0.0);
  std::vector<int> count(threads.size(), 0);
  for (const std::string& shape : shapes) {
    bool any = false;
    std::string line = shape;
    line.resize(std::max<size_t>(18, line.size()), ' ');
    for (size_t i = 0; i < threads.size(); ++i) {
      const double a = runs.time_of(numerator, shape, threads[i]);
      const double b = runs.time_of(denominator, shape, threads[i]);
      char buf[32];
      if (a >= 0 && b > 0) {
        logsum[i] += std::log(a / b);
        ++count[i];
        any = true;
        std::snprintf(buf, sizeof buf, "  %16.3f", a / b);
      } else {
        std::snprintf(buf, sizeof buf, "  %16s", "-");
      }
      line += buf;
    }
    if (any) std::printf("%s\n", line.c_str());
  }
  std::printf("%-18s", "geomean");
  for (size_t i = 0; i < threads.size(); ++i)
    std::printf("  %16.3f", count[i] ? std::exp(logsum[i] / count[i]) : 0.0);
  std::printf("\n");
}

}  // namespace octet::bench
