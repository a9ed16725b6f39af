// Test helpers for /metrics: a strict reader of the Prometheus text
// exposition format (so that the tests check what a Prometheus server
// would accept, not just substrings) and a bare HTTP client for scraping.
// Header-only so that it needs no line in tests/CMakeLists.txt.
#ifndef GRIDCAST_TESTS_PROMETHEUS_TEXT_H_
#define GRIDCAST_TESTS_PROMETHEUS_TEXT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace gridcast::testing {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

namespace prometheus_internal {

inline bool IsNameChar(char c, bool first) {
  return absl::ascii_isalpha(c) || c == '_' || c == ':' ||
         (!first && absl::ascii_isdigit(c));
}

inline bool ParseValue(absl::string_view text, double* value) {
  if (text == "+Inf") {
    *value = HUGE_VAL;
    return true;
  }
  if (text == "-Inf") {
    *value = -HUGE_VAL;
    return true;
  }
  if (text == "NaN") {
    *value = std::nan("");
    return true;
  }
  return absl::SimpleAtod(text, value);
}

// `name{a="x",b="y"} value`, with escapes \\ \" \n in label values.
inline absl::Status ParseSampleLine(absl::string_view line, PromSample* out) {
  size_t i = 0;
  while (i < line.size() && IsNameChar(line[i], i == 0)) ++i;
  if (i == 0) return absl::InvalidArgumentError("no metric name");
  out->name = std::string(line.substr(0, i));
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const size_t start = i;
      while (i < line.size() && IsNameChar(line[i], i == start) &&
             line[i] != ':') {
        ++i;
      }
      const std::string label(line.substr(start, i - start));
      if (label.empty() || i + 1 >= line.size() || line[i] != '=' ||
          line[i + 1] != '"') {
        return absl::InvalidArgumentError("bad label");
      }
      i += 2;
      std::string value;
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\') {
          if (i + 1 >= line.size()) return absl::InvalidArgumentError("escape");
          const char next = line[i + 1];
          if (next == 'n') {
            value += '\n';
          } else if (next == '\\' || next == '"') {
            value += next;
          } else {
            return absl::InvalidArgumentError("unknown escape");
          }
          i += 2;
        } else {
          value += line[i++];
        }
      }
      if (i >= line.size()) return absl::InvalidArgumentError("open quote");
      ++i;  // closing quote
      if (!out->labels.emplace(label, value).second) {
        return absl::InvalidArgumentError("repeated label " + label);
      }
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return absl::InvalidArgumentError("open brace");
    ++i;  // '}'
  }
  if (i >= line.size() || line[i] != ' ') {
    return absl::InvalidArgumentError("no space before the value");
  }
  const std::vector<absl::string_view> rest =
      absl::StrSplit(line.substr(i + 1), ' ');
  // A value, optionally followed by a timestamp in milliseconds.
  if (rest.empty() || rest.size() > 2 || !ParseValue(rest[0], &out->value)) {
    return absl::InvalidArgumentError("bad value");
  }
  return absl::OkStatus();
}

}  // namespace prometheus_internal

// Parses a whole exposition and checks its rules: every line a comment or
// a sample, each family typed before its samples and typed once, no
// sample series twice, and every histogram series with cumulative
// buckets that end in le="+Inf" equal to its _count, plus a _sum.
inline absl::StatusOr<std::vector<PromSample>> ParsePrometheusText(
    const std::string& text) {
  using prometheus_internal::ParseSampleLine;
  std::vector<PromSample> samples;
  std::map<std::string, std::string> types;  // family -> type
  std::set<std::string> seen_series;
  int line_number = 0;
  if (!text.empty() && text.back() != '\n') {
    return absl::InvalidArgumentError("the text does not end in a newline");
  }
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    const auto fail = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, " \"", line, "\": ", why));
    };
    if (line.empty()) continue;
    if (line[0] == '#') {
      const std::vector<std::string> words =
          absl::StrSplit(line, absl::MaxSplits(' ', 3));
      if (words.size() >= 3 && words[1] == "TYPE") {
        static const std::set<std::string> kTypes = {
            "counter", "gauge", "histogram", "summary", "untyped"};
        if (words.size() != 4 || kTypes.count(words[3]) == 0) {
          return fail("bad TYPE line");
        }
        if (!types.emplace(words[2], words[3]).second) {
          return fail("family typed twice");
        }
      } else if (words.size() >= 3 && words[1] == "HELP") {
        continue;
      }
      continue;
    }
    PromSample sample;
    const absl::Status parsed = ParseSampleLine(line, &sample);
    if (!parsed.ok()) return fail(parsed.message());

    std::string family = sample.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string base =
          std::string(absl::StripSuffix(sample.name, suffix));
      if (base != sample.name && types.count(base) > 0 &&
          types[base] == "histogram") {
        family = base;
      }
    }
    if (types.count(family) == 0) return fail("sample before its TYPE");
    if (types[family] == "histogram" && family == sample.name) {
      return fail("histogram sample without _bucket/_sum/_count");
    }
    if (absl::EndsWith(sample.name, "_bucket") && family != sample.name &&
        sample.labels.count("le") == 0) {
      return fail("bucket without le");
    }
    std::string series = sample.name;
    for (const auto& [k, v] : sample.labels) {
      absl::StrAppend(&series, "|", k, "=", v);
    }
    if (!seen_series.insert(series).second) return fail("series repeated");
    samples.push_back(std::move(sample));
  }

  // Histograms: per series (labels without le), cumulative buckets.
  for (const auto& [family, type] : types) {
    if (type != "histogram") continue;
    std::map<std::map<std::string, std::string>, std::vector<double>> buckets;
    std::map<std::map<std::string, std::string>, std::string> last_le;
    std::map<std::map<std::string, std::string>, double> counts, sums;
    for (const PromSample& s : samples) {
      std::map<std::string, std::string> key = s.labels;
      key.erase("le");
      if (s.name == family + "_bucket") {
        buckets[key].push_back(s.value);
        last_le[key] = s.labels.at("le");
      }
      if (s.name == family + "_count") counts[key] = s.value;
      if (s.name == family + "_sum") sums[key] = s.value;
    }
    for (const auto& [key, values] : buckets) {
      for (size_t i = 1; i < values.size(); ++i) {
        if (values[i] < values[i - 1]) {
          return absl::InvalidArgumentError(family + " buckets not cumulative");
        }
      }
      if (counts.count(key) == 0 || sums.count(key) == 0) {
        return absl::InvalidArgumentError(family + " lacks _count or _sum");
      }
      if (last_le[key] != "+Inf") {
        return absl::InvalidArgumentError(family + " does not end in +Inf");
      }
      if (values.back() != counts[key]) {
        return absl::InvalidArgumentError(family + " +Inf bucket != _count");
      }
    }
  }
  return samples;
}

// The sum of the samples named `name` whose labels include `labels`.
inline double SumOf(const std::vector<PromSample>& samples,
                    const std::string& name,
                    const std::map<std::string, std::string>& labels = {}) {
  double sum = 0;
  for (const PromSample& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      const auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) match = false;
    }
    if (match) sum += s.value;
  }
  return sum;
}

// True when some sample is named `name`.
inline bool Has(const std::vector<PromSample>& samples,
                const std::string& name) {
  for (const PromSample& s : samples) {
    if (s.name == name) return true;
  }
  return false;
}

// Sends `request` as is to 127.0.0.1:`port` and returns all it answers
// until the server closes; "" when it cannot connect.
inline std::string RawHttp(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
      0) {
    close(fd);
    return "";
  }
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n =
        send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string reply;
  char buffer[4096];
  ssize_t got;
  while ((got = recv(fd, buffer, sizeof(buffer), 0)) > 0) {
    reply.append(buffer, static_cast<size_t>(got));
  }
  close(fd);
  return reply;
}

// GET /metrics: the body, or "" unless the answer is 200.
inline std::string Scrape(int port) {
  const std::string reply =
      RawHttp(port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
  if (!absl::StartsWith(reply, "HTTP/1.1 200 ")) return "";
  const size_t body = reply.find("\r\n\r\n");
  return body == std::string::npos ? "" : reply.substr(body + 4);
}

// Scrapes and parses; an error when either fails.
inline absl::StatusOr<std::vector<PromSample>> ScrapeAndParse(int port) {
  const std::string body = Scrape(port);
  if (body.empty()) return absl::UnavailableError("scrape failed");
  return ParsePrometheusText(body);
}

}  // namespace gridcast::testing

#endif  // GRIDCAST_TESTS_PROMETHEUS_TEXT_H_
