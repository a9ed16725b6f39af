// Local wall-clock times of a named time zone (Europe/Berlin) turned into
// Unix seconds, with daylight-saving changes handled and reported: the
// hour that clocks skip in spring cannot appear in a file and is refused
// if it does; the hour that repeats in autumn is told apart by the order
// of the rows (its first pass is summer time, its second winter time).
// Time zone rules come from the system's tzdata (/usr/share/zoneinfo).
#ifndef GRIDCAST_TOOLS_GRIDCASTCTL_LOCAL_TIME_H_
#define GRIDCAST_TOOLS_GRIDCASTCTL_LOCAL_TIME_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace gridcast::ctl {

class LocalTimeResolver {
 public:
  // Loads the rules of `zone_name` (an IANA name such as Europe/Berlin).
  // An unknown name is INVALID_ARGUMENT naming it and tzdata.
  // `rows_in_order`: whether rows arrive in time order, which is what tells
  // the two passes of a repeated hour apart; when false (the server sorts
  // the rows), a local time in a repeated hour is refused as ambiguous.
  static absl::StatusOr<LocalTimeResolver> Create(const std::string& zone_name,
                                                  bool rows_in_order = true);

  // The instant of a local time read from the file, in Unix seconds.
  // A time in the spring gap, or an ambiguous one, is INVALID_ARGUMENT
  // saying why (the caller adds the line and column).
  absl::StatusOr<int64_t> Resolve(const absl::CivilSecond& local);

  // Notes an instant given with an explicit offset, so that the order of
  // later local times and the transitions crossed stay known.
  void NoteInstant(int64_t unix_seconds);

  // What was done, one sentence per line, for the operator: the zone, each
  // clock change the rows crossed, and how the repeated hours were read.
  std::vector<std::string> Report() const;

  const std::string& zone_name() const { return zone_name_; }

 private:
  // A clock change between two consecutive rows, or one that a repeated
  // local time fell in.
  struct Transition {
    absl::CivilSecond from;
    absl::CivilSecond to;
    int offset_before_seconds = 0;
    int offset_after_seconds = 0;
    // Rows of a repeated hour read with the offset before / after it.
    int64_t rows_before = 0;
    int64_t rows_after = 0;
  };

  LocalTimeResolver(std::string zone_name, absl::TimeZone zone,
                    bool rows_in_order);

  absl::StatusOr<int64_t> ResolveRepeated(const absl::CivilSecond& local,
                                          const absl::TimeZone::TimeInfo& info);
  // Records every clock change between the previous instant and `instant`.
  void NoteCrossings(int64_t instant);
  Transition& TransitionAt(absl::Time at);
  std::string Describe(const absl::CivilSecond& local) const;

  std::string zone_name_;
  absl::TimeZone zone_;
  bool rows_in_order_;
  std::optional<int64_t> previous_;
  // Keyed by the Unix second of the change.
  std::map<int64_t, Transition> transitions_;
};

// "+02:00" for 7200.
std::string FormatUtcOffset(int offset_seconds);

}  // namespace gridcast::ctl

#endif  // GRIDCAST_TOOLS_GRIDCASTCTL_LOCAL_TIME_H_
