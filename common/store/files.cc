#include "common/store/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace gridcast {
namespace {

// "<operation> <path>: <strerror>" with the code absl derives from errno.
absl::Status PathError(int error_number, absl::string_view operation,
                       const std::string& path) {
  return absl::ErrnoToStatus(error_number, absl::StrCat(operation, " ", path));
}

absl::Status PathError(const std::error_code& error,
                       absl::string_view operation, const std::string& path) {
  if (error.category() == std::generic_category() ||
      error.category() == std::system_category()) {
    return PathError(error.value(), operation, path);
  }
  return absl::InternalError(
      absl::StrCat(operation, " ", path, ": ", error.message()));
}

// Closes `fd`, retrying nothing: on Linux the descriptor is released even
// when close() reports EINTR, so a retry could close someone else's file.
absl::Status CloseFile(int fd, const std::string& path) {
  if (close(fd) != 0) return PathError(errno, "close", path);
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, absl::string_view bytes,
                      const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t written = write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return PathError(errno, "write", path);
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
  return absl::OkStatus();
}

absl::Status ReadAll(int fd, const std::string& path, std::string* out) {
  struct stat info;
  if (fstat(fd, &info) == 0 && info.st_size > 0) {
    out->reserve(static_cast<size_t>(info.st_size));
  }

  // Read to end of file rather than trusting st_size, which network file
  // systems may report stale.
  char buffer[1 << 16];
  while (true) {
    const ssize_t count = read(fd, buffer, sizeof(buffer));
    if (count < 0) {
      if (errno == EINTR) continue;
      return PathError(errno, "read", path);
    }
    if (count == 0) return absl::OkStatus();
    out->append(buffer, static_cast<size_t>(count));
  }
}

// Writes, fsyncs and closes an open descriptor; closes it on every path.
absl::Status WriteSyncAndClose(int fd, absl::string_view bytes,
                               const std::string& path) {
  absl::Status status = WriteAll(fd, bytes, path);
  if (status.ok() && fsync(fd) != 0) status = PathError(errno, "fsync", path);

  const absl::Status closed = CloseFile(fd, path);
  return status.ok() ? closed : status;
}

// renameat2(RENAME_NOREPLACE) answers these where the file system cannot
// honour the flag.
bool NoReplaceUnsupported(int error_number) {
  return error_number == EINVAL || error_number == ENOSYS ||
         error_number == ENOTSUP;
}

absl::Status RenameError(int error_number, const std::string& from,
                         const std::string& to) {
  // A non-empty directory in the way is reported as ENOTEMPTY by rename(2)
  // and as EEXIST by renameat2; both mean the name is taken.
  if (error_number == EEXIST || error_number == ENOTEMPTY) {
    return absl::AlreadyExistsError(
        absl::StrCat("rename ", from, " to ", to, ": ", to, " exists"));
  }
  return PathError(error_number, absl::StrCat("rename ", from, " to"), to);
}

// The fallback where RENAME_NOREPLACE is unsupported. rename(2) refuses to
// replace a non-empty directory, which every published directory is; for a
// plain file, link(2) refuses any existing destination.
absl::Status RenameWithoutFlag(const std::string& from, const std::string& to) {
  struct stat info;
  if (lstat(from.c_str(), &info) != 0) {
    return PathError(errno, "rename: stat", from);
  }

  if (S_ISDIR(info.st_mode)) {
    if (rename(from.c_str(), to.c_str()) != 0) {
      return RenameError(errno, from, to);
    }
    return absl::OkStatus();
  }

  if (link(from.c_str(), to.c_str()) != 0) return RenameError(errno, from, to);
  if (unlink(from.c_str()) != 0) return PathError(errno, "unlink", from);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return PathError(errno, "open", path);

  std::string content;
  absl::Status status = ReadAll(fd, path, &content);
  close(fd);  // Read-only: nothing to lose if close reports an error.
  if (!status.ok()) return status;
  return content;
}

absl::Status WriteFileDurably(const std::string& path,
                              absl::string_view bytes) {
  const int fd =
      open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return PathError(errno, "create", path);

  absl::Status status = WriteSyncAndClose(fd, bytes, path);
  // O_EXCL guarantees the file is ours, so a torn one may go.
  if (!status.ok()) unlink(path.c_str());
  return status;
}

absl::Status FsyncDirectory(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return PathError(errno, "open directory", path);

  absl::Status status;
  // Some file systems cannot fsync a directory and say EINVAL; they persist
  // directory entries by other means, so that is not a failure.
  if (fsync(fd) != 0 && errno != EINVAL) {
    status = PathError(errno, "fsync directory", path);
  }
  const absl::Status closed = CloseFile(fd, path);
  return status.ok() ? closed : status;
}

absl::StatusOr<std::string> MakeTempDirectory(const std::string& parent,
                                              absl::string_view prefix) {
  std::string pattern = absl::StrCat(parent, "/", prefix, "XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return PathError(errno, "mkdtemp", pattern);
  }
  // mkdtemp makes it 0700, and it keeps that mode when it is renamed into
  // place: inference replicas running as another user could not read it.
  if (chmod(pattern.c_str(), 0755) != 0) {
    const int error = errno;
    rmdir(pattern.c_str());
    return PathError(error, "chmod", pattern);
  }
  return pattern;
}

absl::Status CreateDirectories(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) return PathError(error, "create directory", path);

  // create_directories is content with a file of that name; we are not.
  if (!std::filesystem::is_directory(path, error)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " exists and is not a directory"));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> IsDirectory(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return PathError(errno, "stat", path);
  }
  return S_ISDIR(info.st_mode);
}

absl::Status RemoveTree(const std::string& path) {
  std::error_code error;
  std::filesystem::remove_all(path, error);
  if (error) return PathError(error, "remove", path);
  return absl::OkStatus();
}

absl::Status RenameNoReplace(const std::string& from, const std::string& to) {
  if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(),
                RENAME_NOREPLACE) == 0) {
    return absl::OkStatus();
  }
  if (NoReplaceUnsupported(errno)) return RenameWithoutFlag(from, to);
  return RenameError(errno, from, to);
}

absl::StatusOr<std::vector<std::string>> ListDirectory(
    const std::string& path) {
  DIR* directory = opendir(path.c_str());
  if (directory == nullptr) return PathError(errno, "open directory", path);

  std::vector<std::string> names;
  while (true) {
    // readdir reports an error only through errno, and only when it returns
    // null, so errno must be cleared first.
    errno = 0;
    const dirent* entry = readdir(directory);
    if (entry == nullptr) break;
    const absl::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  const int read_error = errno;
  closedir(directory);
  if (read_error != 0) return PathError(read_error, "read directory", path);

  std::sort(names.begin(), names.end());
  return names;
}

absl::Status ReplaceFileAtomically(const std::string& path,
                                   absl::string_view bytes) {
  const size_t slash = path.rfind('/');
  const std::string directory =
      slash == std::string::npos ? "." : path.substr(0, slash);
  const std::string name =
      slash == std::string::npos ? path : path.substr(slash + 1);

  std::string temporary = absl::StrCat(directory, "/.tmp-", name, "-XXXXXX");
  const int fd = mkostemp(temporary.data(), O_CLOEXEC);
  if (fd < 0) return PathError(errno, "mkstemp", temporary);
  // mkstemp creates 0600; the store's files are readable by every replica.
  fchmod(fd, 0644);

  absl::Status status = WriteSyncAndClose(fd, bytes, temporary);
  if (status.ok() && rename(temporary.c_str(), path.c_str()) != 0) {
    status = PathError(errno, absl::StrCat("rename ", temporary, " to"), path);
  }
  if (!status.ok()) {
    unlink(temporary.c_str());
    return status;
  }
  return FsyncDirectory(directory);
}

absl::Status SetPermissions(const std::string& path, unsigned mode) {
  if (chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    return PathError(errno, "chmod", path);
  }
  return absl::OkStatus();
}

absl::StatusOr<FileLock> FileLock::TryAcquire(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return PathError(errno, "open lock file", path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    close(fd);
    if (error == EWOULDBLOCK) {
      return absl::UnavailableError(
          absl::StrCat(path, " is locked by another process"));
    }
    return PathError(error, "lock", path);
  }
  return FileLock(fd);
}

absl::StatusOr<bool> FileLock::IsHeld(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    return PathError(errno, "open lock file", path);
  }
  const bool held = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  close(fd);  // Also drops the lock if we took it.
  return held;
}

FileLock::FileLock(FileLock&& other) noexcept : fd_(other.fd_) {
  other.fd_ = -1;
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace gridcast
