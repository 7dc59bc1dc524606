// AtomicFile: write a file so that readers see either the old content or the complete new one.
// Data goes to "<path>.tmp.<pid>"; commit() fsyncs it, renames it over `path` and fsyncs the folder.
// A failure (or destruction without commit) removes the temporary file and leaves `path` as it was.
#pragma once
#include <cstddef>
#include <string>

namespace hc {

class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t bytes);  // throws naming the path (disk full, ...)
  void write(const std::string& s) { write(s.data(), s.size()); }
  void commit();

 private:
  [[noreturn]] void fail(const char* what);
  std::string path_, tmp_;
  int fd_ = -1;
};

}  // namespace hc
