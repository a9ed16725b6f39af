#include "tools/gridcastctl/local_time.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace gridcast::ctl {
namespace {

std::string FormatWallClock(const absl::CivilSecond& civil) {
  return absl::StrFormat("%02d:%02d", civil.hour(), civil.minute());
}

std::string FormatDate(const absl::CivilSecond& civil) {
  return absl::FormatCivilTime(absl::CivilDay(civil));
}

}  // namespace

std::string FormatUtcOffset(int offset_seconds) {
  const int magnitude = std::abs(offset_seconds);
  return absl::StrFormat("%c%02d:%02d", offset_seconds < 0 ? '-' : '+',
                         magnitude / 3600, magnitude % 3600 / 60);
}

LocalTimeResolver::LocalTimeResolver(std::string zone_name, absl::TimeZone zone,
                                     bool rows_in_order)
    : zone_name_(std::move(zone_name)),
      zone_(zone),
      rows_in_order_(rows_in_order) {}

absl::StatusOr<LocalTimeResolver> LocalTimeResolver::Create(
    const std::string& zone_name, bool rows_in_order) {
  absl::TimeZone zone;
  if (zone_name.empty() || !absl::LoadTimeZone(zone_name, &zone)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown time zone \"", zone_name,
        "\"; use an IANA name such as Europe/Berlin (the rules come from "
        "the tzdata package, /usr/share/zoneinfo)"));
  }
  return LocalTimeResolver(zone_name, zone, rows_in_order);
}

absl::StatusOr<int64_t> LocalTimeResolver::Resolve(
    const absl::CivilSecond& local) {
  const absl::TimeZone::TimeInfo info = zone_.At(local);
  int64_t instant = 0;
  switch (info.kind) {
    case absl::TimeZone::TimeInfo::UNIQUE:
      instant = absl::ToUnixSeconds(info.pre);
      break;
    case absl::TimeZone::TimeInfo::SKIPPED: {
      const Transition& change = TransitionAt(info.trans);
      return absl::InvalidArgumentError(absl::StrCat(
          Describe(local), " does not exist in ", zone_name_,
          ": clocks went forward from ", FormatWallClock(change.from), " to ",
          FormatWallClock(change.to), " (",
          FormatUtcOffset(change.offset_before_seconds), " to ",
          FormatUtcOffset(change.offset_after_seconds), ")"));
    }
    case absl::TimeZone::TimeInfo::REPEATED: {
      auto repeated = ResolveRepeated(local, info);
      if (!repeated.ok()) return repeated.status();
      instant = *repeated;
      break;
    }
  }
  NoteInstant(instant);
  return instant;
}

absl::StatusOr<int64_t> LocalTimeResolver::ResolveRepeated(
    const absl::CivilSecond& local, const absl::TimeZone::TimeInfo& info) {
  Transition& change = TransitionAt(info.trans);
  const int64_t earlier =
      std::min(absl::ToUnixSeconds(info.pre), absl::ToUnixSeconds(info.post));
  const int64_t later =
      std::max(absl::ToUnixSeconds(info.pre), absl::ToUnixSeconds(info.post));

  if (!rows_in_order_) {
    return absl::InvalidArgumentError(absl::StrCat(
        Describe(local), " happens twice in ", zone_name_,
        " (clocks went back from ", FormatWallClock(change.from), " to ",
        FormatWallClock(change.to),
        ") and unsorted rows cannot tell which is meant; write the offset, "
        "such as ",
        absl::FormatCivilTime(local),
        FormatUtcOffset(change.offset_before_seconds)));
  }

  // The first pass through the hour comes before any row at or after its
  // earlier instant; once the rows have reached it, this is the second.
  if (previous_.has_value() && *previous_ >= earlier) {
    ++change.rows_after;
    return later;
  }
  ++change.rows_before;
  return earlier;
}

void LocalTimeResolver::NoteInstant(int64_t unix_seconds) {
  NoteCrossings(unix_seconds);
  previous_ = unix_seconds;
}

void LocalTimeResolver::NoteCrossings(int64_t instant) {
  if (!previous_.has_value() || instant <= *previous_) return;

  absl::Time cursor = absl::FromUnixSeconds(*previous_);
  absl::TimeZone::CivilTransition civil;
  while (zone_.NextTransition(cursor, &civil)) {
    const absl::Time at = zone_.At(civil.to).post;
    if (at > absl::FromUnixSeconds(instant) || at <= cursor) break;
    if (civil.from != civil.to) TransitionAt(at);
    cursor = at;
  }
}

LocalTimeResolver::Transition& LocalTimeResolver::TransitionAt(absl::Time at) {
  const int64_t key = absl::ToUnixSeconds(at);
  auto it = transitions_.find(key);
  if (it != transitions_.end()) return it->second;

  Transition change;
  absl::TimeZone::CivilTransition civil;
  if (zone_.NextTransition(at - absl::Seconds(1), &civil)) {
    change.from = civil.from;
    change.to = civil.to;
  }
  change.offset_before_seconds = zone_.At(at - absl::Seconds(1)).offset;
  change.offset_after_seconds = zone_.At(at).offset;
  return transitions_.emplace(key, change).first->second;
}

std::string LocalTimeResolver::Describe(const absl::CivilSecond& local) const {
  return absl::StrCat("local time ", FormatDate(local), " ",
                      absl::StrFormat("%02d:%02d:%02d", local.hour(),
                                      local.minute(), local.second()));
}

std::vector<std::string> LocalTimeResolver::Report() const {
  std::vector<std::string> lines = {
      absl::StrCat("timestamps without an offset were read as local time in ",
                   zone_name_, " and converted to UTC")};
  for (const auto& [unused, change] : transitions_) {
    const std::string offsets =
        absl::StrCat(" (", FormatUtcOffset(change.offset_before_seconds),
                     " to ", FormatUtcOffset(change.offset_after_seconds), ")");
    if (change.to > change.from) {
      lines.push_back(
          absl::StrCat(FormatDate(change.from), ": clocks went forward from ",
                       FormatWallClock(change.from), " to ",
                       FormatWallClock(change.to), offsets,
                       "; the local times in between do not exist and no row "
                       "had one"));
      continue;
    }

    std::string line = absl::StrCat(
        FormatDate(change.to), ": clocks went back from ",
        FormatWallClock(change.from), " to ", FormatWallClock(change.to),
        offsets, "; of the repeated local times, ", change.rows_before,
        " rows were read as ", FormatUtcOffset(change.offset_before_seconds),
        " (first pass) and ", change.rows_after, " as ",
        FormatUtcOffset(change.offset_after_seconds),
        " (second pass), by their order in the file");
    if (change.rows_before > 0 && change.rows_after == 0) {
      absl::StrAppend(&line,
                      "; the second pass has no rows, so the series has a "
                      "gap there");
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace gridcast::ctl
