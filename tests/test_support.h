// Helpers shared by the test files: scratch directories, awaiting a
// condition instead of sleeping, and synthetic load histories.
#ifndef GRIDCAST_TESTS_TEST_SUPPORT_H_
#define GRIDCAST_TESTS_TEST_SUPPORT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace gridcast::testing {

// A fresh directory under $TMPDIR, removed with everything in it when the
// object dies.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Everything this process writes to stderr (where logs go) while it
// lives, kept in a scratch file.
class StderrCapture {
 public:
  StderrCapture();
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;
  ~StderrCapture();

  // What was written so far.
  std::string Text() const;

 private:
  TempDir dir_;
  std::string path_;
  int saved_ = -1;
};

// Polls `condition` every few milliseconds until it holds (true) or the
// timeout passes (false).
bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout);

// An hourly load with daily and weekly cycles and a little noise, starting
// on Monday 2024-01-01 00:00 UTC; deterministic for a given seed.
std::vector<double> SyntheticHourlyLoad(int hours, uint32_t seed = 7);
inline constexpr int64_t kSyntheticStartTime = 1704067200;

}  // namespace gridcast::testing

#endif  // GRIDCAST_TESTS_TEST_SUPPORT_H_
