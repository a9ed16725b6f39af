// The SVG picture of `gridcastctl forecast --plot`: a well-formed document
// that holds every point of the history, the forecast and its bands, where
// the axes put them.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/test_support.h"
#include "tools/gridcastctl/svg_plot.h"

namespace gridcast::ctl {
namespace {

constexpr int64_t kStart = 1704067200;

struct Point {
  double x = 0;
  double y = 0;
};

// The value of attribute `name` of the first element that has
// `marker` (such as `id="history"`) among its attributes.
std::string Attribute(const std::string& svg, const std::string& marker,
                      const std::string& name) {
  const size_t at = svg.find(marker);
  if (at == std::string::npos) return "";
  const size_t element = svg.rfind('<', at);
  const size_t end = svg.find('>', at);
  const std::string tag = svg.substr(element, end - element);
  const std::string key = absl::StrCat(" ", name, "=\"");
  const size_t value = tag.find(key);
  if (value == std::string::npos) return "";
  const size_t begin = value + key.size();
  return tag.substr(begin, tag.find('"', begin) - begin);
}

std::vector<Point> Points(const std::string& list) {
  std::vector<Point> points;
  for (absl::string_view pair : absl::StrSplit(list, ' ', absl::SkipEmpty())) {
    std::vector<absl::string_view> xy = absl::StrSplit(pair, ',');
    Point point;
    REQUIRE(xy.size() == 2);
    REQUIRE(absl::SimpleAtod(xy[0], &point.x));
    REQUIRE(absl::SimpleAtod(xy[1], &point.y));
    points.push_back(point);
  }
  return points;
}

// Parses the file with Python's XML parser, which any SVG viewer's is at
// least as strict as; "" when well formed, else the parser's complaint.
std::string XmlProblem(const std::string& path) {
  const std::string command = absl::StrCat(
      "python3 -c 'import sys, xml.etree.ElementTree as E; "
      "root = E.parse(sys.argv[1]).getroot(); "
      "assert root.tag == \"{http://www.w3.org/2000/svg}svg\", root.tag' ",
      path, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[256];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  return status == 0 ? "" : absl::StrCat("exit ", status, ": ", output);
}

ForecastPlot DayAheadPlot() {
  ForecastPlot plot;
  plot.title = "feeder <17> & co";
  plot.value_label = "load_kw";
  for (int i = 0; i < 48; ++i) {
    plot.history.timestamps.push_back(kStart + i * 3600);
    plot.history.values.push_back(500 + (i % 24) * 10);
  }
  for (int i = 48; i < 72; ++i) {
    plot.forecast.timestamps.push_back(kStart + i * 3600);
    plot.forecast.values.push_back(520 + (i % 24) * 10);
  }
  return plot;
}

TEST_CASE("the plot is well-formed SVG holding history and forecast",
          "[gridcastctl][plot]") {
  const ForecastPlot plot = DayAheadPlot();
  const std::string svg = RenderForecastSvg(plot);

  testing::TempDir dir;
  const std::string path = dir.path() + "/forecast.svg";
  std::ofstream(path) << svg;
  CHECK(XmlProblem(path) == "");

  // The title is escaped, not taken for markup.
  CHECK(absl::StrContains(svg, "feeder &lt;17&gt; &amp; co"));

  const std::vector<Point> history =
      Points(Attribute(svg, "id=\"history\"", "points"));
  const std::vector<Point> forecast =
      Points(Attribute(svg, "id=\"forecast\"", "points"));
  REQUIRE(history.size() == 48);
  REQUIRE(forecast.size() == 24);

  // Time runs left to right, the forecast after the history; higher load
  // is higher up (a smaller y).
  for (size_t i = 1; i < history.size(); ++i) {
    CHECK(history[i].x > history[i - 1].x);
  }
  CHECK(forecast.front().x > history.back().x);
  CHECK(history[23].y < history[0].y);
  CHECK(forecast[0].y < history[0].y);           // 520 above 500
  CHECK(forecast[0].y == Approx(history[2].y));  // both 520

  CHECK_FALSE(absl::StrContains(svg, "class=\"band\""));
}

TEST_CASE("quantile bands are drawn around the forecast, outermost first",
          "[gridcastctl][plot]") {
  v1::ForecastResponse response;
  for (int i = 0; i < 24; ++i) {
    response.add_timestamps(kStart + i * 3600);
    response.add_values(600);
  }
  for (double level : {0.9, 0.1, 0.5, 0.25, 0.75}) {
    v1::QuantileForecast* quantile = response.add_quantiles();
    quantile->set_quantile(level);
    for (int i = 0; i < 24; ++i)
      quantile->add_values(600 + (level - 0.5) * 200);
  }

  const std::vector<PlotBand> bands = BandsFromQuantiles(response);
  REQUIRE(bands.size() == 2);
  CHECK(bands[0].lower_quantile == 0.1);
  CHECK(bands[0].upper_quantile == 0.9);
  CHECK(bands[1].lower_quantile == 0.25);
  CHECK(bands[1].upper_quantile == 0.75);
  CHECK(bands[0].lower.front() == Approx(520));
  CHECK(bands[0].upper.front() == Approx(680));

  ForecastPlot plot;
  plot.forecast.timestamps.assign(response.timestamps().begin(),
                                  response.timestamps().end());
  plot.forecast.values.assign(response.values().begin(),
                              response.values().end());
  plot.bands = bands;
  const std::string svg = RenderForecastSvg(plot);

  testing::TempDir dir;
  const std::string path = dir.path() + "/bands.svg";
  std::ofstream(path) << svg;
  CHECK(XmlProblem(path) == "");

  // The outer band's polygon runs along q0.9 and back along q0.1, around
  // the point forecast.
  const std::vector<Point> outer =
      Points(Attribute(svg, "id=\"band-0.1-0.9\"", "points"));
  const std::vector<Point> line =
      Points(Attribute(svg, "id=\"forecast\"", "points"));
  REQUIRE(outer.size() == 48);
  REQUIRE(line.size() == 24);
  CHECK(outer[0].y < line[0].y);
  CHECK(outer[47].y > line[0].y);
  CHECK(outer[47].x == Approx(line[0].x));
  CHECK(absl::StrContains(svg, "id=\"band-0.25-0.75\""));
  CHECK(svg.find("band-0.1-0.9") < svg.find("band-0.25-0.75"));
}

}  // namespace
}  // namespace gridcast::ctl
