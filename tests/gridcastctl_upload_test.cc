// gridcastctl's reading of real-world CSV files: local times in a named
// zone across daylight-saving changes, columns chosen by number, other
// delimiters, and the upload streamed in bounded chunks.
#include <cstdint>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tools/gridcastctl/csv.h"
#include "tools/gridcastctl/local_time.h"
#include "tools/gridcastctl/upload.h"

namespace gridcast::ctl {
namespace {

constexpr char kBerlin[] = "Europe/Berlin";

LocalTimeResolver Berlin(bool rows_in_order = true) {
  auto resolver = LocalTimeResolver::Create(kBerlin, rows_in_order);
  REQUIRE(resolver.ok());
  return *std::move(resolver);
}

int64_t Utc(const std::string& iso) {
  auto parsed = ParseTimestamp(iso);
  REQUIRE(parsed.ok());
  return *parsed;
}

// Reads every row of `csv`; the first error, if any, in *error.
std::vector<HistoryRow> ReadRows(const std::string& csv, CsvOptions options,
                                 HistoryColumns columns = HistoryColumns(),
                                 absl::Status* error = nullptr) {
  std::istringstream input(csv);
  auto reader = HistoryCsvReader::Create(&input, std::move(columns), options);
  if (!reader.ok()) {
    if (error != nullptr) *error = reader.status();
    return {};
  }
  std::vector<HistoryRow> rows;
  HistoryRow row;
  while (true) {
    auto read = reader->Next(&row);
    if (!read.ok()) {
      if (error != nullptr) *error = read.status();
      return rows;
    }
    if (!*read) return rows;
    rows.push_back(row);
  }
}

std::string Joined(const std::vector<std::string>& lines) {
  return absl::StrJoin(lines, "\n");
}

// ------------------------------------------------------------- time zones

TEST_CASE("local times in a named zone take its winter and summer offsets",
          "[gridcastctl][timezone]") {
  LocalTimeResolver berlin = Berlin();
  CsvOptions options;
  options.local_time = &berlin;
  const auto rows = ReadRows(
      "timestamp,load_kw\n"
      "2024-01-15 12:00,1\n"
      "2024-07-15T12:00:00,2\n",
      options);

  REQUIRE(rows.size() == 2);
  CHECK(rows[0].timestamp == Utc("2024-01-15T11:00:00Z"));
  CHECK(rows[1].timestamp == Utc("2024-07-15T10:00:00Z"));
}

TEST_CASE("the repeated autumn hour is read in order: summer, then winter",
          "[gridcastctl][timezone]") {
  // Berlin, 2024-10-27: clocks go back from 03:00 CEST to 02:00 CET, so a
  // logger writes 02:00 .. 02:45 twice.
  std::string csv = "timestamp,load_kw\n";
  std::vector<std::string> local_times = {"01:30", "01:45"};
  for (int pass = 0; pass < 2; ++pass) {
    for (const char* time : {"02:00", "02:15", "02:30", "02:45"}) {
      local_times.push_back(time);
    }
  }
  local_times.insert(local_times.end(), {"03:00", "03:15"});
  for (size_t i = 0; i < local_times.size(); ++i) {
    absl::StrAppend(&csv, "2024-10-27 ", local_times[i], ",", i, "\n");
  }

  LocalTimeResolver berlin = Berlin();
  CsvOptions options;
  options.local_time = &berlin;
  absl::Status error;
  const auto rows = ReadRows(csv, options, HistoryColumns(), &error);
  REQUIRE(error.ok());
  REQUIRE(rows.size() == local_times.size());

  // One regular 15-minute grid in UTC, from 23:30Z the day before.
  const int64_t first = Utc("2024-10-26T23:30:00Z");
  for (size_t i = 0; i < rows.size(); ++i) {
    INFO("row " << i << " local " << local_times[i]);
    CHECK(rows[i].timestamp == first + static_cast<int64_t>(i) * 900);
  }

  const std::string report = Joined(berlin.Report());
  INFO(report);
  CHECK(absl::StrContains(report, "Europe/Berlin"));
  CHECK(absl::StrContains(
      report,
      "2024-10-27: clocks went back from 03:00 to 02:00 (+02:00 to "
      "+01:00); of the repeated local times, 4 rows were read as "
      "+02:00 (first pass) and 4 as +01:00 (second pass)"));
}

TEST_CASE("a repeated hour written once is read as summer time and reported",
          "[gridcastctl][timezone]") {
  LocalTimeResolver berlin = Berlin();
  CsvOptions options;
  options.local_time = &berlin;
  const auto rows = ReadRows(
      "timestamp,load_kw\n"
      "2024-10-27 01:00,1\n"
      "2024-10-27 02:00,2\n"
      "2024-10-27 03:00,3\n",
      options);

  REQUIRE(rows.size() == 3);
  CHECK(rows[1].timestamp == Utc("2024-10-27T00:00:00Z"));
  // 03:00 CET is two hours after 02:00 CEST: the server sees the gap.
  CHECK(rows[2].timestamp - rows[1].timestamp == 7200);
  CHECK(absl::StrContains(Joined(berlin.Report()),
                          "the second pass has no rows, so the series has a "
                          "gap there"));
}

TEST_CASE("the skipped spring hour is reported, and refused if a row has it",
          "[gridcastctl][timezone]") {
  SECTION("rows that skip it form a regular grid in UTC") {
    LocalTimeResolver berlin = Berlin();
    CsvOptions options;
    options.local_time = &berlin;
    const auto rows = ReadRows(
        "timestamp,load_kw\n"
        "2024-03-31 01:30,1\n"
        "2024-03-31 01:45,2\n"
        "2024-03-31 03:00,3\n"
        "2024-03-31 03:15,4\n",
        options);
    REQUIRE(rows.size() == 4);
    CHECK(rows[0].timestamp == Utc("2024-03-31T00:30:00Z"));
    for (size_t i = 1; i < rows.size(); ++i) {
      CHECK(rows[i].timestamp - rows[i - 1].timestamp == 900);
    }
    CHECK(absl::StrContains(
        Joined(berlin.Report()),
        "2024-03-31: clocks went forward from 02:00 to 03:00 (+01:00 to "
        "+02:00); the local times in between do not exist"));
  }

  SECTION("a local time inside it names the line and the column") {
    LocalTimeResolver berlin = Berlin();
    CsvOptions options;
    options.local_time = &berlin;
    absl::Status error;
    ReadRows(
        "when,load_kw\n"
        "2024-03-31 01:45,1\n"
        "2024-03-31 02:30,2\n",
        options, {"when", "load_kw", {}}, &error);
    CHECK(absl::IsInvalidArgument(error));
    CHECK(error.message() ==
          "line 3, column when: local time 2024-03-31 02:30:00 does not "
          "exist in Europe/Berlin: clocks went forward from 02:00 to 03:00 "
          "(+01:00 to +02:00)");
  }
}

TEST_CASE("unsorted rows cannot tell the passes apart: offsets are needed",
          "[gridcastctl][timezone]") {
  LocalTimeResolver berlin = Berlin(/*rows_in_order=*/false);
  CsvOptions options;
  options.local_time = &berlin;
  absl::Status error;
  ReadRows("timestamp,load_kw\n2024-10-27 02:15,1\n", options, HistoryColumns(),
           &error);
  CHECK(absl::IsInvalidArgument(error));
  CHECK(absl::StrContains(error.message(), "line 2, column timestamp"));
  CHECK(absl::StrContains(error.message(), "happens twice in Europe/Berlin"));
  CHECK(absl::StrContains(error.message(), "2024-10-27T02:15:00+02:00"));

  // With offsets, the same times are exact whatever the order.
  const auto rows = ReadRows(
      "timestamp,load_kw\n"
      "2024-10-27 02:15+01:00,1\n"
      "2024-10-27 02:15+02:00,2\n",
      options);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].timestamp - rows[1].timestamp == 3600);
}

TEST_CASE("an unknown time zone is refused with a hint",
          "[gridcastctl][timezone]") {
  auto resolver = LocalTimeResolver::Create("Europe/Atlantis");
  REQUIRE_FALSE(resolver.ok());
  CHECK(absl::StrContains(resolver.status().message(),
                          "unknown time zone \"Europe/Atlantis\""));
  CHECK(absl::StrContains(resolver.status().message(), "tzdata"));
}

TEST_CASE("without a zone, local times are still refused",
          "[gridcastctl][timezone]") {
  absl::Status error;
  ReadRows("timestamp,load_kw\n2024-01-01 00:00,1\n", CsvOptions(),
           HistoryColumns(), &error);
  CHECK(absl::StrContains(error.message(), "has no zone"));
  CHECK(absl::StrContains(error.message(), "--timezone"));
}

// ---------------------------------------------------------------- columns

TEST_CASE("columns are chosen by number when no header name matches",
          "[gridcastctl][csv]") {
  HistoryColumns columns{"1", "3", {"2"}};
  std::istringstream input(
      "time;temp;load\n"
      "2024-01-01T00:00:00Z;1,5;\"800\"\n");
  CsvOptions options;
  options.delimiter = ';';
  auto reader = HistoryCsvReader::Create(&input, columns, options);
  REQUIRE(reader.ok());
  // Numbers take the header's names, which the upload sends.
  CHECK(reader->columns().timestamp == "time");
  CHECK(reader->columns().value == "load");
  CHECK(reader->columns().covariates == std::vector<std::string>{"temp"});

  // A decimal comma is not a number: the line and column say so.
  HistoryRow row;
  auto read = reader->Next(&row);
  REQUIRE_FALSE(read.ok());
  CHECK(read.status().message() ==
        "line 2, column temp: \"1,5\" is not a number");
}

TEST_CASE("a file without a header is read by column numbers",
          "[gridcastctl][csv]") {
  CsvOptions options;
  options.header = false;
  options.delimiter = '\t';
  absl::Status error;
  const auto rows = ReadRows("1704067200\t7.5\n1704070800\t8.5\n", options,
                             {"1", "2", {}}, &error);
  REQUIRE(error.ok());
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].value == 7.5);
  CHECK(rows[1].timestamp == 1704070800);

  ReadRows("1704067200\t7.5\n", options, {"timestamp", "2", {}}, &error);
  CHECK(absl::StrContains(error.message(), "without a header line"));
}

TEST_CASE("a column number beyond the header is refused",
          "[gridcastctl][csv]") {
  absl::Status error;
  ReadRows("timestamp,load_kw\n", CsvOptions(), {"1", "5", {}}, &error);
  CHECK(error.message() ==
        "--value-column 5: the header has only 2 columns (timestamp, "
        "load_kw)");
}

// -------------------------------------------------------------- streaming

// A CSV of 15-minute load in Berlin local time, made a line at a time as
// the reader asks for it, so that neither side ever holds the whole file;
// it counts the lines handed out.
class LocalTimeCsvSource : public std::streambuf {
 public:
  LocalTimeCsvSource(absl::CivilMinute first, int64_t rows)
      : next_(zone_.At(first).pre), rows_(rows) {
    line_ = "timestamp,load_kw\n";
    setg(line_.data(), line_.data(), line_.data() + line_.size());
  }

  int64_t rows_made() const { return made_; }

 protected:
  int_type underflow() override {
    if (made_ == rows_) return traits_type::eof();
    // The wall clock skips the spring hour and goes through the autumn
    // hour twice, as a logger on local time writes it.
    const absl::CivilSecond local = zone_.At(next_).cs;
    line_ = absl::StrFormat("%04d-%02d-%02d %02d:%02d,%d\n", local.year(),
                            local.month(), local.day(), local.hour(),
                            local.minute(), made_);
    ++made_;
    next_ += absl::Minutes(15);
    setg(line_.data(), line_.data(), line_.data() + line_.size());
    return traits_type::to_int_type(line_[0]);
  }

 private:
  absl::TimeZone zone_ = [] {
    absl::TimeZone zone;
    absl::LoadTimeZone(kBerlin, &zone);
    return zone;
  }();
  absl::Time next_;
  int64_t rows_;
  int64_t made_ = 0;
  std::string line_;
};

TEST_CASE("three years of 15-minute local time stream in bounded chunks",
          "[gridcastctl][upload]") {
  // 2022-01-01 .. 2024-12-31: six clock changes, 105,216 rows.
  constexpr int64_t kRows = (365 + 365 + 366) * 96;
  constexpr int64_t kChunkPoints = 4096;
  LocalTimeCsvSource source(absl::CivilMinute(2022, 1, 1, 0, 0), kRows);
  std::istream input(&source);

  LocalTimeResolver berlin = Berlin();
  CsvOptions options;
  options.local_time = &berlin;
  auto reader = HistoryCsvReader::Create(&input, HistoryColumns(), options);
  REQUIRE(reader.ok());

  UploadSettings settings;
  settings.series_id = "feeder-17";
  settings.chunk_points = kChunkPoints;
  int64_t points = 0;
  int64_t chunks = 0;
  int64_t previous = 0;
  bool regular = true;
  size_t largest_lead = 0;
  HistoryUploader uploader(
      settings, &*reader, [&](const v1::UploadHistoryRequest& chunk) {
        CHECK(chunk.timestamps_size() <= kChunkPoints);
        CHECK(chunk.has_header() == (chunks == 0));
        // The reader is only ahead of what was sent by this chunk.
        largest_lead =
            std::max<size_t>(largest_lead, source.rows_made() - points);
        for (int64_t time : chunk.timestamps()) {
          if (points > 0 && time - previous != 900) regular = false;
          previous = time;
          ++points;
        }
        ++chunks;
        return true;
      });
  REQUIRE(uploader.SendAll().ok());

  CHECK(points == kRows);
  CHECK(chunks == (kRows + kChunkPoints - 1) / kChunkPoints);
  CHECK(largest_lead <= kChunkPoints + 1);
  // Across every clock change the instants stay 15 minutes apart.
  CHECK(regular);
  // Inferred from the first two rows.
  CHECK(uploader.chunks_sent() == chunks);
  const std::vector<std::string> report = berlin.Report();
  CHECK(report.size() == 1 + 6);
}

TEST_CASE("a bad line stops the upload before anything more is sent",
          "[gridcastctl][upload]") {
  std::string csv = "timestamp,load_kw\n";
  for (int i = 0; i < 10; ++i) {
    absl::StrAppend(&csv, 1704067200 + i * 3600, ",", i, "\n");
  }
  absl::StrAppend(&csv, "1704103200,oops\n");
  std::istringstream input(csv);
  auto reader = HistoryCsvReader::Create(&input, HistoryColumns());
  REQUIRE(reader.ok());

  UploadSettings settings;
  settings.series_id = "feeder-17";
  settings.chunk_points = 4;
  int writes = 0;
  HistoryUploader uploader(settings, &*reader,
                           [&](const v1::UploadHistoryRequest&) {
                             ++writes;
                             return true;
                           });
  const absl::Status sent = uploader.SendAll();
  CHECK(sent.message() == "line 12, column load_kw: \"oops\" is not a number");
  // Two full chunks went; the caller cancels the call so none is stored.
  CHECK(writes == 2);
}

TEST_CASE("a chunk too large for a gRPC message is a usage error",
          "[gridcastctl][upload]") {
  CHECK(CheckChunkSize(8192, 3).ok());
  const absl::Status status = CheckChunkSize(65536, 8);
  CHECK_FALSE(status.ok());
  CHECK(absl::StrContains(status.message(), "use at most"));
}

}  // namespace
}  // namespace gridcast::ctl
