// An RGB picture in memory that the PNG plot draws into: rectangles,
// straight and broken lines, filled translucent polygons and text in the
// project's bitmap font, with the edges of slanted lines and polygons
// smoothed by their pixel coverage; and its encoding as a PNG file.
#ifndef GRIDCAST_TOOLS_GRIDCASTCTL_RASTER_H_
#define GRIDCAST_TOOLS_GRIDCASTCTL_RASTER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/gridcastctl/plot_layout.h"

namespace gridcast::ctl {

class Raster {
 public:
  // A `width` x `height` picture filled with `background`; both sides at
  // least 1.
  Raster(int width, int height, Rgb background);

  int width() const { return width_; }
  int height() const { return height_; }
  Rgb Pixel(int x, int y) const;
  // Rows top to bottom, three bytes (red, green, blue) per pixel.
  const std::vector<uint8_t>& pixels() const { return pixels_; }

  // Covers the pixels whose centres lie in the rectangle, at its opacity.
  void FillRect(const PlotRect& rect);

  // A horizontal or vertical line lands on whole pixels, so that a 1 pixel
  // axis stays one crisp pixel wide; other lines are smoothed.
  void StrokeLine(const PlotLine& line);

  // Connected segments of `width` pixels; a point with a non-finite
  // coordinate breaks the line.
  void StrokePolyline(const std::vector<PlotPoint>& points, Rgb colour,
                      double width);

  // The inside of the outline (the non-zero winding rule, as SVG fills),
  // blended over what is there at `opacity`.
  void FillPolygon(const std::vector<PlotPoint>& outline, Rgb colour,
                   double opacity);

  // The text's width in pixels at a whole-number `scale` of the font.
  static int TextWidth(const std::string& text, int scale, bool bold);

  // Draws `text` with `scale` x `scale` pixels per font pixel, placed as
  // the layout says (anchor, baseline, turned or not). Bold doubles each
  // stroke one pixel to the right.
  void DrawText(const PlotText& text, int scale);

 private:
  // How much of each pixel a shape covers, from 0 to 1.
  using Coverage = std::vector<float>;

  void Blend(int x, int y, Rgb colour, double alpha);
  void BlendCoverage(const Coverage& coverage, Rgb colour, double opacity);
  void CoverSegment(PlotPoint from, PlotPoint to, double width,
                    Coverage* coverage) const;
  void DrawGlyphs(const PlotText& text, int scale, int offset);

  int width_;
  int height_;
  std::vector<uint8_t> pixels_;
};

// The picture as a PNG file: 8-bit RGB, not interlaced, its rows deflated
// by zlib.
absl::StatusOr<std::string> EncodePng(const Raster& raster);

}  // namespace gridcast::ctl

#endif  // GRIDCAST_TOOLS_GRIDCASTCTL_RASTER_H_
