#include "tools/gridcastctl/args.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace gridcast::ctl {
namespace {

constexpr char kUsagePayloadUrl[] = "type.gridcast.io/gridcastctl.UsageError";

// Options wider than this get their help on the next line.
constexpr size_t kOptionColumnWidth = 28;
// Help text wraps to fit a terminal of 80 columns.
constexpr size_t kHelpLineWidth = 80;

const OptionSpec* FindOption(const CommandSpec& spec, absl::string_view name) {
  for (const OptionSpec& option : spec.options) {
    if (option.name == name) return &option;
  }
  return nullptr;
}

std::string HelpHint(const CommandSpec& spec) {
  return absl::StrCat(" (see 'gridcastctl ", spec.name, " --help')");
}

// Splits `text` at spaces into lines of at most `width` characters (a
// longer word gets a line of its own).
std::vector<std::string> WrapWords(absl::string_view text, size_t width) {
  std::vector<std::string> lines(1);
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!lines.back().empty() &&
        lines.back().size() + 1 + word.size() > width) {
      lines.emplace_back();
    }
    if (!lines.back().empty()) lines.back().push_back(' ');
    absl::StrAppend(&lines.back(), word);
  }
  return lines;
}

std::string OptionLabel(const OptionSpec& option) {
  std::string label = absl::StrCat("--", option.name);
  if (!option.value_name.empty())
    absl::StrAppend(&label, "=", option.value_name);
  return label;
}

// Stores one `--name[=value]` word, taking the value from the next word
// when it is not inline; advances *index past what it consumed.
absl::Status ParseOption(
    const CommandSpec& spec, const std::vector<std::string>& args,
    size_t* index,
    std::map<std::string, std::vector<std::string>, std::less<>>* values) {
  const absl::string_view body = absl::string_view(args[*index]).substr(2);
  const size_t equals = body.find('=');
  const absl::string_view name = body.substr(0, equals);

  const OptionSpec* option = FindOption(spec, name);
  if (option == nullptr) {
    return UsageError(absl::StrCat("unknown option --", name, HelpHint(spec)));
  }

  if (option->value_name.empty()) {
    if (equals != absl::string_view::npos) {
      return UsageError(absl::StrCat("--", name, " takes no value"));
    }
    (*values)[option->name].push_back("true");
    return absl::OkStatus();
  }

  std::string value;
  if (equals != absl::string_view::npos) {
    value = std::string(body.substr(equals + 1));
  } else if (*index + 1 < args.size()) {
    value = args[++*index];
  } else {
    return UsageError(
        absl::StrCat("--", name, " needs a value (", option->value_name, ")"));
  }

  std::vector<std::string>& slot = (*values)[option->name];
  if (!option->repeatable) slot.clear();
  slot.push_back(std::move(value));
  return absl::OkStatus();
}

absl::Status CheckPositionalCount(const CommandSpec& spec,
                                  const std::vector<std::string>& positional) {
  const int count = static_cast<int>(positional.size());
  if (count < spec.min_positional) {
    return UsageError(absl::StrCat("missing arguments; usage: gridcastctl ",
                                   spec.name, " ", spec.synopsis));
  }
  if (count > spec.max_positional) {
    return UsageError(absl::StrCat("unexpected argument \"",
                                   positional[spec.max_positional], "\"",
                                   HelpHint(spec)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status UsageError(absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayloadUrl, absl::Cord("usage"));
  return status;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayloadUrl).has_value();
}

absl::StatusOr<ParsedArgs> ParseArgs(const CommandSpec& spec,
                                     const std::vector<std::string>& args) {
  ParsedArgs parsed;
  bool options_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_ended || arg.size() < 2 || arg[0] != '-') {
      parsed.positional_.push_back(arg);
    } else if (arg == "--") {
      options_ended = true;
    } else if (arg == "--help" || arg == "-h") {
      parsed.help_requested_ = true;
    } else if (!absl::StartsWith(arg, "--")) {
      return UsageError(absl::StrCat("unknown option ", arg, HelpHint(spec)));
    } else {
      const absl::Status stored = ParseOption(spec, args, &i, &parsed.values_);
      if (!stored.ok()) return stored;
    }
  }

  // Help is answered even when the rest of the line is incomplete.
  if (parsed.help_requested_) return parsed;

  const absl::Status counted = CheckPositionalCount(spec, parsed.positional_);
  if (!counted.ok()) return counted;
  return parsed;
}

bool ParsedArgs::Has(absl::string_view name) const {
  return values_.find(name) != values_.end();
}

std::string ParsedArgs::GetString(absl::string_view name,
                                  absl::string_view fallback) const {
  const auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::string(fallback);
  return it->second.back();
}

std::vector<std::string> ParsedArgs::GetAll(absl::string_view name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return {};
  return it->second;
}

absl::StatusOr<std::string> ParsedArgs::GetRequired(
    absl::string_view name) const {
  std::string value = GetString(name);
  if (value.empty())
    return UsageError(absl::StrCat("--", name, " is required"));
  return value;
}

absl::StatusOr<int64_t> ParsedArgs::GetInt(absl::string_view name,
                                           int64_t fallback, int64_t min,
                                           int64_t max) const {
  if (!Has(name)) return fallback;
  const std::string text = GetString(name);
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) {
    return UsageError(
        absl::StrCat("--", name, ": \"", text, "\" is not an integer"));
  }
  if (value < min || value > max) {
    return UsageError(absl::StrCat("--", name, " must be between ", min,
                                   " and ", max, ", got ", value));
  }
  return value;
}

absl::StatusOr<double> ParsedArgs::GetDouble(absl::string_view name,
                                             double fallback, double min,
                                             double max) const {
  if (!Has(name)) return fallback;
  const std::string text = GetString(name);
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !std::isfinite(value)) {
    return UsageError(
        absl::StrCat("--", name, ": \"", text, "\" is not a number"));
  }
  if (value < min || value > max) {
    return UsageError(absl::StrCat("--", name, " must be between ", min,
                                   " and ", max, ", got ", value));
  }
  return value;
}

absl::StatusOr<std::vector<int64_t>> ParsedArgs::GetIntList(
    absl::string_view name, std::vector<int64_t> fallback, int64_t min,
    int64_t max) const {
  if (!Has(name)) return fallback;
  const std::string text = GetString(name);
  std::vector<int64_t> list;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    int64_t value = 0;
    if (!absl::SimpleAtoi(item, &value) || value < min || value > max) {
      return UsageError(absl::StrCat("--", name, ": \"", text,
                                     "\" must be a comma-separated list of "
                                     "integers between ",
                                     min, " and ", max));
    }
    list.push_back(value);
  }
  return list;
}

absl::StatusOr<std::vector<double>> ParsedArgs::GetDoubleList(
    absl::string_view name, std::vector<double> fallback, double min,
    double max) const {
  if (!Has(name)) return fallback;
  const std::string text = GetString(name);
  std::vector<double> list;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    double value = 0;
    if (!absl::SimpleAtod(item, &value) || !(value >= min && value <= max)) {
      return UsageError(absl::StrCat("--", name, ": \"", text,
                                     "\" must be a comma-separated list of "
                                     "numbers between ",
                                     min, " and ", max));
    }
    list.push_back(value);
  }
  return list;
}

std::string FormatOptionList(const std::vector<OptionSpec>& options) {
  std::string text;
  for (const OptionSpec& option : options) {
    const std::string label = OptionLabel(option);
    absl::StrAppend(&text, "  ", label);
    if (label.size() + 2 >= kOptionColumnWidth) {
      absl::StrAppend(&text, "\n", std::string(kOptionColumnWidth, ' '));
    } else {
      text.append(kOptionColumnWidth - label.size() - 2, ' ');
    }
    const std::string indent(kOptionColumnWidth, ' ');
    absl::StrAppend(
        &text,
        absl::StrJoin(
            WrapWords(option.help, kHelpLineWidth - kOptionColumnWidth),
            absl::StrCat("\n", indent)),
        "\n");
  }
  return text;
}

std::string FormatHelp(const CommandSpec& spec,
                       const std::vector<OptionSpec>& global_options) {
  std::string text = absl::StrCat("Usage: gridcastctl ", spec.name);
  if (!spec.synopsis.empty()) absl::StrAppend(&text, " ", spec.synopsis);
  absl::StrAppend(&text, "\n\n", spec.summary, "\n");
  if (!spec.description.empty()) absl::StrAppend(&text, "\n", spec.description);
  if (!absl::EndsWith(text, "\n")) text.push_back('\n');

  std::vector<OptionSpec> own = spec.options;
  own.push_back({"help", "", "show this help and exit"});
  absl::StrAppend(&text, "\nOptions:\n", FormatOptionList(own));

  if (!global_options.empty()) {
    absl::StrAppend(&text, "\nGlobal options (before or after the command):\n",
                    FormatOptionList(global_options));
  }
  return text;
}

}  // namespace gridcast::ctl
