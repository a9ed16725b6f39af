#include "tools/gridcastctl/csv.h"

#include <cmath>
#include <deque>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "tools/gridcastctl/local_time.h"

namespace gridcast::ctl {
namespace {

constexpr absl::string_view kUtf8ByteOrderMark = "\xEF\xBB\xBF";

// The fields of an ISO 8601 date-time as written, before range checks.
struct DateTimeFields {
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int offset_seconds = 0;
  bool has_zone = false;
};

// Walks a timestamp left to right; every Read*() returns false when the
// text does not continue as expected.
class Cursor {
 public:
  explicit Cursor(absl::string_view text) : text_(text) {}

  bool AtEnd() const { return position_ == text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[position_]; }

  // Reads exactly `count` decimal digits.
  bool ReadDigits(int count, int* value) {
    *value = 0;
    for (int i = 0; i < count; ++i) {
      if (!absl::ascii_isdigit(Peek())) return false;
      *value = *value * 10 + (text_[position_++] - '0');
    }
    return true;
  }

  // Consumes `c` when it is next.
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++position_;
    return true;
  }

  // Consumes one of `choices` when it is next.
  bool ConsumeAnyOf(absl::string_view choices) {
    if (AtEnd() || !absl::StrContains(choices, Peek())) return false;
    ++position_;
    return true;
  }

 private:
  absl::string_view text_;
  size_t position_ = 0;
};

bool IsInteger(absl::string_view text) {
  absl::ConsumePrefix(&text, "-");
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

// Reads a fraction of a second after the '.'; only zeros carry no
// information that an integer timestamp would lose.
bool ReadZeroFraction(Cursor* cursor, bool* nonzero) {
  bool any_digit = false;
  while (absl::ascii_isdigit(cursor->Peek())) {
    int digit = 0;
    cursor->ReadDigits(1, &digit);
    if (digit != 0) *nonzero = true;
    any_digit = true;
  }
  return any_digit;
}

// Reads "Z", "±HH:MM", "±HHMM" or "±HH"; false for anything else.
bool ReadZone(Cursor* cursor, DateTimeFields* fields) {
  if (cursor->ConsumeAnyOf("Zz")) {
    fields->has_zone = true;
    return true;
  }

  const char sign = cursor->Peek();
  if (!cursor->ConsumeAnyOf("+-")) return false;
  int hours = 0;
  int minutes = 0;
  if (!cursor->ReadDigits(2, &hours)) return false;
  if (!cursor->AtEnd()) {
    cursor->Consume(':');
    if (!cursor->ReadDigits(2, &minutes)) return false;
  }
  if (hours > 23 || minutes > 59) return false;

  fields->offset_seconds =
      (sign == '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
  fields->has_zone = true;
  return true;
}

absl::Status NotATimestamp(absl::string_view text) {
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text,
                   "\" is not a timestamp; expected ISO 8601 such as "
                   "2024-01-01T00:00:00Z or 2024-01-01 01:00:00+01:00, or "
                   "Unix seconds"));
}

// Reads the date, the time and the zone of an ISO 8601 date-time.
absl::StatusOr<DateTimeFields> ReadDateTime(absl::string_view text) {
  Cursor cursor(text);
  DateTimeFields fields;
  const bool date_read =
      cursor.ReadDigits(4, &fields.year) && cursor.Consume('-') &&
      cursor.ReadDigits(2, &fields.month) && cursor.Consume('-') &&
      cursor.ReadDigits(2, &fields.day);
  const bool time_read = date_read && cursor.ConsumeAnyOf("Tt ") &&
                         cursor.ReadDigits(2, &fields.hour) &&
                         cursor.Consume(':') &&
                         cursor.ReadDigits(2, &fields.minute);
  if (!time_read) return NotATimestamp(text);

  if (cursor.Consume(':') && !cursor.ReadDigits(2, &fields.second)) {
    return NotATimestamp(text);
  }

  bool nonzero_fraction = false;
  if (cursor.ConsumeAnyOf(".,") &&
      !ReadZeroFraction(&cursor, &nonzero_fraction)) {
    return NotATimestamp(text);
  }
  if (nonzero_fraction) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text,
                     "\" has a fraction of a second; timestamps are whole "
                     "seconds"));
  }

  if (cursor.AtEnd()) return fields;
  if (!ReadZone(&cursor, &fields) || !cursor.AtEnd()) {
    return NotATimestamp(text);
  }
  return fields;
}

// Whether the fields name a real instant: CivilDay normalises 02-30 to
// 03-01, so a round trip that changes the date means it does not exist.
bool IsValidDateTime(const DateTimeFields& fields) {
  const absl::CivilDay day(fields.year, fields.month, fields.day);
  return fields.month >= 1 && fields.month <= 12 &&
         day.month() == fields.month && day.day() == fields.day &&
         fields.hour <= 23 && fields.minute <= 59 && fields.second <= 59;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> SplitCsvLine(absl::string_view line,
                                                      char delimiter) {
  std::vector<std::string> fields;
  std::string field;
  bool in_quotes = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_quotes) {
      if (c != '"') {
        field.push_back(c);
      } else if (i + 1 < line.size() && line[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else {
        in_quotes = false;
      }
    } else if (c == delimiter) {
      fields.push_back(std::move(field));
      field.clear();
    } else if (c == '"' && absl::StripAsciiWhitespace(field).empty()) {
      field.clear();
      in_quotes = true;
    } else {
      field.push_back(c);
    }
  }
  if (in_quotes) return absl::InvalidArgumentError("unterminated quote");
  fields.push_back(std::move(field));
  return fields;
}

absl::StatusOr<int64_t> ParseTimestamp(absl::string_view text,
                                       LocalTimeResolver* local_time) {
  text = absl::StripAsciiWhitespace(text);
  if (text.empty()) return absl::InvalidArgumentError("empty timestamp");

  if (IsInteger(text)) {
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(text, &seconds)) return NotATimestamp(text);
    if (local_time != nullptr) local_time->NoteInstant(seconds);
    return seconds;
  }

  GC_ASSIGN_OR_RETURN(const DateTimeFields fields, ReadDateTime(text));
  if (!IsValidDateTime(fields)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a valid date and time"));
  }

  const absl::CivilSecond civil(fields.year, fields.month, fields.day,
                                fields.hour, fields.minute, fields.second);
  if (!fields.has_zone) {
    if (local_time != nullptr) return local_time->Resolve(civil);
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text,
                     "\" has no zone; add Z or an offset such as +01:00, or "
                     "name the zone of local times with --timezone"));
  }

  const absl::Time utc = absl::FromCivil(civil, absl::UTCTimeZone());
  const int64_t instant = absl::ToUnixSeconds(utc) - fields.offset_seconds;
  if (local_time != nullptr) local_time->NoteInstant(instant);
  return instant;
}

HistoryCsvReader::HistoryCsvReader(std::istream* input, HistoryColumns columns,
                                   CsvOptions options)
    : input_(input), columns_(std::move(columns)), options_(options) {}

absl::StatusOr<HistoryCsvReader> HistoryCsvReader::Create(
    std::istream* input, HistoryColumns columns, CsvOptions options) {
  HistoryCsvReader reader(input, std::move(columns), options);
  GC_RETURN_IF_ERROR(reader.ReadHeader());
  return reader;
}

absl::Status HistoryCsvReader::ReadHeader() {
  std::vector<std::string> header;
  if (options_.header) {
    if (!std::getline(*input_, line_)) {
      return absl::InvalidArgumentError(
          "the file is empty; expected a header line such as "
          "timestamp,load_kw");
    }
    line_number_ = 1;

    absl::string_view text = line_;
    absl::ConsumePrefix(&text, kUtf8ByteOrderMark);
    absl::ConsumeSuffix(&text, "\r");
    auto fields = SplitCsvLine(text, options_.delimiter);
    if (!fields.ok()) return LineError("", fields.status().message());
    header = *std::move(fields);
    for (std::string& name : header) {
      name = std::string(absl::StripAsciiWhitespace(name));
    }
  }

  GC_ASSIGN_OR_RETURN(timestamp_index_, FindColumn(header, &columns_.timestamp,
                                                   "--timestamp-column"));
  if (!columns_.value.empty()) {
    GC_ASSIGN_OR_RETURN(value_index_,
                        FindColumn(header, &columns_.value, "--value-column"));
  }
  for (std::string& covariate : columns_.covariates) {
    GC_ASSIGN_OR_RETURN(const int index,
                        FindColumn(header, &covariate, "--covariate"));
    covariate_indexes_.push_back(index);
  }
  return absl::OkStatus();
}

absl::StatusOr<int> HistoryCsvReader::FindColumn(
    const std::vector<std::string>& header, std::string* name,
    absl::string_view option) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == *name) return static_cast<int>(i);
  }

  // Not a name in the header: a column number counting from 1, which
  // then takes the header's name (or "column N") for messages.
  int number = 0;
  if (absl::SimpleAtoi(*name, &number) && number >= 1 && IsInteger(*name)) {
    if (!header.empty() && number > static_cast<int>(header.size())) {
      return absl::InvalidArgumentError(absl::StrCat(
          option, " ", number, ": the header has only ", header.size(),
          " columns (", absl::StrJoin(header, ", "), ")"));
    }
    *name =
        header.empty() ? absl::StrCat("column ", number) : header[number - 1];
    return number - 1;
  }

  if (header.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, " \"", *name,
                     "\": without a header line, columns are chosen by "
                     "number, counting from 1"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("the header has no column \"", *name,
                   "\" (it has: ", absl::StrJoin(header, ", "),
                   "); choose one by name or number with ", option));
}

absl::StatusOr<bool> HistoryCsvReader::Next(HistoryRow* row) {
  while (std::getline(*input_, line_)) {
    ++line_number_;
    absl::string_view text = line_;
    absl::ConsumeSuffix(&text, "\r");
    if (absl::StripAsciiWhitespace(text).empty()) continue;

    auto fields = SplitCsvLine(text, options_.delimiter);
    if (!fields.ok()) return LineError("", fields.status().message());
    GC_RETURN_IF_ERROR(ParseRow(*fields, row));
    return true;
  }

  if (input_->bad()) {
    return absl::DataLossError(
        absl::StrCat("read failed after line ", line_number_));
  }
  return false;
}

absl::Status HistoryCsvReader::ParseRow(const std::vector<std::string>& fields,
                                        HistoryRow* row) const {
  GC_ASSIGN_OR_RETURN(const absl::string_view timestamp,
                      Field(fields, timestamp_index_, columns_.timestamp));
  auto parsed_time = ParseTimestamp(timestamp, options_.local_time);
  if (!parsed_time.ok()) {
    return LineError(columns_.timestamp, parsed_time.status().message());
  }
  row->timestamp = *parsed_time;

  if (value_index_ >= 0 && IsMissingLoad(fields)) {
    row->value = std::numeric_limits<double>::quiet_NaN();
  } else if (value_index_ >= 0) {
    GC_ASSIGN_OR_RETURN(row->value,
                        ParseNumber(fields, value_index_, columns_.value));
  }

  row->covariates.resize(covariate_indexes_.size());
  for (size_t i = 0; i < covariate_indexes_.size(); ++i) {
    GC_ASSIGN_OR_RETURN(
        row->covariates[i],
        ParseNumber(fields, covariate_indexes_[i], columns_.covariates[i]));
  }
  return absl::OkStatus();
}

bool HistoryCsvReader::IsMissingLoad(
    const std::vector<std::string>& fields) const {
  if (!options_.missing_load_as_nan) return false;
  if (value_index_ >= static_cast<int>(fields.size())) return false;
  const absl::string_view field =
      absl::StripAsciiWhitespace(fields[value_index_]);
  return field.empty() || absl::EqualsIgnoreCase(field, "nan");
}

absl::StatusOr<absl::string_view> HistoryCsvReader::Field(
    const std::vector<std::string>& fields, int index,
    const std::string& column) const {
  if (index >= static_cast<int>(fields.size())) {
    return LineError(column, absl::StrCat("missing (the line has ",
                                          fields.size(), " fields)"));
  }
  const absl::string_view field = absl::StripAsciiWhitespace(fields[index]);
  if (field.empty()) return LineError(column, "empty");
  return field;
}

absl::StatusOr<double> HistoryCsvReader::ParseNumber(
    const std::vector<std::string>& fields, int index,
    const std::string& column) const {
  GC_ASSIGN_OR_RETURN(const absl::string_view text,
                      Field(fields, index, column));
  double value = 0;
  if (!absl::SimpleAtod(text, &value)) {
    return LineError(column, absl::StrCat("\"", text, "\" is not a number"));
  }
  // The server refuses these too, but only here is the line number known.
  if (!std::isfinite(value)) {
    return LineError(column,
                     absl::StrCat("\"", text, "\" is not a finite number"));
  }
  return value;
}

absl::Status HistoryCsvReader::LineError(absl::string_view column,
                                         absl::string_view problem) const {
  std::string where = absl::StrCat("line ", line_number_);
  if (!column.empty()) absl::StrAppend(&where, ", column ", column);
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", problem));
}

absl::StatusOr<std::vector<HistoryRow>> ReadLastRows(HistoryCsvReader* reader,
                                                     size_t count) {
  std::deque<HistoryRow> tail;
  HistoryRow row;
  while (true) {
    GC_ASSIGN_OR_RETURN(const bool read, reader->Next(&row));
    if (!read) break;
    tail.push_back(row);
    if (tail.size() > count) tail.pop_front();
  }
  return std::vector<HistoryRow>(tail.begin(), tail.end());
}

}  // namespace gridcast::ctl
