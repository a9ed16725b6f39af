#include "tools/gridcastctl/svg_plot.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace gridcast::ctl {
namespace {

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

std::string Points(const std::vector<PlotPoint>& points) {
  std::string list;
  for (const PlotPoint& point : points) {
    absl::StrAppend(&list, list.empty() ? "" : " ", Coordinate(point.x), ",",
                    Coordinate(point.y));
  }
  return list;
}

std::string Line(const PlotLine& line, const std::string& id = "") {
  std::string svg = "<line";
  if (!id.empty()) absl::StrAppend(&svg, " id=\"", id, "\"");
  absl::StrAppend(&svg, " x1=\"", Coordinate(line.from.x), "\" x2=\"",
                  Coordinate(line.to.x), "\" y1=\"", Coordinate(line.from.y),
                  "\" y2=\"", Coordinate(line.to.y), "\" stroke=\"",
                  HexColour(line.colour), "\" stroke-width=\"",
                  absl::StrFormat("%g", line.width), "\"");
  if (line.dashed) absl::StrAppend(&svg, " stroke-dasharray=\"4 3\"");
  return absl::StrCat(svg, "/>\n");
}

std::string Text(const PlotText& text) {
  static constexpr const char* kAnchors[] = {"start", "middle", "end"};
  std::string svg = "<text";
  if (text.vertical) {
    absl::StrAppend(&svg, " transform=\"translate(", Coordinate(text.at.x), ",",
                    Coordinate(text.at.y), ") rotate(-90)\"");
  } else {
    absl::StrAppend(&svg, " x=\"", Coordinate(text.at.x), "\" y=\"",
                    Coordinate(text.at.y), "\"");
  }
  absl::StrAppend(&svg, " font-size=\"", absl::StrFormat("%g", text.size),
                  "\" fill=\"", HexColour(text.colour), "\"");
  if (text.bold) absl::StrAppend(&svg, " font-weight=\"bold\"");
  if (text.anchor != TextAnchor::kStart) {
    absl::StrAppend(&svg, " text-anchor=\"",
                    kAnchors[static_cast<int>(text.anchor)], "\"");
  }
  return absl::StrCat(svg, ">", Escape(text.text), "</text>\n");
}

std::string ValueAxis(const PlotLayout& layout) {
  std::string svg = "<g id=\"value-axis\">\n";
  for (const PlotLine& line : layout.value_grid)
    absl::StrAppend(&svg, Line(line));
  for (const PlotText& label : layout.value_labels) {
    absl::StrAppend(&svg, Text(label));
  }
  return absl::StrCat(svg, Text(layout.value_name), "</g>\n");
}

std::string TimeAxis(const PlotLayout& layout) {
  std::string svg = "<g id=\"time-axis\">\n";
  for (const PlotLine& tick : layout.time_ticks)
    absl::StrAppend(&svg, Line(tick));
  for (const PlotText& label : layout.time_labels) {
    absl::StrAppend(&svg, Text(label));
  }
  return absl::StrCat(svg, Line(layout.time_axis), Text(layout.time_name),
                      "</g>\n");
}

std::string Band(const PlotArea& band) {
  return absl::StrFormat(
      "<polygon class=\"band\" id=\"%s\" fill=\"%s\" fill-opacity=\"%.2f\" "
      "stroke=\"none\" points=\"%s\"/>\n",
      band.id, HexColour(band.colour), band.opacity, Points(band.outline));
}

std::string Polyline(const PlotPolyline& series) {
  return absl::StrCat("<polyline id=\"", series.id,
                      "\" fill=\"none\" stroke=\"", HexColour(series.colour),
                      "\" stroke-width=\"", absl::StrFormat("%g", series.width),
                      "\" points=\"", Points(series.points), "\"/>\n");
}

std::string Legend(const PlotLayout& layout) {
  std::string svg = "<g id=\"legend\">\n";
  for (const PlotLegendEntry& entry : layout.legend) {
    if (entry.line.has_value()) absl::StrAppend(&svg, Line(*entry.line));
    if (entry.box.has_value()) {
      const PlotRect& box = *entry.box;
      absl::StrAppend(&svg, "<rect x=\"", Coordinate(box.corner.x), "\" y=\"",
                      Coordinate(box.corner.y), "\" width=\"",
                      Coordinate(box.width), "\" height=\"",
                      Coordinate(box.height), "\" fill=\"",
                      HexColour(box.colour), "\" fill-opacity=\"",
                      absl::StrFormat("%.2f", box.opacity), "\"/>\n");
    }
    absl::StrAppend(&svg, Text(entry.label));
  }
  return absl::StrCat(svg, "</g>\n");
}

}  // namespace

std::string RenderForecastSvg(const ForecastPlot& plot) {
  const PlotLayout layout = LayOutForecastPlot(plot);
  std::string svg = absl::StrFormat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n",
      layout.width, layout.height, layout.width, layout.height);
  absl::StrAppend(&svg, "<title>", Escape(plot.title), "</title>\n",
                  "<rect width=\"100%\" height=\"100%\" fill=\"",
                  HexColour(layout.background), "\"/>\n", Text(layout.title));
  absl::StrAppend(&svg, ValueAxis(layout), TimeAxis(layout));

  for (const PlotArea& band : layout.bands) absl::StrAppend(&svg, Band(band));
  if (layout.forecast_start.has_value()) {
    absl::StrAppend(&svg, Line(*layout.forecast_start, "forecast-start"));
  }
  for (const PlotPolyline& series : layout.series) {
    absl::StrAppend(&svg, Polyline(series));
  }
  absl::StrAppend(&svg, Legend(layout), "</svg>\n");
  return svg;
}

}  // namespace gridcast::ctl
