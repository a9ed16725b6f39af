// A forecast drawn as a self-contained SVG picture from the shared layout
// (plot_layout.h). Written by hand so that no plotting library is needed;
// the output opens in any browser.
#ifndef GRIDCAST_TOOLS_GRIDCASTCTL_SVG_PLOT_H_
#define GRIDCAST_TOOLS_GRIDCASTCTL_SVG_PLOT_H_

#include <string>

#include "tools/gridcastctl/plot_layout.h"

namespace gridcast::ctl {

// The picture as an SVG document. Series are <polyline> elements with ids
// "history", "forecast" and "actual", bands <polygon class="band"> elements; an
// empty series is left out.
std::string RenderForecastSvg(const ForecastPlot& plot);

}  // namespace gridcast::ctl

#endif  // GRIDCAST_TOOLS_GRIDCASTCTL_SVG_PLOT_H_
