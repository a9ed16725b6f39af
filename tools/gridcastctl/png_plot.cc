#include "tools/gridcastctl/png_plot.h"

namespace gridcast::ctl {
namespace {

// The bitmap font is 9 pixels high with its descent; it is drawn at twice
// its size for the title's 14 pixels and as it is for the axes' 11 and 12.
int FontScale(double size) { return size >= 14 ? 2 : 1; }

// The text's scale, made smaller where it would run off the canvas (a
// title naming a long file path).
int FittingScale(const PlotText& text, int canvas_width) {
  int scale = FontScale(text.size);
  for (; scale > 1; --scale) {
    const int width = Raster::TextWidth(text.text, scale, text.bold);
    double left = text.at.x;
    if (text.anchor == TextAnchor::kMiddle) left -= width / 2.0;
    if (text.anchor == TextAnchor::kEnd) left -= width;
    if (text.vertical || (left >= 0 && left + width <= canvas_width)) break;
  }
  return scale;
}

void Draw(const PlotText& text, int canvas_width, Raster* raster) {
  raster->DrawText(text, FittingScale(text, canvas_width));
}

}  // namespace

Raster RasteriseForecastPlot(const ForecastPlot& plot) {
  const PlotLayout layout = LayOutForecastPlot(plot);
  Raster raster(layout.width, layout.height, layout.background);
  Draw(layout.title, layout.width, &raster);

  for (const PlotLine& line : layout.value_grid) raster.StrokeLine(line);
  for (const PlotText& label : layout.value_labels) {
    Draw(label, layout.width, &raster);
  }
  Draw(layout.value_name, layout.width, &raster);
  for (const PlotLine& tick : layout.time_ticks) raster.StrokeLine(tick);
  for (const PlotText& label : layout.time_labels) {
    Draw(label, layout.width, &raster);
  }
  raster.StrokeLine(layout.time_axis);
  Draw(layout.time_name, layout.width, &raster);

  for (const PlotArea& band : layout.bands) {
    raster.FillPolygon(band.outline, band.colour, band.opacity);
  }
  if (layout.forecast_start.has_value()) {
    raster.StrokeLine(*layout.forecast_start);
  }
  for (const PlotPolyline& series : layout.series) {
    raster.StrokePolyline(series.points, series.colour, series.width);
  }
  for (const PlotLegendEntry& entry : layout.legend) {
    if (entry.line.has_value()) raster.StrokeLine(*entry.line);
    if (entry.box.has_value()) raster.FillRect(*entry.box);
    Draw(entry.label, layout.width, &raster);
  }
  return raster;
}

absl::StatusOr<std::string> RenderForecastPng(const ForecastPlot& plot) {
  return EncodePng(RasteriseForecastPlot(plot));
}

}  // namespace gridcast::ctl
