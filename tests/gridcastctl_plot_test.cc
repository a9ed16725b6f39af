// The pictures of `gridcastctl forecast --plot`: a well-formed SVG document
// that holds every point of the history, the forecast and its bands, where
// the axes put them; and a PNG file, decoded here with zlib, that shows the
// same layout.
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/test_support.h"
#include "tools/gridcastctl/bitmap_font.h"
#include "tools/gridcastctl/png_plot.h"
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

// ------------------------------------------------------------------- PNG

struct DecodedPng {
  uint32_t width = 0;
  uint32_t height = 0;
  int bit_depth = 0;
  int colour_type = 0;
  // Rows top to bottom, red, green and blue per pixel.
  std::vector<uint8_t> rgb;

  Rgb At(double x, double y) const {
    const size_t at =
        (static_cast<size_t>(y) * width + static_cast<size_t>(x)) * 3;
    return {rgb[at], rgb[at + 1], rgb[at + 2]};
  }
};

uint32_t BigEndian(const std::string& bytes, size_t at) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) {
    value = value << 8 | static_cast<uint8_t>(bytes[at + i]);
  }
  return value;
}

int Paeth(int left, int up, int up_left) {
  const int estimate = left + up - up_left;
  const int to_left = std::abs(estimate - left);
  const int to_up = std::abs(estimate - up);
  const int to_up_left = std::abs(estimate - up_left);
  if (to_left <= to_up && to_left <= to_up_left) return left;
  return to_up <= to_up_left ? up : up_left;
}

// Undoes the filter of each row (any of PNG's five) in place, for 3 bytes
// per pixel, and drops the filter bytes.
std::vector<uint8_t> Unfilter(const std::vector<uint8_t>& filtered,
                              uint32_t width, uint32_t height) {
  const size_t stride = size_t{width} * 3;
  std::vector<uint8_t> rows(stride * height);
  for (size_t y = 0; y < height; ++y) {
    const int filter = filtered[y * (stride + 1)];
    REQUIRE(filter <= 4);
    const uint8_t* in = &filtered[y * (stride + 1) + 1];
    uint8_t* out = &rows[y * stride];
    const uint8_t* above = y > 0 ? out - stride : nullptr;
    for (size_t i = 0; i < stride; ++i) {
      const int left = i >= 3 ? out[i - 3] : 0;
      const int up = above != nullptr ? above[i] : 0;
      const int up_left = (above != nullptr && i >= 3) ? above[i - 3] : 0;
      const int predictors[] = {0, left, up, (left + up) / 2,
                                Paeth(left, up, up_left)};
      out[i] = static_cast<uint8_t>(in[i] + predictors[filter]);
    }
  }
  return rows;
}

// Reads a PNG file the way a viewer must: the signature, each chunk's
// CRC, the header, and the pixels inflated from the IDAT chunks.
DecodedPng DecodePng(const std::string& png) {
  REQUIRE(png.size() > 8);
  REQUIRE(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));

  DecodedPng decoded;
  std::string deflated;
  std::vector<std::string> chunk_types;
  for (size_t at = 8; at < png.size();) {
    REQUIRE(at + 12 <= png.size());
    const uint32_t length = BigEndian(png, at);
    REQUIRE(at + 12 + length <= png.size());
    const std::string type = png.substr(at + 4, 4);
    const std::string data = png.substr(at + 8, length);
    const uLong crc =
        crc32(0, reinterpret_cast<const Bytef*>(&png[at + 4]), 4 + length);
    INFO("chunk " << type);
    CHECK(BigEndian(png, at + 8 + length) == crc);
    chunk_types.push_back(type);
    if (type == "IHDR") {
      REQUIRE(length == 13);
      decoded.width = BigEndian(data, 0);
      decoded.height = BigEndian(data, 4);
      decoded.bit_depth = static_cast<uint8_t>(data[8]);
      decoded.colour_type = static_cast<uint8_t>(data[9]);
      CHECK(data.substr(10) == std::string(3, '\0'));
    }
    if (type == "IDAT") deflated += data;
    at += 12 + length;
  }
  REQUIRE(chunk_types.size() >= 3);
  CHECK(chunk_types.front() == "IHDR");
  CHECK(chunk_types.back() == "IEND");
  REQUIRE(decoded.bit_depth == 8);
  REQUIRE(decoded.colour_type == 2);

  std::vector<uint8_t> filtered(size_t{decoded.height} *
                                (size_t{decoded.width} * 3 + 1));
  uLongf inflated = filtered.size();
  REQUIRE(uncompress(filtered.data(), &inflated,
                     reinterpret_cast<const Bytef*>(deflated.data()),
                     deflated.size()) == Z_OK);
  REQUIRE(inflated == filtered.size());
  decoded.rgb = Unfilter(filtered, decoded.width, decoded.height);
  return decoded;
}

// `colour` laid over `below` at `alpha`, as a translucent fill does.
Rgb Over(Rgb below, Rgb colour, double alpha) {
  auto mix = [alpha](int from, int to) {
    return static_cast<uint8_t>(std::lround(from + (to - from) * alpha));
  };
  return {mix(below.red, colour.red), mix(below.green, colour.green),
          mix(below.blue, colour.blue)};
}

// Whether each channel is within `tolerance` of the other's.
bool Near(Rgb a, Rgb b, int tolerance) {
  return std::abs(a.red - b.red) <= tolerance &&
         std::abs(a.green - b.green) <= tolerance &&
         std::abs(a.blue - b.blue) <= tolerance;
}

std::string Describe(Rgb colour) { return HexColour(colour); }

// A day of history, a day of forecast and two bands around it:
// q0.1 to q0.9 (520 to 680) and q0.25 to q0.75 (550 to 650).
ForecastPlot BandedPlot() {
  ForecastPlot plot;
  plot.title = "feeder <17> & co";
  plot.value_label = "load_kw";
  for (int i = 0; i < 24; ++i) {
    plot.history.timestamps.push_back(kStart + i * 3600);
    plot.history.values.push_back(560 + (i % 12) * 5);
  }
  v1::ForecastResponse response;
  for (int i = 24; i < 48; ++i) {
    response.add_timestamps(kStart + i * 3600);
    response.add_values(600);
  }
  const std::pair<double, double> levels[] = {
      {0.1, 520}, {0.25, 550}, {0.5, 600}, {0.75, 650}, {0.9, 680}};
  for (const auto& [level, value] : levels) {
    v1::QuantileForecast* quantile = response.add_quantiles();
    quantile->set_quantile(level);
    for (int i = 0; i < 24; ++i) quantile->add_values(value);
  }
  plot.forecast.timestamps.assign(response.timestamps().begin(),
                                  response.timestamps().end());
  plot.forecast.values.assign(response.values().begin(),
                              response.values().end());
  plot.bands = BandsFromQuantiles(response);
  return plot;
}

TEST_CASE("the PNG plot is a valid PNG holding the raster pixel for pixel",
          "[gridcastctl][plot][png]") {
  const ForecastPlot plot = BandedPlot();
  const absl::StatusOr<std::string> png = RenderForecastPng(plot);
  REQUIRE(png.ok());

  const DecodedPng decoded = DecodePng(*png);
  const PlotLayout layout = LayOutForecastPlot(plot);
  CHECK(decoded.width == static_cast<uint32_t>(layout.width));
  CHECK(decoded.height == static_cast<uint32_t>(layout.height));
  CHECK(decoded.rgb == RasteriseForecastPlot(plot).pixels());
}

TEST_CASE(
    "the PNG plot shows the bands, the lines and the text where the "
    "layout puts them",
    "[gridcastctl][plot][png]") {
  const ForecastPlot plot = BandedPlot();
  const absl::StatusOr<std::string> png = RenderForecastPng(plot);
  REQUIRE(png.ok());
  const DecodedPng image = DecodePng(*png);
  const PlotLayout layout = LayOutForecastPlot(plot);
  REQUIRE(layout.bands.size() == 2);
  REQUIRE(layout.series.size() == 2);
  const PlotArea& outer = layout.bands[0];
  const PlotArea& inner = layout.bands[1];
  const Rgb white = layout.background;

  // Halfway along the forecast: the outline's upper edge runs left to
  // right, so point 12 of each band is its upper edge there, and the last
  // point but 12 its lower edge.
  REQUIRE(outer.outline.size() == 48);
  const double x = outer.outline[12].x;
  const double q90 = outer.outline[12].y;
  const double q75 = inner.outline[12].y;
  const double q25 = inner.outline[35].y;
  const double q10 = outer.outline[35].y;
  const double median = layout.series[1].points[12].y;
  REQUIRE(q90 < q75);
  REQUIRE(q75 < median);
  REQUIRE(median < q25);
  REQUIRE(q25 < q10);

  const Rgb outer_only = Over(white, outer.colour, outer.opacity);
  const Rgb both = Over(outer_only, inner.colour, inner.opacity);
  SECTION("between q0.9 and q0.75 only the outer band") {
    const Rgb pixel = image.At(x, (q90 + q75) / 2);
    INFO(Describe(pixel) << " against " << Describe(outer_only));
    CHECK(Near(pixel, outer_only, 2));
  }
  SECTION("between q0.75 and the median both bands") {
    const Rgb pixel = image.At(x, (q75 + median) / 2);
    INFO(Describe(pixel) << " against " << Describe(both));
    CHECK(Near(pixel, both, 2));
  }
  SECTION("between q0.25 and q0.1 the outer band again") {
    CHECK(Near(image.At(x, (q25 + q10) / 2), outer_only, 2));
  }
  SECTION("above q0.9 and below q0.1 no band") {
    CHECK(Near(image.At(x, q90 - 6), white, 0));
    CHECK(Near(image.At(x, q10 + 6), white, 0));
  }
  SECTION("before the forecast starts no band") {
    const PlotPolyline& history = layout.series[0];
    CHECK(Near(image.At(history.points[12].x, q90 + 2), white, 0));
  }
  SECTION("the forecast and the history are drawn in their colours") {
    for (const PlotPolyline& series : layout.series) {
      const PlotPoint& point = series.points[5];
      // The line is 1.6 pixels wide, so the pixel nearest to a point is
      // covered at least four fifths.
      const Rgb pixel = image.At(point.x, point.y);
      INFO(series.id << ": " << Describe(pixel) << " against "
                     << Describe(series.colour));
      CHECK(Near(pixel, series.colour, 40));
    }
  }
  SECTION("the title is drawn in black from its start, and nowhere after it") {
    const PlotText& title = layout.title;
    const int scale = 2;
    const int end = static_cast<int>(title.at.x) +
                    Raster::TextWidth(title.text, scale, title.bold);
    int inked = 0;
    int inked_after = 0;
    // Down to the bottom of the descent, above the legend.
    const int bottom =
        static_cast<int>(title.at.y) + scale * (kGlyphHeight - kGlyphAscent);
    for (int y = 0; y < bottom; ++y) {
      for (int x = 0; x < layout.width; ++x) {
        if (!Near(image.At(x, y), title.colour, 0)) continue;
        ++(x >= title.at.x && x < end ? inked : inked_after);
      }
    }
    CHECK(inked > 200);
    CHECK(inked_after == 0);
  }
  SECTION("each value label is inked left of the plot, next to its grid line") {
    for (size_t i = 0; i < layout.value_labels.size(); ++i) {
      const PlotText& label = layout.value_labels[i];
      int inked = 0;
      for (int y = static_cast<int>(label.at.y) - kGlyphAscent; y < label.at.y;
           ++y) {
        // Right of the axis' name.
        for (int x = 30; x < label.at.x; ++x) {
          if (Near(image.At(x, y), label.colour, 0)) ++inked;
        }
      }
      INFO("label " << label.text);
      CHECK(inked > 10);
    }
  }
}

TEST_CASE("every printable character has its own glyph",
          "[gridcastctl][plot][png]") {
  const Glyph& missing = GlyphFor(0x01);
  std::vector<Glyph> seen;
  for (int c = '!'; c <= '~'; ++c) {
    INFO("character " << static_cast<char>(c));
    const Glyph& glyph = GlyphFor(static_cast<unsigned char>(c));
    CHECK(glyph != missing);
    CHECK(std::find(seen.begin(), seen.end(), glyph) == seen.end());
    seen.push_back(glyph);
  }
  CHECK(GlyphFor(' ') == Glyph{});
  // A byte of a UTF-8 sequence is drawn as the box, once per character.
  CHECK(GlyphFor(0xc3) == missing);
  CHECK(Raster::TextWidth("\xc3\xa9t\xc3\xa9", 1, false) ==
        3 * kGlyphAdvance - 1);
}

}  // namespace
}  // namespace gridcast::ctl
