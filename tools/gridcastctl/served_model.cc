#include "tools/gridcastctl/served_model.h"

#include <fstream>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "tools/gridcastctl/exit_codes.h"
#include "tools/gridcastctl/local_time.h"

namespace gridcast::ctl {

absl::StatusOr<v1::Model> GetModel(const ClientOptions& client,
                                   v1::ForecasterService::Stub* stub,
                                   const std::string& name) {
  v1::GetModelRequest request;
  request.set_model(name);
  v1::GetModelResponse response;
  GC_RETURN_IF_ERROR(CallServer(client, absl::StrCat("getting model ", name),
                                [&](grpc::ClientContext* context) {
                                  return stub->GetModel(context, request,
                                                        &response);
                                }));
  return response.model();
}

absl::StatusOr<ServedShape> FindServedShape(const ClientOptions& client,
                                            v1::ForecasterService::Stub* stub,
                                            const std::string& model,
                                            int64_t version) {
  GC_ASSIGN_OR_RETURN(const v1::Model found, GetModel(client, stub, model));

  int64_t wanted = version != 0 ? version : found.served_version();
  if (wanted == 0) {
    for (const v1::ModelVersion& candidate : found.versions()) {
      wanted = std::max(wanted, candidate.version());
    }
  }
  for (const v1::ModelVersion& candidate : found.versions()) {
    if (candidate.version() != wanted) continue;
    ServedShape shape;
    const v1::ArchitectureSpec& spec = candidate.spec();
    shape.version = wanted;
    if (spec.input_window() > 0) shape.input_window = spec.input_window();
    shape.horizon = spec.horizon();
    shape.resolution_seconds = candidate.resolution_seconds();
    shape.covariates.assign(spec.covariates().begin(), spec.covariates().end());
    return shape;
  }
  return absl::NotFoundError(
      absl::StrCat("model ", model,
                   wanted == 0 ? std::string(" has no version")
                               : absl::StrCat(" has no version ", wanted)));
}

absl::StatusOr<std::vector<HistoryRow>> ReadHistoryRows(
    const std::string& path, const HistoryColumns& columns,
    const CsvFormatOptions& format, int64_t points) {
  std::ifstream file;
  GC_RETURN_IF_ERROR(OpenForReading(path, &file));

  std::optional<LocalTimeResolver> local_time;
  if (!format.time_zone.empty()) {
    auto resolver = LocalTimeResolver::Create(format.time_zone);
    if (!resolver.ok()) return UsageError(resolver.status().message());
    local_time.emplace(*std::move(resolver));
  }
  CsvOptions csv = format.csv;
  csv.local_time = local_time.has_value() ? &*local_time : nullptr;

  auto rows = [&]() -> absl::StatusOr<std::vector<HistoryRow>> {
    GC_ASSIGN_OR_RETURN(HistoryCsvReader reader,
                        HistoryCsvReader::Create(&file, columns, csv));
    const size_t wanted = points > 0 ? static_cast<size_t>(points)
                                     : std::numeric_limits<size_t>::max();
    return ReadLastRows(&reader, wanted);
  }();
  if (!rows.ok()) {
    return absl::Status(
        rows.status().code(),
        absl::StrCat("reading ", path, ": ", rows.status().message()));
  }
  if (rows->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("reading ", path, ": no points"));
  }
  return rows;
}

std::vector<HistoryRow> LastRows(const std::vector<HistoryRow>& rows,
                                 int64_t count) {
  const size_t kept = std::min(static_cast<size_t>(count), rows.size());
  return std::vector<HistoryRow>(rows.end() - kept, rows.end());
}

}  // namespace gridcast::ctl
