// The command line: build/hyperclip run as a user would (the Makefile passes its path in
// HYPERCLIP_BIN).
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/wait.h>

#include "models/hyperclip.h"
#include "tests/cli_runner.h"

using namespace hc;
using hc_test::RunResult;
using hc_test::run_cli;

TEST_CASE("cli: params prints the counts for every preset combination") {
  for (const std::string& image : image_preset_names())
    for (const std::string& text : text_preset_names())
      for (const std::string& hyper : {std::string("none"), std::string("hyper-nano"), std::string("hyper-base")}) {
        CAPTURE(image + " " + text + " " + hyper);
        RunResult r = run_cli("params --image " + image + " --text " + text + " --hyper " + hyper +
                              " --vocab 8192 --embed 128");
        REQUIRE(r.status == 0);
        nlohmann::json j = nlohmann::json::parse(r.out);
        CHECK(j["total"].get<int64_t>() ==
              j["image"].get<int64_t>() + j["text"].get<int64_t>() + j["hyper"].get<int64_t>() + 2);
        CHECK(j["image"].get<int64_t>() > 0);
        CHECK(j["text"].get<int64_t>() > 0);
        CHECK((hyper == "none") == (j["hyper"].get<int64_t>() == 0));
      }
}

TEST_CASE("cli: errors go to stderr with a non-zero exit") {
  RunResult r = run_cli("params --image convnet-xl --text text-nano --hyper none");
  CHECK(r.status != 0);
  CHECK(r.out.find("unknown image preset 'convnet-xl'") != std::string::npos);
  r = run_cli("params --image convnet-nano --text text-nano");
  CHECK(r.status != 0);
  CHECK(r.out.find("missing required option --hyper") != std::string::npos);
  r = run_cli("params --image convnet-nano --text text-nano --hyper none --vocab lots");
  CHECK(r.status != 0);
  CHECK(r.out.find("--vocab expects an integer") != std::string::npos);
  r = run_cli("frobnicate");
  CHECK(r.status != 0);
  r = run_cli("params --help");
  CHECK(r.status == 0);
  CHECK(r.out.find("usage: hyperclip params") != std::string::npos);
}
