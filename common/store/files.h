// Durable file-system helpers for the model store: whole-file reads, writes
// that reach the disk before they return, and the no-replace rename that
// makes publishing atomic. Every error is an absl::Status naming the path
// and the operating system's reason; nothing throws.
#ifndef GRIDCAST_COMMON_STORE_FILES_H_
#define GRIDCAST_COMMON_STORE_FILES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gridcast {

// The whole content of the file at `path`. NOT_FOUND naming the path when
// it does not exist.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Creates `path` (which must not exist: ALREADY_EXISTS otherwise), writes
// all of `bytes` and fsyncs the file before closing it. On failure the
// partly written file is removed again.
absl::Status WriteFileDurably(const std::string& path, absl::string_view bytes);

// Fsyncs a directory so that the entries created, renamed or removed in it
// survive a crash.
absl::Status FsyncDirectory(const std::string& path);

// Creates a fresh, empty directory `<parent>/<prefix>XXXXXX` (mkdtemp) and
// returns its path. The default prefix is hidden from the store's listings.
absl::StatusOr<std::string> MakeTempDirectory(
    const std::string& parent, absl::string_view prefix = ".tmp-");

// Creates `path` and any missing parents; OK when it exists as a directory.
absl::Status CreateDirectories(const std::string& path);

// Whether `path` exists and is a directory. Errors other than "does not
// exist" (such as permission denied) are returned as such.
absl::StatusOr<bool> IsDirectory(const std::string& path);

// Removes `path` and everything below it. OK when it does not exist.
absl::Status RemoveTree(const std::string& path);

// Renames `from` to `to` unless `to` exists: ALREADY_EXISTS then, and
// nothing changes. Uses renameat2(RENAME_NOREPLACE); on file systems that
// do not support it (EINVAL, ENOSYS, e.g. some NFS servers) a directory is
// renamed with rename(2), which refuses a non-empty destination, and a file
// is linked then unlinked, which refuses any existing destination.
absl::Status RenameNoReplace(const std::string& from, const std::string& to);

// Names of the entries in the directory `path` (without "." and ".."),
// sorted. NOT_FOUND naming the path when it does not exist.
absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& path);

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_STORE_FILES_H_
