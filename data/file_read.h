// Reading files that may come from anyone (checkpoints, classifiers, tokenizers, dataset files,
// images): the path must name a regular file, so a directory, a FIFO or a device is an error that
// names it rather than garbage, a hang or an exception without a file name (issue 24); the size
// comes from fstat and every read is checked against it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hc {

// An open regular file, closed at scope exit. `what` names the kind of file in messages
// ("checkpoint", "image file"): "<path>: is a directory, not a checkpoint".
class InputFile {
 public:
  InputFile(const std::string& path, const char* what);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }
  // Reads exactly n bytes at `offset`; false when the file ends first (it shrank, or the caller's
  // offset is past the end). Errors of the system are thrown naming the file.
  bool read_at(void* buf, size_t n, uint64_t offset) const;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// The whole file, refused before reading when it is larger than max_bytes.
std::vector<uint8_t> read_file_bytes(const std::string& path, const char* what = "file",
                                     uint64_t max_bytes = UINT64_MAX);
std::string read_file_text(const std::string& path, const char* what = "file",
                           uint64_t max_bytes = UINT64_MAX);

}  // namespace hc
