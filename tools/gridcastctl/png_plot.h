// A forecast drawn as a PNG picture from the shared layout (plot_layout.h),
// the same picture as the SVG writer's, rasterised by the project's own
// code (raster.h) with its own bitmap font.
#ifndef GRIDCAST_TOOLS_GRIDCASTCTL_PNG_PLOT_H_
#define GRIDCAST_TOOLS_GRIDCASTCTL_PNG_PLOT_H_

#include <string>

#include "absl/status/statusor.h"
#include "tools/gridcastctl/plot_layout.h"
#include "tools/gridcastctl/raster.h"

namespace gridcast::ctl {

// The picture in memory, as the PNG file holds it.
Raster RasteriseForecastPlot(const ForecastPlot& plot);

// The picture as the bytes of a PNG file.
absl::StatusOr<std::string> RenderForecastPng(const ForecastPlot& plot);

}  // namespace gridcast::ctl

#endif  // GRIDCAST_TOOLS_GRIDCASTCTL_PNG_PLOT_H_
