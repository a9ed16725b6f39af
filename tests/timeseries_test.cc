// Tests of the upload assembler (chunks of UploadHistory to a regular
// series) and of ValidateRegularHistory.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/timeseries/regular_series.h"
#include "common/timeseries/upload_assembler.h"
#include "tests/test_support.h"

namespace gridcast {
namespace {

using Catch::Matchers::Contains;

constexpr int64_t kHour = 3600;
constexpr int64_t kT0 = 1700000000;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<int64_t> HourlyTimes(int64_t start, int count) {
  std::vector<int64_t> times;
  for (int i = 0; i < count; ++i) times.push_back(start + i * kHour);
  return times;
}

std::vector<double> Ramp(double start, int count) {
  std::vector<double> values;
  for (int i = 0; i < count; ++i) values.push_back(start + i);
  return values;
}

v1::UploadHeader HourlyHeader(std::vector<std::string> covariate_names = {}) {
  v1::UploadHeader header;
  header.set_series_id("feeder-17");
  header.set_resolution_seconds(kHour);
  for (const std::string& name : covariate_names) {
    header.add_covariate_names(name);
  }
  return header;
}

v1::UploadHistoryRequest Chunk(const std::vector<int64_t>& timestamps,
                               const std::vector<double>& values) {
  v1::UploadHistoryRequest chunk;
  for (int64_t time : timestamps) chunk.add_timestamps(time);
  for (double value : values) chunk.add_values(value);
  return chunk;
}

v1::UploadHistoryRequest WithHeader(v1::UploadHistoryRequest chunk,
                                    const v1::UploadHeader& header) {
  *chunk.mutable_header() = header;
  return chunk;
}

v1::UploadHistoryRequest WithCovariate(v1::UploadHistoryRequest chunk,
                                       const std::string& name,
                                       const std::vector<double>& values) {
  v1::Covariate* covariate = chunk.add_covariates();
  covariate->set_name(name);
  for (double value : values) covariate->add_values(value);
  return chunk;
}

// Feeds every chunk and finishes; the first error wins.
absl::StatusOr<RegularSeries> Assemble(
    const std::vector<v1::UploadHistoryRequest>& chunks,
    UploadLimits limits = UploadLimits()) {
  UploadAssembler assembler(limits);
  for (const v1::UploadHistoryRequest& chunk : chunks) {
    absl::Status status = assembler.AddChunk(chunk);
    if (!status.ok()) return status;
  }
  return assembler.Finish();
}

// The whole upload in one chunk that carries the header.
absl::StatusOr<RegularSeries> AssembleOne(const v1::UploadHeader& header,
                                          const std::vector<int64_t>& times,
                                          const std::vector<double>& values) {
  return Assemble({WithHeader(Chunk(times, values), header)});
}

std::string MessageOf(const absl::Status& status) {
  return std::string(status.message());
}

// ---------------------------------------------------------------------------
// Happy paths.

TEST_CASE("a multi-chunk upload becomes one regular series") {
  const std::vector<double> load = testing::SyntheticHourlyLoad(72);
  const std::vector<int64_t> times =
      HourlyTimes(testing::kSyntheticStartTime, 72);
  auto part = [&](int begin, int end) {
    return Chunk({times.begin() + begin, times.begin() + end},
                 {load.begin() + begin, load.begin() + end});
  };

  auto series = Assemble(
      {WithHeader(part(0, 24), HourlyHeader()), part(24, 50), part(50, 72)});

  REQUIRE(series.ok());
  CHECK(series->series_id == "feeder-17");
  CHECK(series->resolution_seconds == kHour);
  CHECK(series->start_time == testing::kSyntheticStartTime);
  CHECK(series->end_time() == times.back());
  CHECK(series->values == load);
  CHECK(series->repairs.empty());
}

TEST_CASE("covariates of every chunk are joined in order") {
  v1::UploadHeader header = HourlyHeader({"temperature", "humidity"});
  auto first = WithCovariate(
      WithCovariate(WithHeader(Chunk(HourlyTimes(kT0, 2), {1, 2}), header),
                    "temperature", {10, 11}),
      "humidity", {50, 51});
  auto second =
      WithCovariate(WithCovariate(Chunk(HourlyTimes(kT0 + 2 * kHour, 1), {3}),
                                  "temperature", {12}),
                    "humidity", {52});

  auto series = Assemble({first, second});

  REQUIRE(series.ok());
  CHECK(series->covariate_names ==
        std::vector<std::string>{"temperature", "humidity"});
  REQUIRE(series->covariates.size() == 2);
  CHECK(series->covariates[0] == std::vector<double>{10, 11, 12});
  CHECK(series->covariates[1] == std::vector<double>{50, 51, 52});
}

TEST_CASE("holidays of the header are kept with the series") {
  v1::UploadHeader header = HourlyHeader();
  header.add_holidays(1703462400);
  header.add_holidays(1703548800);

  auto series = AssembleOne(header, HourlyTimes(kT0, 3), {1, 2, 3});

  REQUIRE(series.ok());
  CHECK(series->holidays == std::vector<int64_t>{1703462400, 1703548800});
}

TEST_CASE("a header on a later chunk is ignored") {
  v1::UploadHeader other = HourlyHeader();
  other.set_series_id("other-feeder");
  other.set_resolution_seconds(900);

  auto series = Assemble(
      {WithHeader(Chunk(HourlyTimes(kT0, 2), {1, 2}), HourlyHeader()),
       WithHeader(Chunk(HourlyTimes(kT0 + 2 * kHour, 2), {3, 4}), other)});

  REQUIRE(series.ok());
  CHECK(series->series_id == "feeder-17");
  CHECK(series->resolution_seconds == kHour);
  CHECK(series->values == std::vector<double>{1, 2, 3, 4});
}

TEST_CASE("a header-only first chunk is accepted") {
  auto series = Assemble({WithHeader(Chunk({}, {}), HourlyHeader()),
                          Chunk(HourlyTimes(kT0, 2), {1, 2})});

  REQUIRE(series.ok());
  CHECK(series->values == std::vector<double>{1, 2});
}

// ---------------------------------------------------------------------------
// Non-finite values.

TEST_CASE("a NaN value is refused naming its index across chunks") {
  auto status = Assemble(
      {WithHeader(Chunk(HourlyTimes(kT0, 3), {1, 2, 3}), HourlyHeader()),
       Chunk(HourlyTimes(kT0 + 3 * kHour, 3), {4, kNaN, 6})});

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()),
             Contains("values[4] is NaN (timestamp 1700014400)"));
}

TEST_CASE("an infinite value is refused naming its index") {
  std::vector<double> values = Ramp(1, 10);
  values[7] = kInf;
  auto positive = AssembleOne(HourlyHeader(), HourlyTimes(kT0, 10), values);
  values[7] = -kInf;
  auto negative = AssembleOne(HourlyHeader(), HourlyTimes(kT0, 10), values);

  REQUIRE(positive.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(positive.status()), Contains("values[7] is inf"));
  REQUIRE(negative.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(negative.status()), Contains("values[7] is -inf"));
}

TEST_CASE("a NaN covariate is refused naming the covariate and its index") {
  std::vector<double> temperature = Ramp(10, 8);
  temperature[4] = kNaN;
  auto first = WithCovariate(WithHeader(Chunk(HourlyTimes(kT0, 8), Ramp(1, 8)),
                                        HourlyHeader({"temperature"})),
                             "temperature", Ramp(10, 8));
  auto second =
      WithCovariate(Chunk(HourlyTimes(kT0 + 8 * kHour, 8), Ramp(9, 8)),
                    "temperature", temperature);

  auto status = Assemble({first, second});

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()),
             Contains("covariates[0] (\"temperature\") values[12] is NaN"));
}

// ---------------------------------------------------------------------------
// The header.

TEST_CASE("the first chunk must carry a header") {
  auto status = Assemble({Chunk(HourlyTimes(kT0, 2), {1, 2})});

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()), Contains("first chunk has no header"));
}

TEST_CASE("a resolution that is not positive is refused") {
  v1::UploadHeader header = HourlyHeader();
  header.set_resolution_seconds(0);
  auto zero = AssembleOne(header, HourlyTimes(kT0, 2), {1, 2});
  header.set_resolution_seconds(-60);
  auto negative = AssembleOne(header, HourlyTimes(kT0, 2), {1, 2});

  REQUIRE(zero.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(zero.status()),
             Contains("header.resolution_seconds=0 must be positive"));
  REQUIRE(negative.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(negative.status()),
             Contains("header.resolution_seconds=-60"));
}

TEST_CASE("a series id that cannot be a directory name is refused") {
  v1::UploadHeader header = HourlyHeader();
  header.set_series_id("../etc");
  auto traversal = AssembleOne(header, HourlyTimes(kT0, 2), {1, 2});
  header.clear_series_id();
  auto empty = AssembleOne(header, HourlyTimes(kT0, 2), {1, 2});

  REQUIRE(traversal.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(traversal.status()),
             Contains("header.series_id=\"../etc\""));
  REQUIRE(empty.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(empty.status()), Contains("header.series_id"));
}

TEST_CASE("an invalid covariate name is refused naming its index") {
  auto status = AssembleOne(HourlyHeader({"temperature", "wind speed"}),
                            HourlyTimes(kT0, 2), {1, 2});

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()),
             Contains("header.covariate_names[1]=\"wind speed\""));
}

TEST_CASE("a repeated covariate name is refused naming both indexes") {
  auto status =
      AssembleOne(HourlyHeader({"temperature", "humidity", "temperature"}),
                  HourlyTimes(kT0, 2), {1, 2});

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()),
             Contains("header.covariate_names[2]=\"temperature\" repeats "
                      "header.covariate_names[0]"));
}

TEST_CASE("more covariates than the limit are RESOURCE_EXHAUSTED") {
  UploadLimits limits;
  limits.max_covariates = 2;
  auto status = Assemble(
      {WithHeader(Chunk({}, {}), HourlyHeader({"a", "b", "c"}))}, limits);

  REQUIRE(status.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(MessageOf(status.status()),
             Contains("header.covariate_names has 3 entries, more than the "
                      "limit of 2"));
}

TEST_CASE("max_gap_fill_points below -1 is refused") {
  v1::UploadHeader header = HourlyHeader();
  header.set_max_gap_fill_points(-2);

  auto status = AssembleOne(header, HourlyTimes(kT0, 2), {1, 2});

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()),
             Contains("header.max_gap_fill_points=-2"));
}

// ---------------------------------------------------------------------------
// The shape of a chunk.

TEST_CASE("a chunk with fewer values than timestamps is refused") {
  auto status =
      Assemble({WithHeader(Chunk(HourlyTimes(kT0, 2), {1, 2}), HourlyHeader()),
                Chunk(HourlyTimes(kT0 + 2 * kHour, 3), {3, 4})});

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()),
             Contains("chunk 1: values has 2 entries but timestamps has 3"));
}

TEST_CASE("a chunk missing a covariate of the header is refused") {
  v1::UploadHeader header = HourlyHeader({"temperature", "humidity"});
  auto chunk =
      WithCovariate(WithHeader(Chunk(HourlyTimes(kT0, 2), {1, 2}), header),
                    "temperature", {10, 11});

  auto status = Assemble({chunk});

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()),
             Contains("chunk 0: covariates has 1 entries but "
                      "header.covariate_names has 2"));
}

TEST_CASE("a chunk's covariates must follow the header's names in order") {
  v1::UploadHeader header = HourlyHeader({"temperature", "humidity"});
  auto first = WithCovariate(
      WithCovariate(WithHeader(Chunk(HourlyTimes(kT0, 1), {1}), header),
                    "temperature", {10}),
      "humidity", {50});
  auto second =
      WithCovariate(WithCovariate(Chunk(HourlyTimes(kT0 + kHour, 1), {2}),
                                  "temperature", {11}),
                    "x", {51});

  auto status = Assemble({first, second});

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()),
             Contains("chunk 1: covariates[1] is named \"x\" but "
                      "header.covariate_names[1] is \"humidity\""));
}

TEST_CASE("a covariate needs one value per timestamp of its chunk") {
  auto chunk = WithCovariate(WithHeader(Chunk(HourlyTimes(kT0, 3), {1, 2, 3}),
                                        HourlyHeader({"temperature"})),
                             "temperature", {10, 11});

  auto status = Assemble({chunk});

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()),
             Contains("chunk 0: covariates[0] (\"temperature\") values has 2 "
                      "entries but timestamps has 3"));
}

// ---------------------------------------------------------------------------
// Order, duplicates and the grid.

TEST_CASE("a duplicate timestamp is refused naming both indexes") {
  auto status = Assemble(
      {WithHeader(Chunk(HourlyTimes(kT0, 12), Ramp(1, 12)), HourlyHeader()),
       Chunk({kT0 + 11 * kHour}, {13})});

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()),
             Contains("timestamps[12]=1700039600 duplicates timestamps[11]"));
}

TEST_CASE("a timestamp going back is refused unless sorting was asked for") {
  auto status = Assemble({WithHeader(Chunk({kT0 + kHour}, {1}), HourlyHeader()),
                          Chunk({kT0}, {2})});

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()),
             Contains("timestamps[1]=1700000000 is before "
                      "timestamps[0]=1700003600 (timestamps must increase; "
                      "set header.sort_timestamps to sort)"));
}

TEST_CASE("a bad point is refused as its chunk arrives") {
  UploadAssembler assembler;
  REQUIRE(
      assembler.AddChunk(WithHeader(Chunk({kT0 + kHour}, {1}), HourlyHeader()))
          .ok());

  absl::Status status = assembler.AddChunk(Chunk({kT0}, {2}));

  REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status), Contains("timestamps[1]=1700000000 is before"));
}

TEST_CASE("an off-grid timestamp is refused naming the grid") {
  std::vector<int64_t> times = HourlyTimes(kT0, 8);
  times[5] = kT0 + 1234;

  auto status = AssembleOne(HourlyHeader(), times, Ramp(1, 8));

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()),
             Contains("timestamps[5]=1700001234 is not on the 3600 s grid of "
                      "timestamps[0]=1700000000"));
}

TEST_CASE("an off-grid timestamp is refused also when sorting") {
  v1::UploadHeader header = HourlyHeader();
  header.set_sort_timestamps(true);

  auto status =
      AssembleOne(header, {kT0 + 2 * kHour, kT0 - 1800, kT0}, {1, 2, 3});

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()),
             Contains("timestamps[1]=1699998200 is not on the 3600 s grid of "
                      "timestamps[0]=1700007200"));
}

TEST_CASE("a timestamp in milliseconds is refused") {
  auto status =
      AssembleOne(HourlyHeader(), {kT0 * 1000, (kT0 + kHour) * 1000}, {1, 2});

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()),
             Contains("timestamps[0]=1700000000000 is outside"));
  CHECK_THAT(MessageOf(status.status()), Contains("not milliseconds"));
}

// ---------------------------------------------------------------------------
// Sorting.

TEST_CASE("out-of-order points are sorted and the sort is reported") {
  v1::UploadHeader header = HourlyHeader();
  header.set_sort_timestamps(true);
  // Arrival order 2, 0, 1, 3, 5, 4 (in hours): points 0, 1 and 4 arrive
  // after a later timestamp.
  auto series = Assemble(
      {WithHeader(Chunk({kT0 + 2 * kHour, kT0, kT0 + kHour}, {12, 10, 11}),
                  header),
       Chunk({kT0 + 3 * kHour, kT0 + 5 * kHour, kT0 + 4 * kHour},
             {13, 15, 14})});

  REQUIRE(series.ok());
  CHECK(series->start_time == kT0);
  CHECK(series->values == std::vector<double>{10, 11, 12, 13, 14, 15});
  REQUIRE(series->repairs.size() == 1);
  CHECK(series->repairs[0].kind() == v1::Repair::KIND_SORTED);
  CHECK(series->repairs[0].start_time() == kT0);
  CHECK(series->repairs[0].points() == 3);
}

TEST_CASE("covariates move with their values when sorting") {
  v1::UploadHeader header = HourlyHeader({"temperature"});
  header.set_sort_timestamps(true);
  auto chunk = WithCovariate(
      WithHeader(Chunk({kT0 + kHour, kT0 + 2 * kHour, kT0}, {2, 3, 1}), header),
      "temperature", {20, 30, 10});

  auto series = Assemble({chunk});

  REQUIRE(series.ok());
  CHECK(series->values == std::vector<double>{1, 2, 3});
  REQUIRE(series->covariates.size() == 1);
  CHECK(series->covariates[0] == std::vector<double>{10, 20, 30});
}

TEST_CASE("sorting points that arrived in order reports no repair") {
  v1::UploadHeader header = HourlyHeader();
  header.set_sort_timestamps(true);

  auto series = AssembleOne(header, HourlyTimes(kT0, 4), {1, 2, 3, 4});

  REQUIRE(series.ok());
  CHECK(series->values == std::vector<double>{1, 2, 3, 4});
  CHECK(series->repairs.empty());
}

TEST_CASE("a duplicate after sorting is refused naming both arrival indexes") {
  v1::UploadHeader header = HourlyHeader();
  header.set_sort_timestamps(true);

  auto status = AssembleOne(
      header, {kT0 + kHour, kT0, kT0 + 2 * kHour, kT0 + kHour}, {1, 2, 3, 4});

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()),
             Contains("timestamps[3]=1700003600 duplicates timestamps[0]"));
}

TEST_CASE("of two duplicates the later arrival is named, however many sort") {
  v1::UploadHeader header = HourlyHeader();
  header.set_sort_timestamps(true);
  // The same 100 hours twice, each time newest first: hour 0 arrives at
  // indexes 99 and 199. Enough points that sorting is not insertion sort.
  std::vector<int64_t> times;
  for (int pass = 0; pass < 2; ++pass) {
    for (int hour = 99; hour >= 0; --hour) times.push_back(kT0 + hour * kHour);
  }

  auto status = AssembleOne(header, times, Ramp(1, 200));

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()),
             Contains("timestamps[199]=1700000000 duplicates timestamps[99]"));
}

TEST_CASE("gaps are found and filled after sorting") {
  v1::UploadHeader header = HourlyHeader();
  header.set_sort_timestamps(true);

  auto series = AssembleOne(header, {kT0 + 3 * kHour, kT0}, {40, 10});

  REQUIRE(series.ok());
  REQUIRE(series->values.size() == 4);
  CHECK(series->values[0] == 10);
  CHECK(series->values[1] == Approx(20));
  CHECK(series->values[2] == Approx(30));
  CHECK(series->values[3] == 40);
  REQUIRE(series->repairs.size() == 2);
  CHECK(series->repairs[0].kind() == v1::Repair::KIND_SORTED);
  CHECK(series->repairs[1].kind() == v1::Repair::KIND_GAP_INTERPOLATED);
  CHECK(series->repairs[1].start_time() == kT0 + kHour);
  CHECK(series->repairs[1].points() == 2);
}

TEST_CASE("a gap too long after sorting names the arrival index before it") {
  v1::UploadHeader header = HourlyHeader();
  header.set_sort_timestamps(true);

  auto status = AssembleOne(header, {kT0 + 10 * kHour, kT0}, {2, 1});

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(
      MessageOf(status.status()),
      Contains("gap of 9 missing points after timestamps[1]=1700000000"));
}

// ---------------------------------------------------------------------------
// Gaps.

TEST_CASE("a short gap is filled by linear interpolation and reported") {
  // Hours 0, 1, then 5: hours 2, 3 and 4 are missing.
  auto series = Assemble(
      {WithHeader(Chunk(HourlyTimes(kT0, 2), {10, 20}), HourlyHeader()),
       Chunk({kT0 + 5 * kHour, kT0 + 6 * kHour}, {60, 70})});

  REQUIRE(series.ok());
  REQUIRE(series->values.size() == 7);
  CHECK(series->values[2] == Approx(30));
  CHECK(series->values[3] == Approx(40));
  CHECK(series->values[4] == Approx(50));
  CHECK(series->values[5] == 60);
  CHECK(series->end_time() == kT0 + 6 * kHour);
  REQUIRE(series->repairs.size() == 1);
  CHECK(series->repairs[0].kind() == v1::Repair::KIND_GAP_INTERPOLATED);
  CHECK(series->repairs[0].start_time() == kT0 + 2 * kHour);
  CHECK(series->repairs[0].points() == 3);
}

TEST_CASE("each gap is reported on its own") {
  auto series = AssembleOne(
      HourlyHeader(), {kT0, kT0 + 2 * kHour, kT0 + 3 * kHour, kT0 + 6 * kHour},
      {1, 3, 4, 7});

  REQUIRE(series.ok());
  CHECK(series->values.size() == 7);
  REQUIRE(series->repairs.size() == 2);
  CHECK(series->repairs[0].start_time() == kT0 + kHour);
  CHECK(series->repairs[0].points() == 1);
  CHECK(series->repairs[1].start_time() == kT0 + 4 * kHour);
  CHECK(series->repairs[1].points() == 2);
}

TEST_CASE("covariates are interpolated across a gap") {
  auto chunk = WithCovariate(WithHeader(Chunk({kT0, kT0 + 4 * kHour}, {1, 5}),
                                        HourlyHeader({"temperature"})),
                             "temperature", {-4, 4});

  auto series = Assemble({chunk});

  REQUIRE(series.ok());
  REQUIRE(series->covariates.size() == 1);
  REQUIRE(series->covariates[0].size() == 5);
  CHECK(series->covariates[0][1] == Approx(-2));
  CHECK(series->covariates[0][2] == Approx(0).margin(1e-12));
  CHECK(series->covariates[0][3] == Approx(2));
  CHECK(series->covariates[0][4] == 4);
}

// Found with tests/fuzz/upload_assembler_fuzz.cc's finiteness property:
// `to - from` overflowed to infinity, so a gap between two finite values of
// opposite sign near the largest double was filled with -inf and stored.
TEST_CASE("a gap between values near the largest double is filled finitely") {
  constexpr double kMax = std::numeric_limits<double>::max();
  auto chunk =
      WithCovariate(WithHeader(Chunk({kT0, kT0 + 3 * kHour}, {kMax, -kMax}),
                               HourlyHeader({"temperature"})),
                    "temperature", {-kMax, kMax});

  auto series = Assemble({chunk});

  REQUIRE(series.ok());
  REQUIRE(series->values.size() == 4);
  for (const std::vector<double>* column :
       {&series->values, &series->covariates[0]}) {
    for (double value : *column) {
      INFO(value);
      CHECK(std::isfinite(value));
    }
  }
  // Still a straight line: a third and two thirds of the way.
  CHECK(series->values[1] == Approx(kMax / 3));
  CHECK(series->values[2] == Approx(-kMax / 3));
  CHECK(series->covariates[0][1] == Approx(-kMax / 3));
}

TEST_CASE("a gap longer than max_gap_fill_points is refused") {
  v1::UploadHeader header = HourlyHeader();
  header.set_max_gap_fill_points(4);
  std::vector<int64_t> times = HourlyTimes(kT0, 101);
  times.push_back(times.back() + 31 * kHour);

  auto status = AssembleOne(header, times, Ramp(1, 102));

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()),
             Contains("gap of 30 missing points after "
                      "timestamps[100]=1700360000"));
  CHECK_THAT(MessageOf(status.status()),
             Contains("exceeds header.max_gap_fill_points=4"));
}

TEST_CASE("max_gap_fill_points of 0 fills up to 4 points") {
  auto four = AssembleOne(HourlyHeader(), {kT0, kT0 + 5 * kHour}, {0, 5});
  auto five = AssembleOne(HourlyHeader(), {kT0, kT0 + 6 * kHour}, {0, 6});

  REQUIRE(four.ok());
  CHECK(four->values.size() == 6);
  REQUIRE(five.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(five.status()),
             Contains("gap of 5 missing points after timestamps[0]"));
  CHECK_THAT(MessageOf(five.status()),
             Contains("header.max_gap_fill_points=4"));
}

TEST_CASE("a larger max_gap_fill_points fills longer gaps") {
  v1::UploadHeader header = HourlyHeader();
  header.set_max_gap_fill_points(10);

  auto series = AssembleOne(header, {kT0, kT0 + 11 * kHour}, {0, 11});

  REQUIRE(series.ok());
  CHECK(series->values.size() == 12);
  CHECK(series->values[7] == Approx(7));
}

TEST_CASE("max_gap_fill_points of -1 refuses every gap") {
  v1::UploadHeader header = HourlyHeader();
  header.set_max_gap_fill_points(-1);

  auto status = AssembleOne(header, {kT0, kT0 + 2 * kHour}, {0, 2});

  REQUIRE(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status.status()),
             Contains("gap of 1 missing point after timestamps[0]=1700000000"));
  CHECK_THAT(MessageOf(status.status()),
             Contains("header.max_gap_fill_points=-1"));
}

// ---------------------------------------------------------------------------
// Empty uploads and limits.

TEST_CASE("an upload without points is refused") {
  UploadAssembler no_chunks;
  auto nothing = no_chunks.Finish();
  auto header_only = Assemble({WithHeader(Chunk({}, {}), HourlyHeader())});

  REQUIRE(nothing.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(nothing.status()), Contains("upload holds no points"));
  REQUIRE(header_only.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(header_only.status()),
             Contains("upload holds no points"));
}

TEST_CASE("more points than the limit are RESOURCE_EXHAUSTED") {
  UploadLimits limits;
  limits.max_points = 10;
  auto at_limit = Assemble(
      {WithHeader(Chunk(HourlyTimes(kT0, 10), Ramp(1, 10)), HourlyHeader())},
      limits);
  auto over_limit = Assemble(
      {WithHeader(Chunk(HourlyTimes(kT0, 6), Ramp(1, 6)), HourlyHeader()),
       Chunk(HourlyTimes(kT0 + 6 * kHour, 5), Ramp(7, 5))},
      limits);

  REQUIRE(at_limit.ok());
  REQUIRE(over_limit.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(MessageOf(over_limit.status()),
             Contains("upload has 11 points; limit --max_upload_points is 10"));
}

TEST_CASE("points filled into gaps count against the limit") {
  UploadLimits limits;
  limits.max_points = 10;
  v1::UploadHeader header = HourlyHeader();
  header.set_max_gap_fill_points(100);

  auto fits = Assemble(
      {WithHeader(Chunk({kT0, kT0 + 9 * kHour}, {0, 9}), header)}, limits);
  auto too_many = Assemble(
      {WithHeader(Chunk({kT0, kT0 + 10 * kHour}, {0, 10}), header)}, limits);

  REQUIRE(fits.ok());
  CHECK(fits->values.size() == 10);
  REQUIRE(too_many.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(MessageOf(too_many.status()),
             Contains("; limit --max_upload_points is 10"));
}

TEST_CASE("a huge gap is refused without filling it") {
  v1::UploadHeader header = HourlyHeader();
  header.set_resolution_seconds(1);
  header.set_max_gap_fill_points(std::numeric_limits<int32_t>::max());
  header.set_sort_timestamps(true);

  // Two billion missing seconds: refused at once, not allocated.
  auto status = AssembleOne(header, {kT0 + 2'000'000'001, kT0}, {1, 2});

  REQUIRE(status.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(MessageOf(status.status()),
             Contains("limit --max_upload_points is 5000000"));
}

// ---------------------------------------------------------------------------
// The assembler's life cycle.

TEST_CASE("after an error every later call reports that error") {
  UploadAssembler assembler;
  REQUIRE(assembler.AddChunk(Chunk({kT0}, {1})).code() ==
          absl::StatusCode::kInvalidArgument);

  absl::Status later =
      assembler.AddChunk(WithHeader(Chunk({kT0}, {1}), HourlyHeader()));
  auto finished = assembler.Finish();

  REQUIRE(later.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(later), Contains("first chunk has no header"));
  REQUIRE(finished.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(finished.status()),
             Contains("first chunk has no header"));
}

TEST_CASE("an upload cannot be finished twice") {
  UploadAssembler assembler;
  REQUIRE(
      assembler.AddChunk(WithHeader(Chunk({kT0}, {1}), HourlyHeader())).ok());
  REQUIRE(assembler.Finish().ok());

  auto again = assembler.Finish();
  absl::Status more = assembler.AddChunk(Chunk({kT0 + kHour}, {2}));

  CHECK(again.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(more.code() == absl::StatusCode::kFailedPrecondition);
}

// ---------------------------------------------------------------------------
// ValidateRegularHistory.

v1::TimeSeries History(const std::vector<int64_t>& timestamps,
                       const std::vector<double>& values) {
  v1::TimeSeries history;
  for (int64_t time : timestamps) history.add_timestamps(time);
  for (double value : values) history.add_values(value);
  return history;
}

TEST_CASE("a regular history passes validation") {
  CHECK(ValidateRegularHistory(History(HourlyTimes(kT0, 24), Ramp(1, 24)),
                               kHour, "history")
            .ok());
  CHECK(ValidateRegularHistory(History({}, {}), kHour, "history").ok());
}

TEST_CASE("a history with more timestamps than values is refused") {
  absl::Status status = ValidateRegularHistory(
      History(HourlyTimes(kT0, 11), Ramp(1, 10)), kHour, "history");

  REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status),
             Contains("history.values has 10 entries but history.timestamps "
                      "has 11"));
}

TEST_CASE("a history with a NaN value is refused naming its index") {
  std::vector<double> values = Ramp(1, 24);
  values[17] = kNaN;

  absl::Status status = ValidateRegularHistory(
      History(HourlyTimes(kT0, 24), values), kHour, "requests[2].history");

  REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status),
             Contains("requests[2].history.values[17] is NaN"));
}

TEST_CASE("a history with an infinite value is refused naming its index") {
  std::vector<double> values = Ramp(1, 4);
  values[2] = -kInf;

  absl::Status status = ValidateRegularHistory(
      History(HourlyTimes(kT0, 4), values), kHour, "history");

  REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status), Contains("history.values[2] is -inf"));
}

TEST_CASE("a history with a gap is refused naming both timestamps") {
  std::vector<int64_t> times = HourlyTimes(kT0, 6);
  for (size_t i = 3; i < times.size(); ++i) times[i] += kHour;

  absl::Status status =
      ValidateRegularHistory(History(times, Ramp(1, 6)), kHour, "history");

  REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status),
             Contains("history.timestamps[3]=1700014400 is not 3600 s after "
                      "history.timestamps[2]=1700007200"));
}

TEST_CASE("a history at another resolution is refused") {
  std::vector<int64_t> times;
  for (int i = 0; i < 4; ++i) times.push_back(kT0 + i * 900);

  absl::Status status =
      ValidateRegularHistory(History(times, Ramp(1, 4)), kHour, "history");

  REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status),
             Contains("history.timestamps[1]=1700000900 is not 3600 s after"));
}

TEST_CASE("a history going back in time is refused") {
  absl::Status status = ValidateRegularHistory(
      History({kT0 + kHour, kT0}, {1, 2}), kHour, "history");

  REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status), Contains("history.timestamps[1]=1700000000"));
}

TEST_CASE("history timestamps near the int64 limit do not overflow") {
  const int64_t max = std::numeric_limits<int64_t>::max();

  absl::Status status = ValidateRegularHistory(
      History({max - 10, std::numeric_limits<int64_t>::min()}, {1, 2}), kHour,
      "history");

  REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status), Contains("history.timestamps[1]"));
}

}  // namespace
}  // namespace gridcast
