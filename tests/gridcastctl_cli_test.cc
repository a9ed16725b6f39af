// The gridcastctl binary against real servers on loopback: what a script
// sees (exit codes, the one error line, stdout), local-time uploads with
// their DST report, training with plain progress lines when stderr is not
// a terminal, and a forecast with its plot.
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "tests/cluster.h"
#include "tests/test_support.h"

namespace gridcast::testing {
namespace {

struct CtlResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Quote(const std::string& word) {
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted.push_back(c);
    }
  }
  return quoted + "'";
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Runs build/tools/gridcastctl with `args` against the cluster's servers;
// stdout and stderr are pipes and files, as in a script.
CtlResult RunCtl(Cluster& cluster, const TempDir& dir,
                 const std::vector<std::string>& args) {
  std::string command =
      Quote(absl::StrCat(GRIDCAST_BINARY_DIR, "/tools/gridcastctl"));
  absl::StrAppend(&command, " --trainer=", cluster.trainer().address(),
                  " --forecaster=", cluster.inference().address());
  for (const std::string& arg : args)
    absl::StrAppend(&command, " ", Quote(arg));
  const std::string err_path = dir.path() + "/stderr.txt";
  absl::StrAppend(&command, " 2>", Quote(err_path), " </dev/null");

  CtlResult result;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  size_t read = 0;
  while ((read = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    result.out.append(buffer, read);
  }
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.err = ReadFile(err_path);
  return result;
}

// Runs gridcastctl and returns its exit code and peak resident memory in
// KiB. A child's peak counts the memory of the process it was forked from
// until it execs, so a small Python process starts it, not this test
// binary with LibTorch loaded.
std::pair<int, long> RunCtlMeasured(Cluster& cluster,
                                    const std::vector<std::string>& args) {
  std::string command = absl::StrCat(
      "python3 -c 'import resource, subprocess, sys\n"
      "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)"
      ".returncode\n"
      "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' ",
      Quote(absl::StrCat(GRIDCAST_BINARY_DIR, "/tools/gridcastctl")),
      " --trainer=", cluster.trainer().address());
  for (const std::string& arg : args)
    absl::StrAppend(&command, " ", Quote(arg));

  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  int exit_code = -1;
  long peak_kib = -1;
  REQUIRE(fscanf(pipe, "%d %ld", &exit_code, &peak_kib) == 2);
  REQUIRE(pclose(pipe) == 0);
  return {exit_code, peak_kib};
}

// The same under a pseudo-terminal made by script(1), as an operator at a
// terminal sees it: stdout and stderr together.
CtlResult RunCtlOnTerminal(Cluster& cluster,
                           const std::vector<std::string>& args) {
  std::string command =
      Quote(absl::StrCat(GRIDCAST_BINARY_DIR, "/tools/gridcastctl"));
  absl::StrAppend(&command, " --trainer=", cluster.trainer().address(),
                  " --forecaster=", cluster.inference().address());
  for (const std::string& arg : args)
    absl::StrAppend(&command, " ", Quote(arg));
  const std::string script =
      absl::StrCat("script -qec ", Quote(command), " /dev/null </dev/null");

  CtlResult result;
  FILE* pipe = popen(script.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  size_t read = 0;
  while ((read = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    result.out.append(buffer, read);
  }
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string WriteFile(const TempDir& dir, const std::string& name,
                      const std::string& text) {
  const std::string path = dir.path() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// Hourly `hours` of synthetic load from 2024-01-01T00:00Z as a CSV.
std::string HourlyCsv(int hours) {
  const std::vector<double> load = SyntheticHourlyLoad(hours);
  std::string csv = "timestamp,load_kw\n";
  for (int i = 0; i < hours; ++i) {
    absl::StrAppend(&csv, kSyntheticStartTime + int64_t{i} * 3600, ",", load[i],
                    "\n");
  }
  return csv;
}

int DatasetCount(Cluster& cluster) {
  grpc::ClientContext context;
  v1::ListDatasetsResponse response;
  REQUIRE(cluster.trainer_stub()
              .ListDatasets(&context, v1::ListDatasetsRequest(), &response)
              .ok());
  return response.datasets_size();
}

// The commands that `gridcastctl --help` lists, such as "jobs get": each
// line under "Commands:" is the name, two or more spaces, the summary.
std::vector<std::string> CommandNames(const std::string& overview) {
  const size_t start = overview.find("Commands:\n");
  REQUIRE(start != std::string::npos);
  const size_t end = overview.find("\n\n", start);
  const std::string list = overview.substr(start, end - start);
  std::vector<std::string> names;
  for (absl::string_view line : absl::StrSplit(list, '\n')) {
    if (!absl::ConsumePrefix(&line, "  ")) continue;
    names.emplace_back(line.substr(0, line.find("  ")));
  }
  return names;
}

TEST_CASE("gridcastctl's exit codes tell usage, file and server errors apart",
          "[gridcastctl][cli][e2e]") {
  Cluster cluster;
  TempDir dir;

  SECTION("a missing option is a usage error: 2") {
    const CtlResult result = RunCtl(cluster, dir, {"upload", "--series", "f"});
    CHECK(result.exit_code == 2);
    CHECK(result.err == "gridcastctl: --file is required\n");
  }
  SECTION("an unknown command is a usage error: 2") {
    const CtlResult result = RunCtl(cluster, dir, {"forcast"});
    CHECK(result.exit_code == 2);
    CHECK(absl::StrContains(result.err, "unknown command \"forcast\""));
  }
  SECTION("a file that is not there is a local failure: 1") {
    const CtlResult result =
        RunCtl(cluster, dir,
               {"upload", "--file", dir.path() + "/none.csv", "--series", "f"});
    CHECK(result.exit_code == 1);
    CHECK(absl::StrContains(result.err, "none.csv: No such file"));
  }
  SECTION("a bad line is a local failure naming it: 1, nothing stored") {
    std::string csv = HourlyCsv(300);
    csv += "2024-01-13T12:00:00Z,lots\n";
    const std::string path = WriteFile(dir, "bad.csv", csv);
    const CtlResult result = RunCtl(
        cluster, dir,
        {"upload", "--file", path, "--series", "f", "--chunk-points", "64"});
    CHECK(result.exit_code == 1);
    CHECK(result.err == absl::StrCat("gridcastctl: reading ", path,
                                     ": line 302, column load_kw: \"lots\" "
                                     "is not a number\n"));
    CHECK(DatasetCount(cluster) == 0);
  }
  SECTION("a refusal by the server: 3 with the gRPC code's name") {
    const CtlResult result = RunCtl(cluster, dir, {"models", "get", "nope"});
    CHECK(result.exit_code == 3);
    CHECK(absl::StartsWith(result.err,
                           "gridcastctl: getting model nope: NOT_FOUND: "));
  }
  SECTION("a server that cannot be reached: 3, UNAVAILABLE") {
    const CtlResult result = RunCtl(
        cluster, dir,
        {"models", "list", "--forecaster", "127.0.0.1:1", "--timeout", "5"});
    CHECK(result.exit_code == 3);
    CHECK(absl::StartsWith(result.err,
                           "gridcastctl: listing models: UNAVAILABLE: "));
  }
  SECTION("a plot file that is neither .svg nor .png is a usage error: 2") {
    const CtlResult result = RunCtl(cluster, dir,
                                    {"forecast", "--model", "m", "--history",
                                     "h.csv", "--plot", "forecast.jpg"});
    CHECK(result.exit_code == 2);
    CHECK(result.err ==
          "gridcastctl: --plot forecast.jpg: the file name must end in .svg "
          "or .png\n");
  }
  SECTION("every command's --help lists the exit codes") {
    const CtlResult overview = RunCtl(cluster, dir, {"--help"});
    REQUIRE(overview.exit_code == 0);
    const std::vector<std::string> commands = CommandNames(overview.out);
    for (const char* expected :
         {"sample", "upload", "datasets delete", "finetune", "jobs watch",
          "models list", "forecast", "anomalies"}) {
      CHECK(std::count(commands.begin(), commands.end(), expected) == 1);
    }
    for (const std::string& command : commands) {
      INFO(command);
      std::vector<std::string> args = absl::StrSplit(command, ' ');
      args.push_back("--help");
      const CtlResult result = RunCtl(cluster, dir, args);
      CHECK(result.exit_code == 0);
      CHECK(absl::StartsWith(result.out,
                             absl::StrCat("Usage: gridcastctl ", command)));
      CHECK(absl::StrContains(result.out, "Exit status:"));
      CHECK(absl::StrContains(result.out, "3  the server refused"));
    }
  }
}

TEST_CASE("an upload in local time reports the clock changes it crossed",
          "[gridcastctl][cli][e2e]") {
  Cluster cluster;
  TempDir dir;

  // 15-minute readings in Berlin wall-clock time, 2024-10-26 .. 10-28:
  // the hour 02:00-03:00 on the 27th appears twice.
  absl::TimeZone berlin;
  REQUIRE(absl::LoadTimeZone("Europe/Berlin", &berlin));
  const absl::Time start =
      absl::FromCivil(absl::CivilMinute(2024, 10, 26, 0, 0), berlin);
  constexpr int kPoints = 3 * 96 + 4;
  std::string csv = "time;load\n";
  for (int i = 0; i < kPoints; ++i) {
    const absl::Time at = start + absl::Minutes(15) * i;
    absl::StrAppend(&csv, absl::FormatTime("%Y-%m-%d %H:%M", at, berlin), ";",
                    500 + i % 96, "\n");
  }
  const std::string path = WriteFile(dir, "scada.csv", csv);

  const CtlResult result =
      RunCtl(cluster, dir,
             {"upload", "--file", path, "--series", "feeder-9", "--timezone",
              "Europe/Berlin", "--delimiter", ";", "--timestamp-column", "1",
              "--value-column", "2", "--chunk-points", "50"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(absl::StrContains(result.out, absl::StrCat("points:", "")));
  CHECK(absl::StrContains(result.out, absl::StrCat(kPoints, " every 15m")));
  CHECK(absl::StrContains(result.out, "repairs:     none"));
  CHECK(absl::StrContains(
      result.out,
      "2024-10-27: clocks went back from 03:00 to 02:00 (+02:00 to +01:00); "
      "of the repeated local times, 4 rows were read as +02:00 (first pass) "
      "and 4 as +01:00 (second pass)"));
  CHECK(DatasetCount(cluster) == 1);
}

TEST_CASE("ten years of 15-minute data upload in the memory of one chunk",
          "[gridcastctl][cli][e2e][upload]") {
  Cluster cluster;
  TempDir dir;

  // 350,688 rows, about 11 MB of CSV, and a day of the same for comparison.
  const std::string big = dir.path() + "/decade.csv";
  const std::string small = dir.path() + "/day.csv";
  REQUIRE(
      RunCtl(cluster, dir,
             {"sample", "--out", big, "--days", "3653", "--resolution", "900"})
          .exit_code == 0);
  REQUIRE(
      RunCtl(cluster, dir,
             {"sample", "--out", small, "--days", "1", "--resolution", "900"})
          .exit_code == 0);
  std::ifstream file(big, std::ios::ate);
  const long file_kib = static_cast<long>(file.tellg()) / 1024;
  REQUIRE(file_kib > 10 * 1024);

  const auto [small_exit, small_kib] =
      RunCtlMeasured(cluster, {"upload", "--file", small, "--series", "day",
                               "--covariate", "temperature_c", "--quiet"});
  REQUIRE(small_exit == 0);
  const auto [big_exit, big_kib] = RunCtlMeasured(
      cluster, {"upload", "--file", big, "--series", "decade", "--covariate",
                "temperature_c", "--chunk-points", "8192", "--quiet"});
  REQUIRE(big_exit == 0);
  INFO("peak RSS: day " << small_kib << " KiB, decade " << big_kib
                        << " KiB, file " << file_kib << " KiB");

  // Holding the file, or its rows, would cost more than the file's size;
  // a chunk of 8192 rows costs about 200 KiB.
  CHECK(big_kib - small_kib < file_kib / 4);

  grpc::ClientContext context;
  v1::ListDatasetsRequest request;
  request.set_series_id("decade");
  v1::ListDatasetsResponse response;
  REQUIRE(
      cluster.trainer_stub().ListDatasets(&context, request, &response).ok());
  REQUIRE(response.datasets_size() == 1);
  CHECK(response.datasets(0).points() == 3653 * 96);
}

TEST_CASE("train, wait and forecast with a plot, as a script runs them",
          "[gridcastctl][cli][e2e]") {
  Cluster cluster;
  TempDir dir;
  const std::string history = WriteFile(dir, "feeder.csv", HourlyCsv(24 * 30));

  const CtlResult upload =
      RunCtl(cluster, dir,
             {"upload", "--file", history, "--series", "feeder-17", "--quiet"});
  REQUIRE(upload.exit_code == 0);
  const std::string dataset(absl::StripSuffix(upload.out, "\n"));
  CHECK(absl::StartsWith(dataset, "ds-"));

  const CtlResult train =
      RunCtl(cluster, dir,
             {"train", "--model", "feeder-17", "--dataset", dataset, "--window",
              "24", "--horizon", "6", "--hidden", "16", "--epochs", "3",
              "--allow-rejected"});
  INFO(train.err);
  REQUIRE(train.exit_code == 0);
  CHECK(absl::StrContains(train.out, "SUCCEEDED: model feeder-17 version 1"));
  // Not a terminal: one plain line per epoch, never redrawn in place.
  CHECK(absl::StrContains(train.err, "\nepoch 1/3 train "));
  CHECK(absl::StrContains(train.err, "\nepoch 3/3 train "));
  CHECK_FALSE(absl::StrContains(train.err, "\r"));

  const CtlResult wait = RunCtl(cluster, dir,
                                {"models", "get", "feeder-17", "--wait-version",
                                 "1", "--wait-timeout", "60"});
  REQUIRE(wait.exit_code == 0);
  CHECK(absl::StrContains(wait.out, "version 1  READY  (served)"));

  const std::string plot = dir.path() + "/forecast.svg";
  const CtlResult forecast =
      RunCtl(cluster, dir,
             {"forecast", "--model", "feeder-17", "--history", history,
              "--format", "csv", "--plot", plot, "--plot-history", "48"});
  INFO(forecast.err);
  REQUIRE(forecast.exit_code == 0);
  // A header and six points, the first one hour after the history.
  CHECK(absl::StartsWith(forecast.out,
                         "timestamp,load_kw\n2024-01-31T00:00:00Z,"));
  CHECK(std::count(forecast.out.begin(), forecast.out.end(), '\n') == 7);
  const std::string svg = ReadFile(plot);
  // Two days drawn, though the model reads (and is sent) one.
  const size_t history_at = svg.find("<polyline id=\"history\"");
  REQUIRE(history_at != std::string::npos);
  const std::string element =
      svg.substr(history_at, svg.find('>', history_at) - history_at);
  CHECK(std::count(element.begin(), element.end(), ',') == 48);
  CHECK(absl::StrContains(svg, "<polyline id=\"forecast\""));
  CHECK(absl::EndsWith(svg, "</svg>\n"));

  // The same picture as a PNG, chosen by the file name.
  const std::string png_path = dir.path() + "/forecast.png";
  const CtlResult png_forecast =
      RunCtl(cluster, dir,
             {"forecast", "--model", "feeder-17", "--history", history,
              "--format", "csv", "--plot", png_path});
  INFO(png_forecast.err);
  REQUIRE(png_forecast.exit_code == 0);
  CHECK(png_forecast.out == forecast.out);
  const std::string png = ReadFile(png_path);
  REQUIRE(png.size() > 33);
  CHECK(png.substr(0, 16) ==
        std::string("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16));
  // 960 x 480, 8-bit RGB.
  CHECK(png.substr(16, 10) ==
        std::string("\0\0\x03\xc0\0\0\x01\xe0\x08\x02", 10));

  SECTION("on a terminal, progress is one bar redrawn in place with an ETA") {
    const CtlResult train = RunCtlOnTerminal(
        cluster, {"train", "--model", "feeder-19", "--dataset", dataset,
                  "--window", "24", "--horizon", "6", "--hidden", "16",
                  "--epochs", "4", "--patience", "4", "--allow-rejected"});
    INFO(train.out);
    CHECK(train.exit_code == 0);
    CHECK(absl::StrContains(train.out, "\repoch 1/4 [=====>"));
    CHECK(absl::StrContains(
        train.out, absl::StrCat("\repoch 4/4 [", std::string(20, '='), "]")));
    CHECK(absl::StrContains(train.out, " eta "));
    CHECK(absl::StrContains(train.out, "\033[K"));
  }
  SECTION("a version the quality gate rejects: 6, and it is not served") {
    // Three epochs of a small network lose to same-hour-last-week on this
    // strongly weekly load.
    const CtlResult rejected = RunCtl(
        cluster, dir,
        {"train", "--model", "feeder-20", "--dataset", dataset, "--window",
         "24", "--horizon", "6", "--hidden", "16", "--epochs", "3"});
    CHECK(rejected.exit_code == 6);
    CHECK(absl::StrContains(rejected.out, "SUCCEEDED: model feeder-20"));
    CHECK(
        absl::StrContains(rejected.err,
                          "model feeder-20 version 1 is REJECTED and will not "
                          "be served: quality gate: "));
    // Inference shows it as rejected once its poll has found it.
    CHECK(WaitFor(
        [&] {
          const CtlResult model =
              RunCtl(cluster, dir, {"models", "get", "feeder-20"});
          return absl::StrContains(model.out, "REJECTED");
        },
        std::chrono::seconds(20)));
  }
  SECTION("a wait for a version that never comes times out: 5") {
    const CtlResult timeout =
        RunCtl(cluster, dir,
               {"models", "get", "feeder-17", "--wait-version", "2",
                "--wait-timeout", "0.5"});
    CHECK(timeout.exit_code == 5);
    CHECK(absl::StrContains(timeout.err, "timed out"));
  }
  SECTION("a job refused at creation: 3; a cancelled job: 4") {
    const CtlResult refused =
        RunCtl(cluster, dir,
               {"train", "--model", "feeder-18", "--dataset", dataset,
                "--window", "600", "--horizon", "24", "--epochs", "1"});
    CHECK(refused.exit_code == 3);
    CHECK(absl::StrContains(refused.err, "FAILED_PRECONDITION: "));

    const CtlResult queued =
        RunCtl(cluster, dir,
               {"train", "--model", "feeder-18", "--dataset", dataset,
                "--window", "24", "--horizon", "6", "--hidden", "16",
                "--epochs", "10000", "--patience", "10000", "--no-watch"});
    REQUIRE(queued.exit_code == 0);
    const std::string job(absl::StripSuffix(queued.out, "\n"));
    CHECK(RunCtl(cluster, dir, {"jobs", "cancel", job}).exit_code == 0);

    const CtlResult watched = RunCtl(cluster, dir, {"jobs", "watch", job});
    CHECK(watched.exit_code == 4);
    CHECK(absl::StrContains(
        watched.err, absl::StrCat("gridcastctl: job ", job, " CANCELLED: ")));
  }
}

// The lines of a CSV file, header first.
std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(absl::StripSuffix(text, "\n"), '\n');
}

TEST_CASE(
    "a model with temperature and bands forecasts and flags anomalies "
    "from the command line",
    "[gridcastctl][cli][e2e][anomalies]") {
  Cluster cluster;
  TempDir dir;
  const std::string all = dir.path() + "/all.csv";
  REQUIRE(RunCtl(cluster, dir,
                 {"sample", "--out", all, "--days", "35", "--seed", "5"})
              .exit_code == 0);
  std::vector<std::string> rows = Lines(ReadFile(all));
  // The last day held back: its temperature is the weather forecast.
  const std::vector<std::string> history_rows(rows.begin(), rows.end() - 24);
  const std::string history =
      WriteFile(dir, "history.csv", absl::StrJoin(history_rows, "\n") + "\n");
  std::string future = "timestamp,temperature_c\n";
  for (auto row = rows.end() - 24; row != rows.end(); ++row) {
    const std::vector<std::string> fields = absl::StrSplit(*row, ',');
    absl::StrAppend(&future, fields[0], ",", fields[2], "\n");
  }
  const std::string future_path = WriteFile(dir, "future.csv", future);

  const CtlResult upload =
      RunCtl(cluster, dir,
             {"upload", "--file", history, "--series", "feeder-5",
              "--covariate", "temperature_c", "--quiet"});
  REQUIRE(upload.exit_code == 0);
  const std::string dataset(absl::StripSuffix(upload.out, "\n"));
  const CtlResult train = RunCtl(cluster, dir,
                                 {"train",
                                  "--model",
                                  "feeder-5",
                                  "--dataset",
                                  dataset,
                                  "--family",
                                  "nlinear",
                                  "--window",
                                  "48",
                                  "--horizon",
                                  "24",
                                  "--covariate",
                                  "temperature_c",
                                  "--quantiles",
                                  "0.05,0.5,0.95",
                                  "--epochs",
                                  "5",
                                  "--learning-rate-decay",
                                  "0.7",
                                  "--no-calendar",
                                  "--allow-rejected"});
  INFO(train.err);
  REQUIRE(train.exit_code == 0);
  REQUIRE(RunCtl(cluster, dir,
                 {"models", "get", "feeder-5", "--wait-version", "1",
                  "--wait-timeout", "60"})
              .exit_code == 0);

  SECTION("models get shows the network as the flags asked for it") {
    const CtlResult shown = RunCtl(cluster, dir, {"models", "get", "feeder-5"});
    REQUIRE(shown.exit_code == 0);
    CHECK(absl::StrContains(shown.out,
                            "nlinear, window 48, horizon 24, quantiles "
                            "0.05,0.5,0.95, covariate temperature_c, no "
                            "calendar"));
  }
  SECTION("without the temperature forecast: a usage error naming it") {
    const CtlResult refused =
        RunCtl(cluster, dir,
               {"forecast", "--model", "feeder-5", "--history", history});
    CHECK(refused.exit_code == 2);
    CHECK(absl::StrContains(refused.err, "temperature_c"));
    CHECK(absl::StrContains(refused.err, "--future"));
  }
  SECTION("with it: 24 points and their bands after the history") {
    const CtlResult forecast =
        RunCtl(cluster, dir,
               {"forecast", "--model", "feeder-5", "--history", history,
                "--future", future_path, "--format", "csv"});
    INFO(forecast.err);
    REQUIRE(forecast.exit_code == 0);
    const std::vector<std::string> lines = Lines(forecast.out);
    REQUIRE(lines.size() == 25);
    CHECK(lines[0] == "timestamp,load_kw,q0.05,q0.5,q0.95");
    CHECK(absl::StartsWith(lines[1], rows[rows.size() - 24].substr(0, 20)));
  }
  SECTION("anomalies: a spike, a blank reading and an absent row") {
    // The last 24 rows of the history are scored; three are spoilt.
    std::vector<std::string> spoilt = history_rows;
    const size_t n = spoilt.size();
    std::vector<std::string> fields = absl::StrSplit(spoilt[n - 5], ',');
    fields[1] = absl::StrCat(std::stod(fields[1]) * 4 + 500);
    spoilt[n - 5] = absl::StrJoin(fields, ",");
    fields = absl::StrSplit(spoilt[n - 10], ',');
    fields[1] = "";
    spoilt[n - 10] = absl::StrJoin(fields, ",");
    const std::string absent_time = spoilt[n - 15].substr(0, 20);
    spoilt.erase(spoilt.begin() + (n - 15));
    const std::string path =
        WriteFile(dir, "spoilt.csv", absl::StrJoin(spoilt, "\n") + "\n");

    const CtlResult scored = RunCtl(cluster, dir,
                                    {"anomalies", "--model", "feeder-5",
                                     "--history", path, "--format", "csv"});
    INFO(scored.err);
    REQUIRE(scored.exit_code == 0);
    CHECK(absl::StrContains(scored.err, "1 rows absent"));
    const std::vector<std::string> lines = Lines(scored.out);
    REQUIRE(lines.size() == 25);
    CHECK(lines[0] ==
          "timestamp,load_kw,expected,lower,upper,score,kind,severity");
    // Scored rows are the last 24 of the regular series, oldest first.
    CHECK(absl::StrContains(lines[24 - 4], ",SPIKE,"));
    CHECK(absl::StrContains(lines[24 - 9], ",NaN,"));
    CHECK(absl::StrContains(lines[24 - 9], ",MISSING_DATA,"));
    CHECK(absl::StartsWith(lines[24 - 14], absent_time));
    CHECK(absl::StrContains(lines[24 - 14], ",MISSING_DATA,"));

    const CtlResult table = RunCtl(
        cluster, dir, {"anomalies", "--model", "feeder-5", "--history", path});
    REQUIRE(table.exit_code == 0);
    CHECK(absl::StrContains(table.out, "24 points scored against the"));
    CHECK(absl::StrContains(table.out, "SPIKE"));
  }
  SECTION("anomalies with a band the model lacks: the server's refusal") {
    const CtlResult refused =
        RunCtl(cluster, dir,
               {"anomalies", "--model", "feeder-5", "--history", history,
                "--band", "0.2,0.8"});
    CHECK(refused.exit_code == 3);
    CHECK(absl::StrContains(refused.err, "INVALID_ARGUMENT"));
  }
}

// The cells of a line of a gridcastctl table: columns are two or more
// spaces apart, and a cell holds single spaces at most.
std::vector<std::string> Cells(absl::string_view line) {
  std::vector<std::string> cells;
  for (absl::string_view piece : absl::StrSplit(line, "  ")) {
    piece = absl::StripAsciiWhitespace(piece);
    if (!piece.empty()) cells.emplace_back(piece);
  }
  return cells;
}

// The rows of a table printed on stdout, the header first.
std::vector<std::vector<std::string>> TableRows(const std::string& out) {
  std::vector<std::vector<std::string>> rows;
  for (const std::string& line : Lines(out)) rows.push_back(Cells(line));
  return rows;
}

// The row whose first cell is `id`; empty when there is none.
std::vector<std::string> RowOf(
    const std::vector<std::vector<std::string>>& rows, const std::string& id) {
  for (const std::vector<std::string>& row : rows) {
    if (!row.empty() && row[0] == id) return row;
  }
  return {};
}

// The "key:  value" lines of a record such as `jobs get` prints, up to the
// first blank line; a value's further lines are left out.
std::map<std::string, std::string> Fields(const std::string& out) {
  std::map<std::string, std::string> fields;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (line.empty()) break;
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos || line[0] == ' ') continue;
    fields[std::string(line.substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return fields;
}

// The job id of train's or finetune's "job ID SUCCEEDED: ..." line.
std::string JobIdOf(const std::string& out) {
  REQUIRE(absl::StartsWith(out, "job "));
  return out.substr(4, out.find(' ', 4) - 4);
}

std::string Upload(Cluster& cluster, const TempDir& dir,
                   const std::string& path, const std::string& series) {
  const CtlResult upload = RunCtl(
      cluster, dir, {"upload", "--file", path, "--series", series, "--quiet"});
  INFO(upload.err);
  REQUIRE(upload.exit_code == 0);
  return std::string(absl::StripSuffix(upload.out, "\n"));
}

TEST_CASE("datasets, jobs and models list what the servers hold",
          "[gridcastctl][cli][e2e]") {
  Cluster cluster;
  TempDir dir;

  // Nothing stored yet: an empty list is a note on stderr, not an error.
  const std::vector<std::pair<std::vector<std::string>, std::string>> empty = {
      {{"datasets", "list"}, "no datasets\n"},
      {{"jobs", "list"}, "no training jobs\n"},
      {{"models", "list"}, "no models\n"}};
  for (const auto& [args, note] : empty) {
    const CtlResult result = RunCtl(cluster, dir, args);
    CHECK(result.exit_code == 0);
    CHECK(result.out.empty());
    CHECK(result.err == note);
  }

  // 30 days of feeder-21 to train on, 21 days of feeder-22 to fine-tune on.
  const std::string history =
      WriteFile(dir, "feeder-21.csv", HourlyCsv(24 * 30));
  const std::string dataset = Upload(cluster, dir, history, "feeder-21");
  const std::string recent_dataset =
      Upload(cluster, dir, WriteFile(dir, "feeder-22.csv", HourlyCsv(24 * 21)),
             "feeder-22");

  const CtlResult datasets = RunCtl(cluster, dir, {"datasets", "list"});
  REQUIRE(datasets.exit_code == 0);
  const std::vector<std::vector<std::string>> dataset_rows =
      TableRows(datasets.out);
  REQUIRE(dataset_rows.size() == 3);
  CHECK(dataset_rows[0] == std::vector<std::string>{
                               "ID", "SERIES", "EVERY", "POINTS", "FROM (UTC)",
                               "TO (UTC)", "REPAIRS", "CREATED (UTC)"});
  std::vector<std::string> row = RowOf(dataset_rows, dataset);
  REQUIRE(row.size() == 8);
  CHECK(std::vector<std::string>(row.begin() + 1, row.end() - 1) ==
        std::vector<std::string>{"feeder-21", "1h", "720", "2024-01-01 00:00",
                                 "2024-01-30 23:00", "0"});
  const CtlResult one_series =
      RunCtl(cluster, dir, {"datasets", "list", "--series", "feeder-22"});
  REQUIRE(one_series.exit_code == 0);
  const std::vector<std::vector<std::string>> series_rows =
      TableRows(one_series.out);
  REQUIRE(series_rows.size() == 2);
  CHECK(series_rows[1][0] == recent_dataset);
  CHECK(series_rows[1][3] == "504");

  // A model, then a version fine-tuned from it on the other feeder.
  const CtlResult train =
      RunCtl(cluster, dir,
             {"train", "--model", "feeder-21", "--dataset", dataset, "--window",
              "24", "--horizon", "6", "--hidden", "16", "--epochs", "3",
              "--patience", "3", "--allow-rejected"});
  INFO(train.err);
  REQUIRE(train.exit_code == 0);
  const std::string job = JobIdOf(train.out);
  const CtlResult finetune = RunCtl(
      cluster, dir,
      {"finetune", "--model", "feeder-21", "--base-model", "feeder-21",
       "--dataset", recent_dataset, "--epochs", "2", "--allow-rejected"});
  INFO(finetune.err);
  REQUIRE(finetune.exit_code == 0);
  CHECK(absl::StrContains(finetune.out,
                          " SUCCEEDED: model feeder-21 version 2 published\n"));
  CHECK(absl::StrContains(finetune.out, "\nseasonal naive "));
  CHECK(absl::StrContains(finetune.err, "\nepoch 2/2 train "));
  const std::string finetune_job = JobIdOf(finetune.out);
  CHECK(finetune_job != job);
  // Served from here on: every forecast below comes from version 2.
  REQUIRE(RunCtl(cluster, dir,
                 {"models", "get", "feeder-21", "--wait-version", "2",
                  "--wait-timeout", "60"})
              .exit_code == 0);

  SECTION("jobs list: both jobs, with their epochs and versions") {
    const CtlResult jobs = RunCtl(cluster, dir, {"jobs", "list"});
    REQUIRE(jobs.exit_code == 0);
    const std::vector<std::vector<std::string>> rows = TableRows(jobs.out);
    REQUIRE(rows.size() == 3);
    CHECK(rows[0] == std::vector<std::string>{"ID", "MODEL", "STATE", "EPOCH",
                                              "VERSION", "CREATED (UTC)",
                                              "ERROR"});
    row = RowOf(rows, job);
    REQUIRE(row.size() >= 5);
    CHECK(std::vector<std::string>(row.begin() + 1, row.begin() + 5) ==
          std::vector<std::string>{"feeder-21", "SUCCEEDED", "3/3", "1"});
    row = RowOf(rows, finetune_job);
    REQUIRE(row.size() >= 5);
    CHECK(std::vector<std::string>(row.begin() + 1, row.begin() + 5) ==
          std::vector<std::string>{"feeder-21", "SUCCEEDED", "2/2", "2"});

    const CtlResult other =
        RunCtl(cluster, dir, {"jobs", "list", "--model", "feeder-99"});
    CHECK(other.exit_code == 0);
    CHECK(other.out.empty());
  }
  SECTION("jobs get: the network of a training, the base of a fine-tune") {
    const CtlResult trained = RunCtl(cluster, dir, {"jobs", "get", job});
    REQUIRE(trained.exit_code == 0);
    std::map<std::string, std::string> fields = Fields(trained.out);
    CHECK(fields["job"] == job);
    CHECK(fields["model"] == "feeder-21");
    CHECK(fields["state"] == "SUCCEEDED");
    CHECK(fields["datasets"] == dataset);
    CHECK(fields["network"] == "mlp 16, window 24, horizon 6");
    CHECK(fields.count("fine-tunes") == 0);
    CHECK(absl::StartsWith(fields["epoch"], "3/3, train "));
    CHECK(fields["published"] == "version 1");
    CHECK(absl::StrContains(trained.out, "\nevaluation on the held-out tail"));

    const CtlResult tuned = RunCtl(cluster, dir, {"jobs", "get", finetune_job});
    REQUIRE(tuned.exit_code == 0);
    fields = Fields(tuned.out);
    CHECK(fields["datasets"] == recent_dataset);
    CHECK(fields["fine-tunes"] == "feeder-21 version 1");
    CHECK(fields.count("network") == 0);
    CHECK(fields["published"] == "version 2");

    const CtlResult missing =
        RunCtl(cluster, dir, {"jobs", "get", "job-000000000000"});
    CHECK(missing.exit_code == 3);
    CHECK(absl::StartsWith(
        missing.err, "gridcastctl: getting job job-000000000000: NOT_FOUND: "));
  }
  SECTION("models list and get: the served fine-tune and its metrics") {
    const CtlResult models = RunCtl(cluster, dir, {"models", "list"});
    REQUIRE(models.exit_code == 0);
    const std::vector<std::vector<std::string>> rows = TableRows(models.out);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0] == std::vector<std::string>{"NAME", "SERVED", "LATEST",
                                              "LATEST STATE", "MAE",
                                              "NAIVE MAE"});
    REQUIRE(rows[1].size() == 6);
    CHECK(std::vector<std::string>(rows[1].begin(), rows[1].begin() + 4) ==
          std::vector<std::string>{"feeder-21", "2", "2", "READY"});

    // The MAEs are version 2's, as `models get` shows them.
    const CtlResult model =
        RunCtl(cluster, dir, {"models", "get", "feeder-21"});
    REQUIRE(model.exit_code == 0);
    const size_t version_2 = model.out.find("version 2  READY  (served)\n");
    const size_t version_1 = model.out.find("version 1  ");
    REQUIRE(version_2 != std::string::npos);
    REQUIRE(version_1 > version_2);
    const std::string block =
        model.out.substr(version_2, version_1 - version_2);
    CHECK(absl::StrContains(block, absl::StrCat("MAE ", rows[1][4], ", RMSE")));
    CHECK(absl::StrContains(
        block, absl::StrCat("seasonal naive: MAE ", rows[1][5], ", RMSE")));
    CHECK(absl::StrContains(block, "fine-tuned from feeder-21 version 1"));
  }
  SECTION("forecast as a table: a heading, then the CSV's points aligned") {
    const CtlResult table =
        RunCtl(cluster, dir,
               {"forecast", "--model", "feeder-21", "--history", history});
    const CtlResult csv = RunCtl(cluster, dir,
                                 {"forecast", "--model", "feeder-21",
                                  "--history", history, "--format", "csv"});
    INFO(table.err);
    REQUIRE(table.exit_code == 0);
    REQUIRE(csv.exit_code == 0);
    const std::vector<std::string> lines = Lines(table.out);
    const std::vector<std::string> csv_lines = Lines(csv.out);
    REQUIRE(lines.size() == 8);
    REQUIRE(csv_lines.size() == 7);
    CHECK(lines[0] ==
          "model feeder-21 version 2: 6 points from 2024-01-31 00:00:00 UTC, "
          "every 1h");
    CHECK(Cells(lines[1]) ==
          std::vector<std::string>{"TIMESTAMP (UTC)", "load_kw"});
    for (int i = 0; i < 6; ++i) {
      const std::vector<std::string> cells = Cells(lines[2 + i]);
      const std::vector<std::string> fields =
          absl::StrSplit(csv_lines[1 + i], ',');
      REQUIRE(cells.size() == 2);
      REQUIRE(fields.size() == 2);
      CHECK(cells[0] == fields[0]);
      CHECK(std::stod(cells[1]) == Approx(std::stod(fields[1])).epsilon(1e-4));
      // Right-aligned under the header.
      CHECK(lines[2 + i].size() == lines[1].size());
    }
  }
}

}  // namespace
}  // namespace gridcast::testing
