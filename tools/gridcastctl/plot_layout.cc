#include "tools/gridcastctl/plot_layout.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "tools/gridcastctl/format.h"

namespace gridcast::ctl {
namespace {

// The canvas and the plot area inside it, in pixels.
constexpr double kWidth = 960;
constexpr double kHeight = 480;
constexpr double kLeft = 80;
constexpr double kRight = 20;
constexpr double kTop = 44;
constexpr double kBottom = 64;
constexpr int kMaxTimeTicks = 8;
constexpr int kValueTicks = 6;

constexpr double kAxisFontSize = 11;
constexpr double kLegendFontSize = 12;
constexpr double kTitleFontSize = 14;
constexpr double kSeriesWidth = 1.6;

constexpr Rgb kWhite = {0xff, 0xff, 0xff};
constexpr Rgb kTextColour = {0x33, 0x33, 0x33};
constexpr Rgb kGridColour = {0xe4, 0xe4, 0xe4};
constexpr Rgb kForecastStartColour = {0x99, 0x99, 0x99};
constexpr Rgb kHistoryColour = {0x4a, 0x4a, 0x4a};
constexpr Rgb kForecastColour = {0x1f, 0x6f, 0xb2};
constexpr Rgb kBandColour = {0x1f, 0x6f, 0xb2};
constexpr Rgb kActualColour = {0xc0, 0x39, 0x2b};

// Maps times and values into the plot area.
class Scale {
 public:
  Scale(int64_t first_time, int64_t last_time, double low, double high)
      : first_time_(first_time),
        last_time_(std::max(last_time, first_time + 1)),
        low_(low),
        high_(high > low ? high : low + 1) {}

  double X(int64_t time) const {
    return kLeft + (kWidth - kLeft - kRight) *
                       static_cast<double>(time - first_time_) /
                       static_cast<double>(last_time_ - first_time_);
  }
  double Y(double value) const {
    return kTop + (kHeight - kTop - kBottom) * (high_ - value) / (high_ - low_);
  }

  int64_t first_time() const { return first_time_; }
  int64_t last_time() const { return last_time_; }
  double low() const { return low_; }
  double high() const { return high_; }

 private:
  int64_t first_time_;
  int64_t last_time_;
  double low_;
  double high_;
};

// A step of 1, 2 or 5 times a power of ten that cuts `span` into about
// `count` parts.
double NiceStep(double span, int count) {
  const double raw = span / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double factor : {1.0, 2.0, 5.0}) {
    if (factor * magnitude >= raw) return factor * magnitude;
  }
  return 10 * magnitude;
}

// The smallest of the usual spacings of time labels that needs at most
// kMaxTimeTicks labels over `span_seconds`.
int64_t TimeStep(int64_t span_seconds) {
  constexpr int64_t kHour = 3600;
  for (int64_t step :
       {kHour / 4, kHour / 2, kHour, 2 * kHour, 3 * kHour, 6 * kHour,
        12 * kHour, 24 * kHour, 48 * kHour, 7 * 24 * kHour, 14 * 24 * kHour,
        28 * 24 * kHour, 91 * 24 * kHour, 365 * 24 * kHour}) {
    if (span_seconds / step <= kMaxTimeTicks) return step;
  }
  return span_seconds / kMaxTimeTicks + 1;
}

std::string TimeLabel(int64_t time, int64_t step) {
  const absl::Time at = absl::FromUnixSeconds(time);
  if (step % 86400 == 0) {
    return absl::FormatTime("%Y-%m-%d", at, absl::UTCTimeZone());
  }
  return absl::FormatTime("%m-%d %H:%M", at, absl::UTCTimeZone());
}

void ExtendRange(const std::vector<double>& values, double* low, double* high) {
  for (double value : values) {
    if (!std::isfinite(value)) continue;
    *low = std::min(*low, value);
    *high = std::max(*high, value);
  }
}

Scale MakeScale(const ForecastPlot& plot) {
  int64_t first = std::numeric_limits<int64_t>::max();
  int64_t last = std::numeric_limits<int64_t>::min();
  for (const PlotSeries* series :
       {&plot.history, &plot.forecast, &plot.actuals}) {
    if (series->timestamps.empty()) continue;
    first = std::min(first, series->timestamps.front());
    last = std::max(last, series->timestamps.back());
  }
  if (first > last) first = last = 0;

  double low = std::numeric_limits<double>::infinity();
  double high = -low;
  ExtendRange(plot.history.values, &low, &high);
  ExtendRange(plot.forecast.values, &low, &high);
  ExtendRange(plot.actuals.values, &low, &high);
  for (const PlotBand& band : plot.bands) {
    ExtendRange(band.lower, &low, &high);
    ExtendRange(band.upper, &low, &high);
  }
  if (low > high) low = high = 0;

  // Round outwards to whole steps so that the axis starts and ends on a
  // labelled value.
  const double step = NiceStep(std::max(high - low, 1e-9), kValueTicks);
  return Scale(first, last, std::floor(low / step) * step,
               std::ceil(high / step) * step);
}

PlotText Text(std::string text, double x, double y, double size,
              TextAnchor anchor) {
  PlotText label;
  label.text = std::move(text);
  label.at = {x, y};
  label.size = size;
  label.anchor = anchor;
  label.colour = kTextColour;
  return label;
}

PlotPolyline Polyline(std::string id, Rgb colour, const PlotSeries& series,
                      const Scale& scale) {
  PlotPolyline line;
  line.id = std::move(id);
  line.colour = colour;
  line.width = kSeriesWidth;
  const size_t count = std::min(series.timestamps.size(), series.values.size());
  for (size_t i = 0; i < count; ++i) {
    line.points.push_back(
        {scale.X(series.timestamps[i]), scale.Y(series.values[i])});
  }
  return line;
}

// The upper edge left to right, then the lower edge right to left.
PlotArea BandArea(const PlotBand& band, size_t index,
                  const std::vector<int64_t>& timestamps, const Scale& scale) {
  PlotArea area;
  area.id =
      absl::StrFormat("band-%g-%g", band.lower_quantile, band.upper_quantile);
  area.colour = kBandColour;
  // Inner bands are darker: each is drawn over the ones outside it.
  area.opacity = std::min(0.6, 0.15 + 0.12 * static_cast<double>(index));
  const size_t count =
      std::min({timestamps.size(), band.lower.size(), band.upper.size()});
  for (size_t i = 0; i < count; ++i) {
    area.outline.push_back({scale.X(timestamps[i]), scale.Y(band.upper[i])});
  }
  for (size_t i = count; i-- > 0;) {
    area.outline.push_back({scale.X(timestamps[i]), scale.Y(band.lower[i])});
  }
  return area;
}

void LayOutValueAxis(const Scale& scale, const std::string& name,
                     PlotLayout* layout) {
  const double step = NiceStep(scale.high() - scale.low(), kValueTicks);
  const int decimals = DecimalsFor(step, 1);
  for (double value = scale.low(); value <= scale.high() + step / 2;
       value += step) {
    const double y = scale.Y(value);
    layout->value_grid.push_back(
        {{kLeft, y}, {kWidth - kRight, y}, kGridColour, 1, false});
    layout->value_labels.push_back(Text(FormatFixed(value, decimals), kLeft - 6,
                                        y + 4, kAxisFontSize,
                                        TextAnchor::kEnd));
  }
  layout->value_name = Text(name, 16, (kTop + kHeight - kBottom) / 2,
                            kAxisFontSize, TextAnchor::kMiddle);
  layout->value_name.vertical = true;
}

void LayOutTimeAxis(const Scale& scale, PlotLayout* layout) {
  const double axis_y = kHeight - kBottom;
  const int64_t step = TimeStep(scale.last_time() - scale.first_time());
  // Labels on whole multiples of the step, in UTC.
  int64_t tick = scale.first_time() / step * step;
  if (tick < scale.first_time()) tick += step;
  for (; tick <= scale.last_time(); tick += step) {
    const double x = scale.X(tick);
    layout->time_ticks.push_back(
        {{x, axis_y}, {x, axis_y + 5}, kTextColour, 1, false});
    layout->time_labels.push_back(Text(TimeLabel(tick, step), x, axis_y + 18,
                                       kAxisFontSize, TextAnchor::kMiddle));
  }
  layout->time_axis = {
      {kLeft, axis_y}, {kWidth - kRight, axis_y}, kTextColour, 1, false};
  layout->time_name = Text("time (UTC)", (kLeft + kWidth) / 2, kHeight - 18,
                           kAxisFontSize, TextAnchor::kMiddle);
}

void LayOutLegend(const ForecastPlot& plot, PlotLayout* layout) {
  double x = kLeft;
  const double y = kTop - 14;
  auto add = [&](PlotLegendEntry entry, const std::string& name) {
    entry.label =
        Text(name, x + 22, y + 4, kLegendFontSize, TextAnchor::kStart);
    layout->legend.push_back(std::move(entry));
    x += 40 + 7.0 * static_cast<double>(name.size());
  };
  auto line_entry = [&](Rgb colour) {
    PlotLegendEntry entry;
    entry.line = PlotLine{{x, y}, {x + 18, y}, colour, 2, false};
    return entry;
  };
  if (!plot.history.values.empty()) {
    add(line_entry(kHistoryColour), "history");
  }
  if (!plot.forecast.values.empty()) {
    add(line_entry(kForecastColour), "forecast");
  }
  if (!plot.actuals.values.empty()) {
    add(line_entry(kActualColour), "actual");
  }
  for (const PlotBand& band : plot.bands) {
    PlotLegendEntry entry;
    entry.box = PlotRect{{x, y - 6}, 18, 12, kBandColour, 0.3};
    add(std::move(entry), absl::StrFormat("q%g to q%g", band.lower_quantile,
                                          band.upper_quantile));
  }
}

}  // namespace

std::vector<PlotBand> BandsFromQuantiles(const v1::ForecastResponse& forecast) {
  std::vector<const v1::QuantileForecast*> levels;
  for (const v1::QuantileForecast& level : forecast.quantiles()) {
    if (level.values_size() == forecast.values_size()) {
      levels.push_back(&level);
    }
  }
  std::sort(levels.begin(), levels.end(),
            [](const v1::QuantileForecast* a, const v1::QuantileForecast* b) {
              return a->quantile() < b->quantile();
            });

  std::vector<PlotBand> bands;
  for (size_t low = 0, high = levels.size(); low + 1 < high; ++low) {
    --high;
    PlotBand band;
    band.lower_quantile = levels[low]->quantile();
    band.upper_quantile = levels[high]->quantile();
    band.lower.assign(levels[low]->values().begin(),
                      levels[low]->values().end());
    band.upper.assign(levels[high]->values().begin(),
                      levels[high]->values().end());
    bands.push_back(std::move(band));
  }
  return bands;
}

std::string HexColour(Rgb colour) {
  return absl::StrFormat("#%02x%02x%02x", colour.red, colour.green,
                         colour.blue);
}

PlotLayout LayOutForecastPlot(const ForecastPlot& plot) {
  const Scale scale = MakeScale(plot);
  PlotLayout layout;
  layout.width = static_cast<int>(kWidth);
  layout.height = static_cast<int>(kHeight);
  layout.background = kWhite;
  layout.title =
      Text(plot.title, kLeft, 16, kTitleFontSize, TextAnchor::kStart);
  layout.title.bold = true;
  layout.title.colour = {0, 0, 0};
  LayOutValueAxis(scale, plot.value_label, &layout);
  LayOutTimeAxis(scale, &layout);

  for (size_t i = 0; i < plot.bands.size(); ++i) {
    layout.bands.push_back(
        BandArea(plot.bands[i], i, plot.forecast.timestamps, scale));
  }
  if (!plot.forecast.timestamps.empty()) {
    const double x = scale.X(plot.forecast.timestamps.front());
    layout.forecast_start = PlotLine{
        {x, kTop}, {x, kHeight - kBottom}, kForecastStartColour, 1, true};
  }
  if (!plot.history.values.empty()) {
    layout.series.push_back(
        Polyline("history", kHistoryColour, plot.history, scale));
  }
  if (!plot.forecast.values.empty()) {
    layout.series.push_back(
        Polyline("forecast", kForecastColour, plot.forecast, scale));
  }
  if (!plot.actuals.values.empty()) {
    layout.series.push_back(
        Polyline("actual", kActualColour, plot.actuals, scale));
  }
  LayOutLegend(plot, &layout);
  return layout;
}

}  // namespace gridcast::ctl
