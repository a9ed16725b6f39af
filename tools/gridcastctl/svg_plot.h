// A forecast drawn as a self-contained SVG picture: the recent history, the
// point forecast after it and the quantile bands around it, with time and
// value axes (times in UTC). Written by hand so that no plotting library
// is needed; the output opens in any browser.
#ifndef GRIDCAST_TOOLS_GRIDCASTCTL_SVG_PLOT_H_
#define GRIDCAST_TOOLS_GRIDCASTCTL_SVG_PLOT_H_

#include <cstdint>
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

// The picture as an SVG document. Series are <polyline> elements with ids
// "history", "forecast" and "actual", bands <polygon class="band"> elements; an
// empty series is left out.
std::string RenderForecastSvg(const ForecastPlot& plot);

}  // namespace gridcast::ctl

#endif  // GRIDCAST_TOOLS_GRIDCASTCTL_SVG_PLOT_H_
