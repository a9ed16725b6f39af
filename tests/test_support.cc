#include "tests/test_support.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <thread>

namespace gridcast::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr ? base : "/tmp") + "/gridcast-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed for " + pattern);
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

std::vector<double> SyntheticHourlyLoad(int hours, uint32_t seed) {
  std::mt19937 random(seed);
  std::normal_distribution<double> noise(0.0, 0.02);
  std::vector<double> load(hours);
  for (int h = 0; h < hours; ++h) {
    const double daily = std::sin(2 * M_PI * (h % 24) / 24.0 - M_PI / 2);
    const bool weekend = (h / 24) % 7 >= 5;
    load[h] = 1.0 + 0.3 * daily - (weekend ? 0.15 : 0.0) + noise(random);
  }
  return load;
}

}  // namespace gridcast::testing
