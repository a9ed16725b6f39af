#include "tools/gridcastctl/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "tools/gridcastctl/format.h"

namespace gridcast::ctl {
namespace {

// The canvas and the plot area inside it, in SVG user units (pixels).
constexpr double kWidth = 960;
constexpr double kHeight = 480;
constexpr double kLeft = 80;
constexpr double kRight = 20;
constexpr double kTop = 44;
constexpr double kBottom = 64;
constexpr int kMaxTimeTicks = 8;
constexpr int kValueTicks = 6;

constexpr char kHistoryColour[] = "#4a4a4a";
constexpr char kForecastColour[] = "#1f6fb2";
constexpr char kBandColour[] = "#1f6fb2";
constexpr char kActualColour[] = "#c0392b";

std::string Escape(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      default:
        escaped.push_back(c);
    }
  }
  return escaped;
}

std::string Coordinate(double value) { return absl::StrFormat("%.1f", value); }

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

std::string Polyline(const std::string& id, const char* colour,
                     const PlotSeries& series, const Scale& scale) {
  std::string points;
  const size_t count = std::min(series.timestamps.size(), series.values.size());
  for (size_t i = 0; i < count; ++i) {
    if (!points.empty()) points.push_back(' ');
    absl::StrAppend(&points, Coordinate(scale.X(series.timestamps[i])), ",",
                    Coordinate(scale.Y(series.values[i])));
  }
  return absl::StrCat("<polyline id=\"", id, "\" fill=\"none\" stroke=\"",
                      colour, "\" stroke-width=\"1.6\" points=\"", points,
                      "\"/>\n");
}

// The upper edge left to right, then the lower edge right to left.
std::string BandPolygon(const PlotBand& band, size_t index,
                        const std::vector<int64_t>& timestamps,
                        const Scale& scale) {
  std::string points;
  const size_t count =
      std::min({timestamps.size(), band.lower.size(), band.upper.size()});
  for (size_t i = 0; i < count; ++i) {
    absl::StrAppend(&points, points.empty() ? "" : " ",
                    Coordinate(scale.X(timestamps[i])), ",",
                    Coordinate(scale.Y(band.upper[i])));
  }
  for (size_t i = count; i-- > 0;) {
    absl::StrAppend(&points, " ", Coordinate(scale.X(timestamps[i])), ",",
                    Coordinate(scale.Y(band.lower[i])));
  }
  // Inner bands are darker: each is drawn over the ones outside it.
  const double opacity =
      std::min(0.6, 0.15 + 0.12 * static_cast<double>(index));
  return absl::StrFormat(
      "<polygon class=\"band\" id=\"band-%g-%g\" fill=\"%s\" "
      "fill-opacity=\"%.2f\" stroke=\"none\" points=\"%s\"/>\n",
      band.lower_quantile, band.upper_quantile, kBandColour, opacity, points);
}

std::string ValueAxis(const Scale& scale, const std::string& label) {
  std::string svg = "<g id=\"value-axis\" font-size=\"11\" fill=\"#333\">\n";
  const double step = NiceStep(scale.high() - scale.low(), kValueTicks);
  const int decimals = DecimalsFor(step, 1);
  for (double value = scale.low(); value <= scale.high() + step / 2;
       value += step) {
    const double y = scale.Y(value);
    absl::StrAppend(&svg, "<line x1=\"", Coordinate(kLeft), "\" x2=\"",
                    Coordinate(kWidth - kRight), "\" y1=\"", Coordinate(y),
                    "\" y2=\"", Coordinate(y),
                    "\" stroke=\"#e4e4e4\" stroke-width=\"1\"/>\n");
    absl::StrAppend(&svg, "<text x=\"", Coordinate(kLeft - 6), "\" y=\"",
                    Coordinate(y + 4), "\" text-anchor=\"end\">",
                    FormatFixed(value, decimals), "</text>\n");
  }
  absl::StrAppend(&svg, "<text transform=\"translate(16,",
                  Coordinate((kTop + kHeight - kBottom) / 2),
                  ") rotate(-90)\" text-anchor=\"middle\">", Escape(label),
                  "</text>\n</g>\n");
  return svg;
}

std::string TimeAxis(const Scale& scale) {
  std::string svg = "<g id=\"time-axis\" font-size=\"11\" fill=\"#333\">\n";
  const int64_t step = TimeStep(scale.last_time() - scale.first_time());
  // Labels on whole multiples of the step, in UTC.
  int64_t tick = scale.first_time() / step * step;
  if (tick < scale.first_time()) tick += step;
  for (; tick <= scale.last_time(); tick += step) {
    const double x = scale.X(tick);
    absl::StrAppend(&svg, "<line x1=\"", Coordinate(x), "\" x2=\"",
                    Coordinate(x), "\" y1=\"", Coordinate(kHeight - kBottom),
                    "\" y2=\"", Coordinate(kHeight - kBottom + 5),
                    "\" stroke=\"#333\"/>\n");
    absl::StrAppend(&svg, "<text x=\"", Coordinate(x), "\" y=\"",
                    Coordinate(kHeight - kBottom + 18),
                    "\" text-anchor=\"middle\">", TimeLabel(tick, step),
                    "</text>\n");
  }
  absl::StrAppend(&svg, "<line x1=\"", Coordinate(kLeft), "\" x2=\"",
                  Coordinate(kWidth - kRight), "\" y1=\"",
                  Coordinate(kHeight - kBottom), "\" y2=\"",
                  Coordinate(kHeight - kBottom), "\" stroke=\"#333\"/>\n");
  absl::StrAppend(&svg, "<text x=\"", Coordinate((kLeft + kWidth) / 2),
                  "\" y=\"", Coordinate(kHeight - 18),
                  "\" text-anchor=\"middle\">time (UTC)</text>\n</g>\n");
  return svg;
}

std::string Legend(const ForecastPlot& plot) {
  std::string svg = "<g id=\"legend\" font-size=\"12\" fill=\"#333\">\n";
  double x = kLeft;
  const double y = kTop - 14;
  auto entry = [&](const std::string& swatch, const std::string& text) {
    absl::StrAppend(&svg, swatch, "<text x=\"", Coordinate(x + 22), "\" y=\"",
                    Coordinate(y + 4), "\">", Escape(text), "</text>\n");
    x += 40 + 7.0 * static_cast<double>(text.size());
  };
  auto line_swatch = [&](const char* colour) {
    return absl::StrCat("<line x1=\"", Coordinate(x), "\" x2=\"",
                        Coordinate(x + 18), "\" y1=\"", Coordinate(y),
                        "\" y2=\"", Coordinate(y), "\" stroke=\"", colour,
                        "\" stroke-width=\"2\"/>\n");
  };
  if (!plot.history.values.empty()) {
    entry(line_swatch(kHistoryColour), "history");
  }
  if (!plot.forecast.values.empty()) {
    entry(line_swatch(kForecastColour), "forecast");
  }
  if (!plot.actuals.values.empty()) {
    entry(line_swatch(kActualColour), "actual");
  }
  for (const PlotBand& band : plot.bands) {
    entry(
        absl::StrCat("<rect x=\"", Coordinate(x), "\" y=\"", Coordinate(y - 6),
                     "\" width=\"18\" height=\"12\" "
                     "fill=\"",
                     kBandColour, "\" fill-opacity=\"0.3\"/>\n"),
        absl::StrFormat("q%g to q%g", band.lower_quantile,
                        band.upper_quantile));
  }
  absl::StrAppend(&svg, "</g>\n");
  return svg;
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

std::string RenderForecastSvg(const ForecastPlot& plot) {
  const Scale scale = MakeScale(plot);
  std::string svg = absl::StrFormat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n",
      static_cast<int>(kWidth), static_cast<int>(kHeight),
      static_cast<int>(kWidth), static_cast<int>(kHeight));
  absl::StrAppend(&svg, "<title>", Escape(plot.title), "</title>\n",
                  "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
                  "<text x=\"", Coordinate(kLeft),
                  "\" y=\"16\" "
                  "font-size=\"14\" font-weight=\"bold\">",
                  Escape(plot.title), "</text>\n");
  absl::StrAppend(&svg, ValueAxis(scale, plot.value_label), TimeAxis(scale));

  for (size_t i = 0; i < plot.bands.size(); ++i) {
    absl::StrAppend(
        &svg, BandPolygon(plot.bands[i], i, plot.forecast.timestamps, scale));
  }
  if (!plot.forecast.timestamps.empty()) {
    // Where the forecast starts.
    const double x = scale.X(plot.forecast.timestamps.front());
    absl::StrAppend(&svg, "<line id=\"forecast-start\" x1=\"", Coordinate(x),
                    "\" x2=\"", Coordinate(x), "\" y1=\"", Coordinate(kTop),
                    "\" y2=\"", Coordinate(kHeight - kBottom),
                    "\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n");
  }
  if (!plot.history.values.empty()) {
    absl::StrAppend(&svg,
                    Polyline("history", kHistoryColour, plot.history, scale));
  }
  if (!plot.forecast.values.empty()) {
    absl::StrAppend(
        &svg, Polyline("forecast", kForecastColour, plot.forecast, scale));
  }
  if (!plot.actuals.values.empty()) {
    absl::StrAppend(&svg,
                    Polyline("actual", kActualColour, plot.actuals, scale));
  }
  absl::StrAppend(&svg, Legend(plot), "</svg>\n");
  return svg;
}

}  // namespace gridcast::ctl
