// The geometry of a forecast picture: the recent history, the point
// forecast after it and the quantile bands around it, with time and value
// axes (times in UTC) and a legend. One layout is computed here and drawn
// by two renderers, the SVG writer (svg_plot.h) and the PNG writer
// (png_plot.h), so that both files show the same picture.
#ifndef GRIDCAST_TOOLS_GRIDCASTCTL_PLOT_LAYOUT_H_
#define GRIDCAST_TOOLS_GRIDCASTCTL_PLOT_LAYOUT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gridcast/v1/forecaster.pb.h"

namespace gridcast::ctl {

struct PlotSeries {
  std::vector<int64_t> timestamps;
  std::vector<double> values;
};

// The area between two quantile levels of the forecast, one value of each
// per forecast timestamp.
struct PlotBand {
  double lower_quantile = 0;
  double upper_quantile = 0;
  std::vector<double> lower;
  std::vector<double> upper;
};

struct ForecastPlot {
  std::string title;
  // Names the value axis, such as "load_kw".
  std::string value_label;
  PlotSeries history;
  PlotSeries forecast;
  // What happened over the forecast's time, when known (a backtest).
  PlotSeries actuals;
  // Outermost first, so that inner bands are drawn over outer ones.
  std::vector<PlotBand> bands;
};

// The response's quantiles paired from the outside in (the lowest level
// with the highest, and so on); a middle level without a partner, and
// levels whose length differs from the forecast's, are left out.
std::vector<PlotBand> BandsFromQuantiles(const v1::ForecastResponse& forecast);

// ------------------------------------------------------------- the layout
//
// Coordinates are in pixels of the canvas, x to the right and y down from
// its top left corner, as in SVG: pixel (i, j) covers [i, i+1) x [j, j+1).

struct Rgb {
  uint8_t red = 0;
  uint8_t green = 0;
  uint8_t blue = 0;
};

// "#1f6fb2".
std::string HexColour(Rgb colour);

struct PlotPoint {
  double x = 0;
  double y = 0;
};

// A straight stroke.
struct PlotLine {
  PlotPoint from;
  PlotPoint to;
  Rgb colour;
  double width = 1;
  // Drawn as 4 pixels on, 3 off.
  bool dashed = false;
};

struct PlotRect {
  PlotPoint corner;  // top left
  double width = 0;
  double height = 0;
  Rgb colour;
  double opacity = 1;
};

enum class TextAnchor { kStart, kMiddle, kEnd };

struct PlotText {
  std::string text;
  // On the baseline: where the text starts, has its middle or ends, by
  // `anchor`.
  PlotPoint at;
  // The font size in pixels.
  double size = 11;
  bool bold = false;
  // Turned a quarter left, to read from bottom to top.
  bool vertical = false;
  TextAnchor anchor = TextAnchor::kStart;
  Rgb colour;
};

// A series drawn as connected line segments.
struct PlotPolyline {
  std::string id;  // "history", "forecast" or "actual"
  Rgb colour;
  double width = 1;
  std::vector<PlotPoint> points;
};

// A quantile band: a filled, translucent polygon.
struct PlotArea {
  std::string id;  // such as "band-0.1-0.9"
  Rgb colour;
  double opacity = 1;
  std::vector<PlotPoint> outline;
};

// A legend entry: a short line in the series' colour, or a box in the
// band's, and its name.
struct PlotLegendEntry {
  std::optional<PlotLine> line;
  std::optional<PlotRect> box;
  PlotText label;
};

// Everything a renderer draws, in the order it draws it.
struct PlotLayout {
  int width = 0;
  int height = 0;
  Rgb background;
  PlotText title;

  // A grid line and a label at each value tick, and the axis' name.
  std::vector<PlotLine> value_grid;
  std::vector<PlotText> value_labels;
  PlotText value_name;

  // A tick and a label at each time tick, the axis and its name.
  std::vector<PlotLine> time_ticks;
  std::vector<PlotText> time_labels;
  PlotLine time_axis;
  PlotText time_name;

  // Outermost first; inner bands cover outer ones.
  std::vector<PlotArea> bands;
  // The dashed line where the forecast starts; none without a forecast.
  std::optional<PlotLine> forecast_start;
  // History, forecast and actuals, in this order; empty ones left out.
  std::vector<PlotPolyline> series;
  std::vector<PlotLegendEntry> legend;
};

// Lays out the picture on a 960 x 480 canvas: the value axis spans the
// values of every series and band, rounded out to whole ticks; the time
// axis spans every series' timestamps. Non-finite values are left out of
// the range.
PlotLayout LayOutForecastPlot(const ForecastPlot& plot);

}  // namespace gridcast::ctl

#endif  // GRIDCAST_TOOLS_GRIDCASTCTL_PLOT_LAYOUT_H_
