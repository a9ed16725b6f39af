// Unit tests of gridcastctl's pure parts: CSV and timestamp reading, the
// synthetic feeder, text formatting and the argument parser.
#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/store/store_json.h"
#include "tools/gridcastctl/args.h"
#include "tools/gridcastctl/csv.h"
#include "tools/gridcastctl/format.h"
#include "tools/gridcastctl/print.h"
#include "tools/gridcastctl/sample.h"

namespace gridcast::ctl {
namespace {

constexpr int64_t kJan1 = 1704067200;  // 2024-01-01T00:00:00Z

std::vector<HistoryRow> ReadAll(const std::string& csv,
                                HistoryColumns columns = HistoryColumns()) {
  std::istringstream input(csv);
  auto reader = HistoryCsvReader::Create(&input, std::move(columns));
  REQUIRE(reader.ok());
  std::vector<HistoryRow> rows;
  HistoryRow row;
  while (true) {
    auto read = reader->Next(&row);
    REQUIRE(read.ok());
    if (!*read) break;
    rows.push_back(row);
  }
  return rows;
}

// The error of the first bad line of `csv`.
absl::Status FirstError(const std::string& csv,
                        HistoryColumns columns = HistoryColumns()) {
  std::istringstream input(csv);
  auto reader = HistoryCsvReader::Create(&input, std::move(columns));
  if (!reader.ok()) return reader.status();
  HistoryRow row;
  while (true) {
    auto read = reader->Next(&row);
    if (!read.ok()) return read.status();
    if (!*read) return absl::OkStatus();
  }
}

std::string SampleCsv(const SampleOptions& options) {
  std::ostringstream out;
  REQUIRE(WriteSampleCsv(options, &out).ok());
  return out.str();
}

int HourOf(int64_t time) {
  return absl::ToCivilHour(absl::FromUnixSeconds(time), absl::UTCTimeZone())
      .hour();
}

bool IsWeekend(int64_t time) {
  const absl::Weekday day = absl::GetWeekday(
      absl::ToCivilDay(absl::FromUnixSeconds(time), absl::UTCTimeZone()));
  return day == absl::Weekday::saturday || day == absl::Weekday::sunday;
}

// ------------------------------------------------------------ CSV lines

TEST_CASE("a CSV line splits at commas, keeping empty fields",
          "[gridcastctl][csv]") {
  auto fields = SplitCsvLine("2024-01-01T00:00:00Z,812.5,,3");
  REQUIRE(fields.ok());
  CHECK(*fields ==
        std::vector<std::string>{"2024-01-01T00:00:00Z", "812.5", "", "3"});
}

TEST_CASE("a quoted CSV field keeps its commas and doubled quotes",
          "[gridcastctl][csv]") {
  auto fields =
      SplitCsvLine(R"("2024-01-01 00:00:00+01:00","say ""hi"", ok",7)");
  REQUIRE(fields.ok());
  CHECK(*fields == std::vector<std::string>{"2024-01-01 00:00:00+01:00",
                                            "say \"hi\", ok", "7"});
}

TEST_CASE("an unterminated quote is an error", "[gridcastctl][csv]") {
  CHECK_FALSE(SplitCsvLine(R"(1,"open)").ok());
}

// ----------------------------------------------------------- timestamps

TEST_CASE("ISO 8601 timestamps in UTC and with offsets give Unix seconds",
          "[gridcastctl][timestamp]") {
  const std::vector<std::pair<std::string, int64_t>> cases = {
      {"2024-01-01T00:00:00Z", kJan1},
      {"2024-01-01t00:00:00z", kJan1},
      {"2024-01-01 00:00:00Z", kJan1},
      {"2024-01-01T01:00:00+01:00", kJan1},
      {"2024-01-01 01:00:00+01:00", kJan1},
      {"2024-01-01T01:00:00+0100", kJan1},
      {"2024-01-01T01:00:00+01", kJan1},
      {"2023-12-31T18:30:00-05:30", kJan1},
      {"2024-01-01T00:00Z", kJan1},
      {"2024-01-01T00:00:00.000Z", kJan1},
      {"  2024-01-01T00:00:00Z  ", kJan1},
      {"2024-02-29T12:00:00Z", kJan1 + (31 + 28) * 86400 + 12 * 3600},
      {"1704067200", kJan1},
      {"-3600", -3600},
  };
  for (const auto& [text, expected] : cases) {
    INFO(text);
    auto parsed = ParseTimestamp(text);
    REQUIRE(parsed.ok());
    CHECK(*parsed == expected);
  }
}

TEST_CASE("timestamps that are ambiguous or impossible are refused",
          "[gridcastctl][timestamp]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"2024-01-01T00:00:00", "has no zone"},
      {"2024-02-30T00:00:00Z", "not a valid date"},
      {"2023-02-29T00:00:00Z", "not a valid date"},
      {"2024-01-01T24:00:00Z", "not a valid date"},
      {"2024-13-01T00:00:00Z", "not a valid date"},
      {"2024-01-01T00:00:00.5Z", "fraction of a second"},
      {"2024-01-01T00:00:00+25:00", "not a timestamp"},
      {"2024-01-01", "not a timestamp"},
      {"yesterday", "not a timestamp"},
      {"2024-01-01T00:00:00Z junk", "not a timestamp"},
      {"", "empty"},
  };
  for (const auto& [text, problem] : cases) {
    INFO(text);
    auto parsed = ParseTimestamp(text);
    REQUIRE_FALSE(parsed.ok());
    CHECK(absl::IsInvalidArgument(parsed.status()));
    CHECK(absl::StrContains(parsed.status().message(), problem));
  }
}

// ----------------------------------------------------------- CSV reader

TEST_CASE("a history CSV is read by column name, covariates in order",
          "[gridcastctl][csv]") {
  HistoryColumns columns;
  columns.covariates = {"temperature_c"};
  const auto rows = ReadAll(
      "site,temperature_c,load_kw,timestamp\n"
      "a,1.5,800,2024-01-01T00:00:00Z\n"
      "a,2.5,810.25,2024-01-01T01:00:00Z\n",
      columns);

  REQUIRE(rows.size() == 2);
  CHECK(rows[1].timestamp == kJan1 + 3600);
  CHECK(rows[1].value == 810.25);
  CHECK(rows[1].covariates == std::vector<double>{2.5});
}

TEST_CASE("Windows line ends, a byte-order mark and blank lines are accepted",
          "[gridcastctl][csv]") {
  const auto rows = ReadAll(
      "\xEF\xBB\xBFtimestamp,load_kw\r\n"
      "1704067200,1\r\n"
      "\r\n"
      "1704070800,2\r\n"
      "\n");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].value == 1);
  CHECK(rows[1].timestamp == kJan1 + 3600);
}

TEST_CASE("a bad value is reported with its line number and column",
          "[gridcastctl][csv]") {
  const absl::Status status = FirstError(
      "timestamp,load_kw\n"
      "2024-01-01T00:00:00Z,800\n"
      "\n"
      "2024-01-01T01:00:00Z,abc\n");
  CHECK(absl::IsInvalidArgument(status));
  CHECK(status.message() == "line 4, column load_kw: \"abc\" is not a number");
}

TEST_CASE("a bad timestamp, a NaN or a short line names line and column",
          "[gridcastctl][csv]") {
  HistoryColumns columns;
  columns.covariates = {"temperature_c"};
  const std::string header = "timestamp,load_kw,temperature_c\n";

  CHECK(absl::StartsWith(
      FirstError(header + "2024-01-01 00:00,1,2\n", columns).message(),
      "line 2, column timestamp: \"2024-01-01 00:00\" has no zone"));
  CHECK(FirstError(header + "1704067200,nan,2\n", columns).message() ==
        "line 2, column load_kw: \"nan\" is not a finite number");
  CHECK(FirstError(header + "1704067200,1\n", columns).message() ==
        "line 2, column temperature_c: missing (the line has 2 fields)");
  CHECK(FirstError(header + "1704067200, ,2\n", columns).message() ==
        "line 2, column load_kw: empty");
}

TEST_CASE("a missing column is reported with the columns that exist",
          "[gridcastctl][csv]") {
  const absl::Status status = FirstError("time,value\n1,2\n");
  CHECK(absl::IsInvalidArgument(status));
  CHECK(absl::StrContains(status.message(),
                          "no column \"timestamp\" (it has: time, value)"));
}

TEST_CASE("an empty file is an error, not an empty history",
          "[gridcastctl][csv]") {
  CHECK(absl::IsInvalidArgument(FirstError("")));
}

TEST_CASE("the last rows of a long history are kept in order",
          "[gridcastctl][csv]") {
  std::string csv = "timestamp,load_kw\n";
  for (int i = 0; i < 1000; ++i) {
    csv += std::to_string(kJan1 + i * 3600) + "," + std::to_string(i) + "\n";
  }
  std::istringstream input(csv);
  auto reader = HistoryCsvReader::Create(&input, HistoryColumns());
  REQUIRE(reader.ok());

  auto tail = ReadLastRows(&*reader, 3);
  REQUIRE(tail.ok());
  REQUIRE(tail->size() == 3);
  CHECK((*tail)[0].value == 997);
  CHECK((*tail)[2].value == 999);
  CHECK((*tail)[2].timestamp == kJan1 + 999 * 3600);
}

// ------------------------------------------------------------- sample

TEST_CASE("the same seed writes the same sample, another seed another",
          "[gridcastctl][sample]") {
  SampleOptions options;
  options.days = 14;
  const std::string first = SampleCsv(options);
  CHECK(SampleCsv(options) == first);

  options.seed = 2;
  CHECK(SampleCsv(options) != first);
}

TEST_CASE("a sample has one row per step, on the grid, with the header",
          "[gridcastctl][sample]") {
  SampleOptions options;
  options.days = 3;
  options.resolution_seconds = 900;
  const std::string csv = SampleCsv(options);

  const auto rows = ReadAll(csv, [] {
    HistoryColumns columns;
    columns.covariates = {"temperature_c"};
    return columns;
  }());
  CHECK(absl::StartsWith(csv,
                         "timestamp,load_kw,temperature_c\n"
                         "2024-01-01T00:00:00Z,"));
  REQUIRE(rows.size() == 3 * 96);
  for (size_t i = 0; i < rows.size(); ++i) {
    REQUIRE(rows[i].timestamp == kJan1 + static_cast<int64_t>(i) * 900);
    REQUIRE(rows[i].value > 0);
  }
}

TEST_CASE("the sample load peaks in the evening and troughs at night",
          "[gridcastctl][sample]") {
  SampleOptions options;
  options.days = 28;
  SyntheticFeeder feeder(options);

  std::array<double, 24> sum{};
  std::array<int, 24> count{};
  while (!feeder.Done()) {
    const SamplePoint point = feeder.Next();
    if (IsWeekend(point.timestamp)) continue;
    sum[HourOf(point.timestamp)] += point.load_kw;
    ++count[HourOf(point.timestamp)];
  }
  std::array<double, 24> mean{};
  for (int h = 0; h < 24; ++h) mean[h] = sum[h] / count[h];

  const int peak = static_cast<int>(std::max_element(mean.begin(), mean.end()) -
                                    mean.begin());
  const int trough = static_cast<int>(
      std::min_element(mean.begin(), mean.end()) - mean.begin());
  CHECK(peak >= 17);
  CHECK(peak <= 21);
  CHECK(trough <= 5);
  // A morning peak above the midday plateau.
  CHECK(mean[8] > mean[13]);
  CHECK(mean[8] > 1.2 * mean[trough]);
}

TEST_CASE("the sample load is lower on weekends", "[gridcastctl][sample]") {
  SampleOptions options;
  options.days = 28;
  SyntheticFeeder feeder(options);

  double weekday_sum = 0;
  double weekend_sum = 0;
  int weekday_count = 0;
  int weekend_count = 0;
  while (!feeder.Done()) {
    const SamplePoint point = feeder.Next();
    if (IsWeekend(point.timestamp)) {
      weekend_sum += point.load_kw;
      ++weekend_count;
    } else {
      weekday_sum += point.load_kw;
      ++weekday_count;
    }
  }
  CHECK(weekend_sum / weekend_count < 0.95 * weekday_sum / weekday_count);
}

TEST_CASE("the sample load rises with heating in the cold",
          "[gridcastctl][sample]") {
  // Same profile hours, January against May: only the temperature differs.
  SampleOptions winter;
  winter.days = 14;
  SampleOptions spring = winter;
  spring.start_time = kJan1 + 121 * 86400;  // 2024-05-01

  const auto mean_load = [](const SampleOptions& options) {
    SyntheticFeeder feeder(options);
    double sum = 0;
    while (!feeder.Done()) sum += feeder.Next().load_kw;
    return sum / feeder.points();
  };
  CHECK(mean_load(winter) > 1.1 * mean_load(spring));
}

TEST_CASE("sample options that cannot make a history are refused",
          "[gridcastctl][sample]") {
  SampleOptions options;
  options.resolution_seconds = 7000;
  CHECK(absl::IsInvalidArgument(ValidateSampleOptions(options)));
  options = SampleOptions();
  options.days = 0;
  CHECK(absl::IsInvalidArgument(ValidateSampleOptions(options)));
}

// -------------------------------------------------------------- format

TEST_CASE("times print as ISO 8601 and for people", "[gridcastctl][format]") {
  CHECK(FormatIsoTime(kJan1 + 3600) == "2024-01-01T01:00:00Z");
  CHECK(FormatHumanTime(kJan1) == "2024-01-01 00:00:00 UTC");
  CHECK(FormatHumanTime(0) == "-");
  CHECK(FormatSeconds(3600) == "1h");
  CHECK(FormatSeconds(192) == "3m12s");
}

TEST_CASE("numbers print with about four significant digits",
          "[gridcastctl][format]") {
  CHECK(FormatNumber(812.345) == "812.3");
  CHECK(FormatNumber(0.081234) == "0.08123");
  CHECK(FormatNumber(12345.6) == "12346");
  CHECK(FormatNumber(0) == "0");
  CHECK(FormatPercent(3.214) == "3.21%");
}

TEST_CASE("a table aligns its columns", "[gridcastctl][format]") {
  Table table({"NAME", "MAE"}, {Table::Align::kLeft, Table::Align::kRight});
  table.AddRow({"feeder-17", "12.3"});
  table.AddRow({"f2", "7"});
  CHECK(table.Render() ==
        "NAME        MAE\n"
        "feeder-17  12.3\n"
        "f2            7\n");
}

TEST_CASE("the progress bar fills with the epochs", "[gridcastctl][format]") {
  CHECK(FormatProgressBar(0, 10, 10) == "[>         ]");
  CHECK(FormatProgressBar(5, 10, 10) == "[=====>    ]");
  CHECK(FormatProgressBar(10, 10, 10) == "[==========]");
}

// ---------------------------------------------------------------- args

CommandSpec UploadLikeSpec() {
  return {"upload",
          "--file FILE",
          "",
          "",
          {{"file", "FILE", ""},
           {"covariate", "NAME", "", /*repeatable=*/true},
           {"chunk-points", "N", ""},
           {"sort", "", ""}}};
}

TEST_CASE("options parse in both forms, repeatable ones accumulate",
          "[gridcastctl][args]") {
  auto parsed = ParseArgs(UploadLikeSpec(),
                          {"--file=a.csv", "--covariate", "t", "--covariate=h",
                           "--sort", "--chunk-points", "16"});
  REQUIRE(parsed.ok());
  CHECK(parsed->GetString("file") == "a.csv");
  CHECK(parsed->GetAll("covariate") == std::vector<std::string>{"t", "h"});
  CHECK(parsed->Has("sort"));
  auto chunk = parsed->GetInt("chunk-points", 8192, 2, 65536);
  REQUIRE(chunk.ok());
  CHECK(*chunk == 16);
}

TEST_CASE("command-line mistakes are usage errors", "[gridcastctl][args]") {
  const CommandSpec spec = UploadLikeSpec();
  CHECK(IsUsageError(ParseArgs(spec, {"--nope"}).status()));
  CHECK(IsUsageError(ParseArgs(spec, {"--file"}).status()));
  CHECK(IsUsageError(ParseArgs(spec, {"--sort=yes"}).status()));
  CHECK(IsUsageError(ParseArgs(spec, {"stray"}).status()));

  auto parsed = ParseArgs(spec, {"--chunk-points=1"});
  REQUIRE(parsed.ok());
  CHECK(IsUsageError(parsed->GetInt("chunk-points", 8192, 2, 65536).status()));
  CHECK(IsUsageError(parsed->GetRequired("file").status()));
  // A server's INVALID_ARGUMENT is not the user's typo.
  CHECK_FALSE(IsUsageError(absl::InvalidArgumentError("from the server")));
}

TEST_CASE("--help is honoured before other checks", "[gridcastctl][args]") {
  auto parsed = ParseArgs(UploadLikeSpec(), {"stray", "--help"});
  REQUIRE(parsed.ok());
  CHECK(parsed->help_requested());
  const std::string help = FormatHelp(UploadLikeSpec(), {});
  CHECK(absl::StrContains(help, "Usage: gridcastctl upload --file FILE"));
  CHECK(absl::StrContains(help, "--chunk-points=N"));
}

TEST_CASE("an empty or NaN load reads as a missing reading when asked",
          "[gridcastctl][csv]") {
  std::istringstream input(
      "timestamp,load_kw\n2024-01-01T00:00:00Z,1\n2024-01-01T01:00:00Z,\n"
      "2024-01-01T02:00:00Z,NaN\n");
  CsvOptions options;
  options.missing_load_as_nan = true;
  auto reader = HistoryCsvReader::Create(&input, HistoryColumns(), options);
  REQUIRE(reader.ok());
  auto rows = ReadLastRows(&*reader, 10);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 3);
  CHECK((*rows)[0].value == 1);
  CHECK(std::isnan((*rows)[1].value));
  CHECK(std::isnan((*rows)[2].value));

  std::istringstream strict("timestamp,load_kw\n2024-01-01T00:00:00Z,\n");
  auto refusing = HistoryCsvReader::Create(&strict, HistoryColumns());
  REQUIRE(refusing.ok());
  CHECK_FALSE(ReadLastRows(&*refusing, 10).ok());
}

TEST_CASE("models get shows aliases and a refused policy",
          "[gridcastctl][print]") {
  v1::Model model;
  model.set_name("feeder-17");
  model.set_served_version(7);
  (*model.mutable_aliases())["production"] = 7;
  (*model.mutable_aliases())["canary"] = 9;
  model.set_policy_error("pinned: version 12 is not published");
  v1::ModelVersion* version = model.add_versions();
  version->set_version(7);
  version->set_state(v1::VERSION_STATE_READY);
  version->mutable_spec()->mutable_linear()->set_variant(
      v1::LinearSpec::VARIANT_DECOMPOSITION);
  version->mutable_spec()->set_input_window(336);
  version->mutable_spec()->add_covariates()->set_name("temperature_c");
  version->mutable_spec()->mutable_covariates(0)->set_known_future(true);

  const std::string text = FormatModel(model);
  INFO(text);
  CHECK(absl::StrContains(text, "canary -> 9, production -> 7"));
  CHECK(absl::StrContains(
      text, "policy refused:  pinned: version 12 is not published"));
  CHECK(absl::StrContains(text, "dlinear, window 336"));
  CHECK(absl::StrContains(text, "covariate temperature_c"));
}

TEST_CASE("an evaluation shows each band's coverage and calibration",
          "[gridcastctl][print]") {
  v1::Evaluation evaluation;
  evaluation.mutable_model()->set_points(240);
  evaluation.mutable_model()->set_mae(1.5);
  evaluation.mutable_seasonal_naive()->set_mae(2.5);
  const double levels[] = {0.1, 0.5, 0.9};
  const double scales[] = {1.1234, 1.0, 0.0};
  for (int q = 0; q < 3; ++q) {
    v1::QuantileMetrics* level = evaluation.add_quantiles();
    level->set_quantile(levels[q]);
    level->set_calibration_scale(scales[q]);
  }
  v1::IntervalMetrics* band = evaluation.add_intervals();
  band->set_lower_quantile(0.1);
  band->set_upper_quantile(0.9);
  band->set_nominal_coverage(0.8);
  band->set_observed_coverage(0.7931);
  band->set_mean_width(12.5);

  const std::string expected =
      "80% band (0.1 to 0.9) held 79.3% of the actuals, mean width 12.50; "
      "calibration x1.12 / as trained";
  CHECK(FormatBands(evaluation) == expected + "\n");
  CHECK(absl::StrContains(FormatEvaluation(evaluation), expected));
  v1::Model model;
  *model.add_versions()->mutable_evaluation() = evaluation;
  CHECK(absl::StrContains(FormatModel(model), expected));
  CHECK(FormatBands(v1::Evaluation()).empty());
}

TEST_CASE("an evaluation shows MASE against daily and weekly naive",
          "[gridcastctl][print]") {
  // As a manifest from before weekly MASE stores it: without the field.
  v1::Evaluation evaluation;
  REQUIRE(FromJson(R"({"model": {"mae": 14.32, "points": "114",
                                 "mase": 0.337},
                       "seasonal_naive": {"mae": 19.06, "mase": 0.448}})",
                   "manifest.json", &evaluation)
              .ok());
  v1::Model model;
  *model.add_versions()->mutable_evaluation() = evaluation;
  CHECK(absl::StrContains(FormatEvaluation(evaluation),
                          "the model's MASE 0.337 daily (its MAE"));
  CHECK(absl::StrContains(FormatModel(model), "MASE 0.337 daily\n"));
  CHECK_FALSE(absl::StrContains(FormatModel(model), "weekly"));

  evaluation.mutable_model()->set_weekly_mase(0.9126);
  *model.mutable_versions(0)->mutable_evaluation() = evaluation;
  CHECK(absl::StrContains(FormatEvaluation(evaluation),
                          "the model's MASE 0.337 daily, 0.913 weekly"));
  CHECK(
      absl::StrContains(FormatModel(model), "MASE 0.337 daily, 0.913 weekly"));
}

TEST_CASE("anomalies print one CSV line per scored point, NaN kept",
          "[gridcastctl][print]") {
  v1::DetectAnomaliesResponse response;
  response.set_lower_quantile(0.1);
  response.set_upper_quantile(0.9);
  for (int i = 0; i < 2; ++i) {
    response.add_timestamps(1704067200 + 3600 * i);
    response.add_expected(100);
    response.add_lower(90);
    response.add_upper(110);
  }
  response.add_actual(150);
  response.add_actual(std::nan(""));
  response.add_score(2);
  response.add_score(0);
  response.add_kinds(v1::ANOMALY_KIND_SPIKE);
  response.add_kinds(v1::ANOMALY_KIND_MISSING_DATA);
  response.add_severities(v1::ANOMALY_SEVERITY_MEDIUM);
  response.add_severities(v1::ANOMALY_SEVERITY_MEDIUM);

  const std::string csv = FormatAnomalyCsv(response, "load_kw");
  CHECK(csv ==
        "timestamp,load_kw,expected,lower,upper,score,kind,severity\n"
        "2024-01-01T00:00:00Z,150.000000,100.000000,90.000000,110.000000,"
        "2.0000,SPIKE,MEDIUM\n"
        "2024-01-01T01:00:00Z,NaN,100.000000,90.000000,110.000000,0.0000,"
        "MISSING_DATA,MEDIUM\n");
  const std::string table = FormatAnomalyTable(response, "load_kw", false);
  CHECK(absl::StrContains(table, "2 points scored"));
  CHECK(absl::StrContains(table, "2 anomalous"));
}

}  // namespace
}  // namespace gridcast::ctl
