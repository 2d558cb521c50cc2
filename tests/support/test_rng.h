// The random draws the randomized kernel and op tests make: integers, floats, coins.
#pragma once
#include <cstdint>
#include <random>

namespace octet::testing {

struct Rng {
  std::mt19937 gen;
  explicit Rng(uint32_t seed) : gen(seed) {}
  int64_t i(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(gen); }
  float f(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(gen); }
  bool coin(double p = 0.5) { return std::bernoulli_distribution(p)(gen); }
};

}  // namespace octet::testing
