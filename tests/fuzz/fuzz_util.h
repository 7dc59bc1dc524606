// Shared by the libFuzzer harnesses (issue 24). The rule every harness enforces: a hostile input
// may only be refused with an hc::Error, and the message must name the file (or the input) it came
// from. Any other exception (std::bad_alloc, a JSON library's own error, ...) is a finding and
// aborts, as are the sanitizers' reports, crashes, timeouts and running out of memory.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"

namespace hc_fuzz {

// <tmp>/hyperclip_fuzz_<pid>/, in memory (/dev/shm) where there is one: the harnesses that read
// paths write every input there. Made on first use and removed at exit.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    std::error_code ec;
    const std::string base = std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : "/tmp";
    std::string d = base + "/hyperclip_fuzz_" + std::to_string(::getpid());
    std::filesystem::create_directories(d);
    static std::string to_remove = d;
    std::atexit([] {
      std::error_code e;
      std::filesystem::remove_all(to_remove, e);
    });
    return d;
  }();
  return dir;
}

// Writes the bytes to scratch_dir()/name and returns the path.
inline std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
  std::string path = scratch_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) {
    std::fprintf(stderr, "fuzz harness: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "FINDING: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// Runs f; an hc::Error whose message contains `must_name` (when not empty) is an accepted refusal.
template <class F>
void expect_clean(const std::string& must_name, F f) {
  try {
    f();
  } catch (const hc::Error& e) {
    if (!must_name.empty() && std::string(e.what()).find(must_name) == std::string::npos)
      finding("an error that does not name '" + must_name + "': " + e.what());
  } catch (const std::exception& e) {
    finding(std::string("an exception other than hc::Error escaped: ") + e.what());
  }
}

}  // namespace hc_fuzz
