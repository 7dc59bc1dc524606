#include "data/file_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace hc {

InputFile::InputFile(const std::string& path, const char* what) : path_(path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. It has no
  // effect on a regular file, the only kind accepted below.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) throw Error(cat(path, ": cannot open ", what, " (", std::strerror(errno), ")"));
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    int e = errno;
    ::close(fd_);
    throw Error(cat(path, ": cannot stat ", what, " (", std::strerror(e), ")"));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw Error(cat(path, ": ", S_ISDIR(st.st_mode) ? "is a directory" : "is not a regular file", ", not a ", what));
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

bool InputFile::read_at(void* buf, size_t n, uint64_t offset) const {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t got = ::pread(fd_, p, n, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw Error(cat(path_, ": read error at offset ", offset, " (", std::strerror(errno), ")"));
    }
    if (got == 0) return false;
    p += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return true;
}

std::vector<uint8_t> read_file_bytes(const std::string& path, const char* what, uint64_t max_bytes) {
  InputFile f(path, what);
  HC_CHECK(f.size() <= max_bytes, path, ": ", what, " of ", f.size(), " bytes, more than the limit of ",
           max_bytes);
  std::vector<uint8_t> bytes(static_cast<size_t>(f.size()));
  HC_CHECK(f.read_at(bytes.data(), bytes.size(), 0), path, ": ", what, " shrank while being read");
  return bytes;
}

std::string read_file_text(const std::string& path, const char* what, uint64_t max_bytes) {
  std::vector<uint8_t> b = read_file_bytes(path, what, max_bytes);
  return std::string(b.begin(), b.end());
}

}  // namespace hc
