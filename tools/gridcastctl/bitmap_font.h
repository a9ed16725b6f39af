// A small bitmap font for the PNG plot: printable ASCII in cells of 5 x 9
// pixels, drawn for this project. Rows 0 to 6 stand on the baseline (capitals
// and digits fill them); rows 7 and 8 hang below it (g, j, p, q, y, and
// the comma's tail).
#ifndef GRIDCAST_TOOLS_GRIDCASTCTL_BITMAP_FONT_H_
#define GRIDCAST_TOOLS_GRIDCASTCTL_BITMAP_FONT_H_

#include <array>
#include <cstdint>

namespace gridcast::ctl {

inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphHeight = 9;
// The rows above the baseline; the rest are below it.
inline constexpr int kGlyphAscent = 7;
// Pixels from the start of one glyph to the next, at scale 1.
inline constexpr int kGlyphAdvance = kGlyphWidth + 1;

// One bit per pixel, the leftmost column in bit 4, row 0 at the top.
using Glyph = std::array<uint8_t, kGlyphHeight>;

// The glyph of an ASCII character; a space is blank, and a byte the font
// lacks (control characters, the bytes of a UTF-8 sequence) is an empty
// box.
const Glyph& GlyphFor(unsigned char c);

}  // namespace gridcast::ctl

#endif  // GRIDCAST_TOOLS_GRIDCASTCTL_BITMAP_FONT_H_
