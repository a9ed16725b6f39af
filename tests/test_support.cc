#include "tests/test_support.h"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
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

StderrCapture::StderrCapture() : path_(dir_.path() + "/stderr") {
  std::fflush(stderr);
  saved_ = dup(STDERR_FILENO);
  const int file = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (saved_ < 0 || file < 0) {
    throw std::runtime_error("cannot capture stderr in " + path_);
  }
  dup2(file, STDERR_FILENO);
  close(file);
}

StderrCapture::~StderrCapture() {
  std::fflush(stderr);
  dup2(saved_, STDERR_FILENO);
  close(saved_);
}

std::string StderrCapture::Text() const {
  std::fflush(stderr);
  std::ifstream file(path_);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
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
