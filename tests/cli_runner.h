// Runs build/hyperclip as a user would (the Makefile passes its path in HYPERCLIP_BIN) and
// captures its output and exit status, for the command-line tests.
#pragma once
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace hc_test {

struct RunResult {
  int status = -1;
  std::string out;  // stdout, and stderr too unless asked otherwise
};

// The binary under test.
inline std::string hyperclip_bin() {
  const char* bin = std::getenv("HYPERCLIP_BIN");
  return bin ? bin : "./build/hyperclip";
}

// Runs a shell command line; its output (what the line redirects to stdout) and exit status.
inline RunResult run_shell(const std::string& cmd) {
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// timeout_s > 0 runs the command under coreutils' timeout: a hang then ends with status 124 (and a
// signal with 128 + its number) instead of stalling the suite.
inline RunResult run_cli(const std::string& args, bool with_stderr = true, int timeout_s = 0) {
  return run_shell((timeout_s > 0 ? "timeout -k 5 " + std::to_string(timeout_s) + " " : std::string()) + hyperclip_bin() +
                   " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null"));
}

}  // namespace hc_test
