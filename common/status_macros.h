// Early-return helpers for absl::Status, which Debian 12's Abseil does not
// export publicly.
#ifndef GRIDCAST_COMMON_STATUS_MACROS_H_
#define GRIDCAST_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define GC_CONCAT_INNER_(a, b) a##b
#define GC_CONCAT_(a, b) GC_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when it is not OK.
#define GC_RETURN_IF_ERROR(expr)              \
  do {                                        \
    const ::absl::Status gc_status_ = (expr); \
    if (!gc_status_.ok()) return gc_status_;  \
  } while (false)

// `GC_ASSIGN_OR_RETURN(auto x, MakeX());` binds the value or returns the
// error status from the enclosing function.
#define GC_ASSIGN_OR_RETURN(lhs, expr) \
  GC_ASSIGN_OR_RETURN_IMPL_(GC_CONCAT_(gc_statusor_, __LINE__), lhs, expr)

#define GC_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  if (!statusor.ok()) return statusor.status();        \
  lhs = std::move(statusor).value()

#endif  // GRIDCAST_COMMON_STATUS_MACROS_H_
