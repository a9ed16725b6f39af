#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <ctime>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace gridcast {
namespace {

std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARNING";
    case LogLevel::kError:
      return "ERROR";
  }
  return "INFO";
}

// Quotes a value when a plain grep-able token would be ambiguous.
bool NeedsQuotes(absl::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' ||
        static_cast<unsigned char>(c) < 0x20) {
      return true;
    }
  }
  return false;
}

void AppendQuoted(std::string* out, absl::string_view value) {
  out->push_back('"');
  for (char c : value) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out->push_back(' ');
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

}  // namespace

void SetMinLogLevel(LogLevel level) {
  min_level.store(static_cast<int>(level));
}

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "debug") {
    *level = LogLevel::kDebug;
  } else if (lower == "info") {
    *level = LogLevel::kInfo;
  } else if (lower == "warning") {
    *level = LogLevel::kWarning;
  } else if (lower == "error") {
    *level = LogLevel::kError;
  } else {
    return false;
  }
  return true;
}

LogLine::LogLine(LogLevel level, absl::string_view event)
    : enabled_(static_cast<int>(level) >= min_level.load()) {
  if (!enabled_) return;
  line_ = absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                        absl::UTCTimeZone()),
                       " ", LevelName(level), " event=", event);
}

LogLine::~LogLine() {
  if (!enabled_) return;
  line_.push_back('\n');
  // One fwrite per line keeps lines from concurrent threads whole.
  std::fwrite(line_.data(), 1, line_.size(), stderr);
}

LogLine& LogLine::Field(absl::string_view key, absl::string_view value) {
  if (!enabled_) return *this;
  absl::StrAppend(&line_, " ", key, "=");
  if (NeedsQuotes(value)) {
    AppendQuoted(&line_, value);
  } else {
    line_.append(value.data(), value.size());
  }
  return *this;
}

LogLine& LogLine::Field(absl::string_view key, const std::string& value) {
  return Field(key, absl::string_view(value));
}

LogLine& LogLine::Field(absl::string_view key, const char* value) {
  return Field(key, absl::string_view(value));
}

LogLine& LogLine::Field(absl::string_view key, int64_t value) {
  if (enabled_) absl::StrAppend(&line_, " ", key, "=", value);
  return *this;
}

LogLine& LogLine::Field(absl::string_view key, int value) {
  return Field(key, static_cast<int64_t>(value));
}

LogLine& LogLine::Field(absl::string_view key, uint64_t value) {
  if (enabled_) absl::StrAppend(&line_, " ", key, "=", value);
  return *this;
}

LogLine& LogLine::Field(absl::string_view key, double value) {
  if (enabled_) absl::StrAppend(&line_, " ", key, "=", value);
  return *this;
}

LogLine& LogLine::Field(absl::string_view key, bool value) {
  return Field(key, absl::string_view(value ? "true" : "false"));
}

LogLine& LogLine::Field(absl::string_view key, const absl::Status& status) {
  if (!enabled_) return *this;
  Field("code", absl::StatusCodeToString(status.code()));
  return Field(key, status.message());
}

}  // namespace gridcast
