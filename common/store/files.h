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
// returns its path, readable by everyone (0755) so that what is published
// from it is. The default prefix is hidden from the store's listings.
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

// Replaces the file at `path` (or creates it) so that a crash leaves either
// the old content or all of `bytes`, never a mix: writes a hidden sibling
// ".tmp-<name>-XXXXXX", fsyncs it, renames it over `path` and fsyncs the
// directory. On failure the sibling is removed again.
absl::Status ReplaceFileAtomically(const std::string& path,
                                   absl::string_view bytes);

// Sets the permission bits of `path` (chmod).
absl::Status SetPermissions(const std::string& path, unsigned mode);

// An exclusive advisory lock (flock) on a file, held until the object dies
// or the process ends, however it ends: the kernel releases it even after
// kill -9. Locks conflict between processes and between separate
// acquisitions in one process.
class FileLock {
 public:
  // Creates `path` if needed and locks it without waiting: UNAVAILABLE
  // naming the path when another holder has it.
  static absl::StatusOr<FileLock> TryAcquire(const std::string& path);
  // Whether some holder has the lock on `path` now; false when the file
  // does not exist. Takes and drops the lock itself to find out.
  static absl::StatusOr<bool> IsHeld(const std::string& path);

  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_STORE_FILES_H_
