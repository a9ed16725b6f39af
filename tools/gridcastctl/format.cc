#include "tools/gridcastctl/format.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"

namespace gridcast::ctl {

std::string FormatIsoTime(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                          absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

std::string FormatHumanTime(int64_t unix_seconds) {
  if (unix_seconds == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC",
                          absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

std::string FormatShortTime(int64_t unix_seconds) {
  if (unix_seconds == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

std::string FormatSeconds(double seconds) {
  if (!std::isfinite(seconds)) return "-";
  // Short spans (an epoch of a small network) keep a tenth of a second.
  if (seconds < 10 && seconds != std::round(seconds)) {
    return absl::StrFormat("%.1fs", seconds);
  }
  return absl::FormatDuration(absl::Seconds(std::round(seconds)));
}

int DecimalsFor(double typical, int significant_digits) {
  if (!std::isfinite(typical) || typical == 0) return 0;
  const int magnitude =
      static_cast<int>(std::floor(std::log10(std::fabs(typical))));
  return std::clamp(significant_digits - 1 - magnitude, 0, 6);
}

std::string FormatNumber(double value, int significant_digits) {
  if (!std::isfinite(value)) return absl::StrCat(value);
  if (value == 0) return "0";
  return FormatFixed(value, DecimalsFor(value, significant_digits));
}

std::string FormatFixed(double value, int decimals) {
  if (!std::isfinite(value)) return absl::StrCat(value);
  return absl::StrFormat("%.*f", decimals, value);
}

std::string FormatPercent(double percent) {
  return absl::StrCat(FormatFixed(percent, 2), "%");
}

Table::Table(std::vector<std::string> headers, std::vector<Align> alignment)
    : headers_(std::move(headers)), alignment_(std::move(alignment)) {
  alignment_.resize(headers_.size(), Align::kLeft);
}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::Render() const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) {
    widths[c] = headers_[c].size();
    for (const auto& row : rows_)
      widths[c] = std::max(widths[c], row[c].size());
  }

  std::string text;
  const auto append_line = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) line.append("  ");
      const std::string padding(widths[c] - cells[c].size(), ' ');
      if (alignment_[c] == Align::kRight) {
        absl::StrAppend(&line, padding, cells[c]);
      } else {
        absl::StrAppend(&line, cells[c], padding);
      }
    }
    line.erase(line.find_last_not_of(' ') + 1);
    absl::StrAppend(&text, line, "\n");
  };

  append_line(headers_);
  for (const auto& row : rows_) append_line(row);
  return text;
}

std::string FormatFields(
    const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [key, value] : fields) width = std::max(width, key.size());

  const std::string continuation =
      absl::StrCat("\n", std::string(width + 3, ' '));
  std::string text;
  for (const auto& [key, value] : fields) {
    absl::StrAppend(&text, key, ":", std::string(width - key.size() + 2, ' '),
                    absl::StrReplaceAll(value, {{"\n", continuation}}), "\n");
  }
  return text;
}

std::string FormatProgressBar(int64_t done, int64_t total, int width) {
  const int64_t filled =
      total <= 0 ? 0 : std::clamp<int64_t>(done * width / total, 0, width);
  std::string bar = "[";
  bar.append(filled, '=');
  if (filled < width) {
    bar.push_back('>');
    bar.append(width - filled - 1, ' ');
  }
  bar.push_back(']');
  return bar;
}

}  // namespace gridcast::ctl
