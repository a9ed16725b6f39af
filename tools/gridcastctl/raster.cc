#include "tools/gridcastctl/raster.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/gridcastctl/bitmap_font.h"

namespace gridcast::ctl {
namespace {

// A dashed line: on for kDashOn pixels, off for kDashOff.
constexpr double kDashOn = 4;
constexpr double kDashOff = 3;

int Round(double value) { return static_cast<int>(std::floor(value + 0.5)); }

bool IsFinite(PlotPoint point) {
  return std::isfinite(point.x) && std::isfinite(point.y);
}

// The distance from `p` to the segment from `a` to `b`.
double DistanceToSegment(PlotPoint p, PlotPoint a, PlotPoint b) {
  const double dx = b.x - a.x;
  const double dy = b.y - a.y;
  const double length_squared = dx * dx + dy * dy;
  double t = 0;
  if (length_squared > 0) {
    t = std::clamp(((p.x - a.x) * dx + (p.y - a.y) * dy) / length_squared, 0.0,
                   1.0);
  }
  return std::hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

// The pieces of a line that are inked: all of it, or its dashes.
std::vector<std::pair<PlotPoint, PlotPoint>> InkedPieces(const PlotLine& line) {
  if (!line.dashed) return {{line.from, line.to}};
  const double dx = line.to.x - line.from.x;
  const double dy = line.to.y - line.from.y;
  const double length = std::hypot(dx, dy);
  std::vector<std::pair<PlotPoint, PlotPoint>> pieces;
  for (double start = 0; start < length; start += kDashOn + kDashOff) {
    const double end = std::min(length, start + kDashOn);
    pieces.push_back(
        {{line.from.x + dx * start / length, line.from.y + dy * start / length},
         {line.from.x + dx * end / length, line.from.y + dy * end / length}});
  }
  return pieces;
}

// Adds `weight` times the part of each pixel of `row` that lies between
// `left` and `right`.
void AddSpan(float* row, int width, double left, double right, double weight) {
  left = std::clamp(left, 0.0, static_cast<double>(width));
  right = std::clamp(right, 0.0, static_cast<double>(width));
  if (right <= left) return;
  const int first = static_cast<int>(left);
  const int last = static_cast<int>(right);
  if (first == last) {
    row[first] += static_cast<float>(weight * (right - left));
    return;
  }
  row[first] += static_cast<float>(weight * (first + 1 - left));
  for (int x = first + 1; x < last; ++x) row[x] += static_cast<float>(weight);
  if (last < width) row[last] += static_cast<float>(weight * (right - last));
}

struct Crossing {
  double x;
  int direction;
};

// Where the outline crosses the horizontal line at `y`, left to right,
// each with +1 where the outline runs down and -1 where it runs up.
std::vector<Crossing> Crossings(const std::vector<PlotPoint>& outline,
                                double y) {
  std::vector<Crossing> crossings;
  for (size_t i = 0; i < outline.size(); ++i) {
    const PlotPoint& a = outline[i];
    const PlotPoint& b = outline[(i + 1) % outline.size()];
    if ((a.y <= y) == (b.y <= y)) continue;
    const double x = a.x + (b.x - a.x) * (y - a.y) / (b.y - a.y);
    crossings.push_back({x, b.y > a.y ? 1 : -1});
  }
  std::sort(crossings.begin(), crossings.end(),
            [](const Crossing& a, const Crossing& b) { return a.x < b.x; });
  return crossings;
}

void AppendChunk(const std::string& type, const std::string& data,
                 std::string* png) {
  auto append_u32 = [png](uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      png->push_back(static_cast<char>((value >> shift) & 0xff));
    }
  };
  append_u32(static_cast<uint32_t>(data.size()));
  const std::string body = type + data;
  png->append(body);
  append_u32(static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(body.data()),
            static_cast<uInt>(body.size()))));
}

}  // namespace

Raster::Raster(int width, int height, Rgb background)
    : width_(std::max(width, 1)), height_(std::max(height, 1)) {
  pixels_.resize(static_cast<size_t>(width_) * height_ * 3);
  for (size_t i = 0; i < pixels_.size(); i += 3) {
    pixels_[i] = background.red;
    pixels_[i + 1] = background.green;
    pixels_[i + 2] = background.blue;
  }
}

Rgb Raster::Pixel(int x, int y) const {
  const size_t at = (static_cast<size_t>(y) * width_ + x) * 3;
  return {pixels_[at], pixels_[at + 1], pixels_[at + 2]};
}

void Raster::Blend(int x, int y, Rgb colour, double alpha) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_ || alpha <= 0) return;
  alpha = std::min(alpha, 1.0);
  uint8_t* pixel = &pixels_[(static_cast<size_t>(y) * width_ + x) * 3];
  const uint8_t channels[] = {colour.red, colour.green, colour.blue};
  for (int c = 0; c < 3; ++c) {
    pixel[c] = static_cast<uint8_t>(
        Round(pixel[c] + (channels[c] - pixel[c]) * alpha));
  }
}

void Raster::BlendCoverage(const Coverage& coverage, Rgb colour,
                           double opacity) {
  for (int y = 0; y < height_; ++y) {
    for (int x = 0; x < width_; ++x) {
      const float covered = coverage[static_cast<size_t>(y) * width_ + x];
      if (covered > 0) Blend(x, y, colour, std::min(covered, 1.0f) * opacity);
    }
  }
}

void Raster::FillRect(const PlotRect& rect) {
  const int left = static_cast<int>(std::ceil(rect.corner.x - 0.5));
  const int right =
      static_cast<int>(std::ceil(rect.corner.x + rect.width - 0.5));
  const int top = static_cast<int>(std::ceil(rect.corner.y - 0.5));
  const int bottom =
      static_cast<int>(std::ceil(rect.corner.y + rect.height - 0.5));
  for (int y = top; y < bottom; ++y) {
    for (int x = left; x < right; ++x) Blend(x, y, rect.colour, rect.opacity);
  }
}

void Raster::StrokeLine(const PlotLine& line) {
  if (!IsFinite(line.from) || !IsFinite(line.to)) return;
  const bool horizontal = line.from.y == line.to.y;
  const bool vertical = line.from.x == line.to.x;
  const double half = line.width / 2;

  Coverage coverage;
  for (const auto& [from, to] : InkedPieces(line)) {
    if (horizontal || vertical) {
      // Whole pixels: [start, end) along the line, at least one across.
      const double across = horizontal ? from.y : from.x;
      const int near = Round(across - half);
      const int far = std::max(near + 1, Round(across + half));
      const int start =
          Round(horizontal ? std::min(from.x, to.x) : std::min(from.y, to.y));
      const int end =
          Round(horizontal ? std::max(from.x, to.x) : std::max(from.y, to.y));
      for (int a = start; a < end; ++a) {
        for (int b = near; b < far; ++b) {
          Blend(horizontal ? a : b, horizontal ? b : a, line.colour, 1);
        }
      }
      continue;
    }
    if (coverage.empty()) coverage.assign(pixels_.size() / 3, 0);
    CoverSegment(from, to, line.width, &coverage);
  }
  if (!coverage.empty()) BlendCoverage(coverage, line.colour, 1);
}

void Raster::CoverSegment(PlotPoint from, PlotPoint to, double width,
                          Coverage* coverage) const {
  // A pixel whose centre is within half the width is covered; the next
  // pixel out is covered in part, so that slanted edges look smooth.
  const double reach = width / 2 + 0.5;
  const int left =
      std::max(0, static_cast<int>(std::floor(std::min(from.x, to.x) - reach)));
  const int right = std::min(
      width_ - 1, static_cast<int>(std::ceil(std::max(from.x, to.x) + reach)));
  const int top =
      std::max(0, static_cast<int>(std::floor(std::min(from.y, to.y) - reach)));
  const int bottom = std::min(
      height_ - 1, static_cast<int>(std::ceil(std::max(from.y, to.y) + reach)));
  for (int y = top; y <= bottom; ++y) {
    for (int x = left; x <= right; ++x) {
      const double distance = DistanceToSegment({x + 0.5, y + 0.5}, from, to);
      const float covered =
          static_cast<float>(std::clamp(reach - distance, 0.0, 1.0));
      float& pixel = (*coverage)[static_cast<size_t>(y) * width_ + x];
      pixel = std::max(pixel, covered);
    }
  }
}

void Raster::StrokePolyline(const std::vector<PlotPoint>& points, Rgb colour,
                            double width) {
  // One coverage for the whole line, so that the joints, which two
  // segments cover, are not inked twice.
  Coverage coverage(pixels_.size() / 3, 0);
  for (size_t i = 1; i < points.size(); ++i) {
    if (!IsFinite(points[i - 1]) || !IsFinite(points[i])) continue;
    CoverSegment(points[i - 1], points[i], width, &coverage);
  }
  BlendCoverage(coverage, colour, 1);
}

void Raster::FillPolygon(const std::vector<PlotPoint>& outline, Rgb colour,
                         double opacity) {
  std::vector<PlotPoint> points;
  for (const PlotPoint& point : outline) {
    if (IsFinite(point)) points.push_back(point);
  }
  if (points.size() < 3) return;

  // Four sample lines per pixel row, each adding a quarter of the part of
  // a pixel it finds inside.
  constexpr int kSamples = 4;
  Coverage coverage(pixels_.size() / 3, 0);
  for (int y = 0; y < height_; ++y) {
    float* row = &coverage[static_cast<size_t>(y) * width_];
    for (int sample = 0; sample < kSamples; ++sample) {
      const double line_y = y + (sample + 0.5) / kSamples;
      const std::vector<Crossing> crossings = Crossings(points, line_y);
      int winding = 0;
      for (size_t i = 0; i + 1 < crossings.size(); ++i) {
        winding += crossings[i].direction;
        if (winding != 0) {
          AddSpan(row, width_, crossings[i].x, crossings[i + 1].x,
                  1.0 / kSamples);
        }
      }
    }
  }
  BlendCoverage(coverage, colour, opacity);
}

int Raster::TextWidth(const std::string& text, int scale, bool bold) {
  int glyphs = 0;
  for (unsigned char c : text) {
    // The continuation bytes of a UTF-8 sequence draw nothing.
    if ((c & 0xc0) != 0x80) ++glyphs;
  }
  if (glyphs == 0) return 0;
  return glyphs * kGlyphAdvance * scale - scale + (bold ? 1 : 0);
}

void Raster::DrawText(const PlotText& text, int scale) {
  if (!IsFinite(text.at)) return;
  DrawGlyphs(text, scale, 0);
  if (text.bold) DrawGlyphs(text, scale, 1);
}

void Raster::DrawGlyphs(const PlotText& text, int scale, int offset) {
  const int width = TextWidth(text.text, scale, text.bold);
  int along = offset;  // from the anchor, along the baseline
  if (text.anchor == TextAnchor::kMiddle) along -= width / 2;
  if (text.anchor == TextAnchor::kEnd) along -= width;
  const int anchor_x = Round(text.at.x);
  const int anchor_y = Round(text.at.y);

  // (u, v): along the baseline and down from it, as the unturned text has
  // them; a turned text has them a quarter turn left.
  auto ink = [&](int u, int v) {
    if (text.vertical) {
      Blend(anchor_x + v, anchor_y - u - 1, text.colour, 1);
    } else {
      Blend(anchor_x + u, anchor_y + v, text.colour, 1);
    }
  };
  for (unsigned char c : text.text) {
    if ((c & 0xc0) == 0x80) continue;
    const Glyph& glyph = GlyphFor(c);
    for (int row = 0; row < kGlyphHeight; ++row) {
      for (int column = 0; column < kGlyphWidth; ++column) {
        if (!(glyph[row] >> (kGlyphWidth - 1 - column) & 1)) continue;
        for (int dv = 0; dv < scale; ++dv) {
          for (int du = 0; du < scale; ++du) {
            ink(along + column * scale + du, (row - kGlyphAscent) * scale + dv);
          }
        }
      }
    }
    along += kGlyphAdvance * scale;
  }
}

absl::StatusOr<std::string> EncodePng(const Raster& raster) {
  // Each row is preceded by its filter type, 0: the bytes as they are.
  const size_t row_bytes = static_cast<size_t>(raster.width()) * 3;
  std::string rows;
  rows.reserve((row_bytes + 1) * raster.height());
  const std::vector<uint8_t>& pixels = raster.pixels();
  for (int y = 0; y < raster.height(); ++y) {
    rows.push_back('\0');
    rows.append(reinterpret_cast<const char*>(&pixels[y * row_bytes]),
                row_bytes);
  }

  uLongf deflated_size = compressBound(static_cast<uLong>(rows.size()));
  std::string deflated(deflated_size, '\0');
  const int result =
      compress2(reinterpret_cast<Bytef*>(deflated.data()), &deflated_size,
                reinterpret_cast<const Bytef*>(rows.data()),
                static_cast<uLong>(rows.size()), Z_BEST_COMPRESSION);
  if (result != Z_OK) {
    return absl::InternalError(
        absl::StrCat("deflating the picture: zlib error ", result));
  }
  deflated.resize(deflated_size);

  std::string header;
  for (uint32_t side : {static_cast<uint32_t>(raster.width()),
                        static_cast<uint32_t>(raster.height())}) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      header.push_back(static_cast<char>((side >> shift) & 0xff));
    }
  }
  // 8 bits per channel, colour type 2 (RGB), deflate, adaptive filtering,
  // no interlace.
  header.append({8, 2, 0, 0, 0});

  std::string png("\x89PNG\r\n\x1a\n", 8);
  AppendChunk("IHDR", header, &png);
  AppendChunk("IDAT", deflated, &png);
  AppendChunk("IEND", "", &png);
  return png;
}

}  // namespace gridcast::ctl
