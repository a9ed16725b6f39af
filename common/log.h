// Structured, one-line-per-event logging for operators.
//
// Every line is `<time> <LEVEL> event=<name> key=value ...` on stderr, so
// that `grep 'event=version_refused model=feeder-17'` finds what happened.
// Values with spaces or quotes are quoted.
//
//   LogInfo("version_loaded").Field("model", name).Field("version", 3);
//
// The line is written when the temporary returned by LogInfo() et al. dies.
#ifndef GRIDCAST_COMMON_LOG_H_
#define GRIDCAST_COMMON_LOG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace gridcast {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Lines below this level are dropped; kInfo unless changed. Thread-safe.
void SetMinLogLevel(LogLevel level);
// Parses "debug", "info", "warning" or "error".
bool ParseLogLevel(absl::string_view text, LogLevel* level);

class LogLine {
 public:
  LogLine(LogLevel level, absl::string_view event);
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  ~LogLine();

  LogLine& Field(absl::string_view key, absl::string_view value);
  LogLine& Field(absl::string_view key, const std::string& value);
  LogLine& Field(absl::string_view key, const char* value);
  LogLine& Field(absl::string_view key, int64_t value);
  LogLine& Field(absl::string_view key, int value);
  LogLine& Field(absl::string_view key, uint64_t value);
  LogLine& Field(absl::string_view key, double value);
  LogLine& Field(absl::string_view key, bool value);
  // Adds code=<CODE> reason="<message>".
  LogLine& Field(absl::string_view key, const absl::Status& status);

 private:
  bool enabled_;
  std::string line_;
};

inline LogLine LogDebug(absl::string_view event) {
  return LogLine(LogLevel::kDebug, event);
}
inline LogLine LogInfo(absl::string_view event) {
  return LogLine(LogLevel::kInfo, event);
}
inline LogLine LogWarning(absl::string_view event) {
  return LogLine(LogLevel::kWarning, event);
}
inline LogLine LogError(absl::string_view event) {
  return LogLine(LogLevel::kError, event);
}

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_LOG_H_
