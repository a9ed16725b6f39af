#include "common/printable.h"

#include "absl/strings/str_format.h"

namespace gridcast {
namespace {

// Length of the valid UTF-8 sequence starting at text[i], 0 if none.
size_t Utf8SequenceLength(absl::string_view text, size_t i) {
  const auto byte = [&](size_t k) {
    return static_cast<unsigned char>(text[k]);
  };
  const unsigned char lead = byte(i);
  size_t length = 0;
  unsigned min_second = 0x80, max_second = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) min_second = 0xa0;  // No overlong forms.
    if (lead == 0xed) max_second = 0x9f;  // No surrogates.
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) min_second = 0x90;
    if (lead == 0xf4) max_second = 0x8f;  // Nothing above U+10FFFF.
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < min_second || byte(i + 1) > max_second) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  }
  return length;
}

}  // namespace

std::string PrintableUtf8(absl::string_view text) {
  std::string result;
  result.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      result.push_back(static_cast<char>(c));
      ++i;
    } else if (c == '\t') {
      result.push_back('\t');
      ++i;
    } else if (const size_t length = Utf8SequenceLength(text, i); length > 0) {
      result.append(text.substr(i, length).data(), length);
      i += length;
    } else {
      absl::StrAppendFormat(&result, "\\x%02x", c);
      ++i;
    }
  }
  return result;
}

}  // namespace gridcast
