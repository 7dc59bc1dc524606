// hyperclip tokenizer train, run as a user would (the Makefile passes the binary in HYPERCLIP_BIN).
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "data/tokenizer.h"
#include "tests/cli_runner.h"

using namespace hc;
using hc_test::RunResult;
using hc_test::run_cli;

namespace {

std::string temp_path(const std::string& name) {
  return "/tmp/hyperclip_test_" + std::to_string(::getpid()) + "_" + name;
}

}  // namespace

static void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

TEST_CASE("cli: tokenizer train writes a loadable tokenizer and reports JSON") {
  std::string captions = temp_path("captions.txt"), tsv = temp_path("captions.tsv");
  std::string out = temp_path("cli.bpe"), out_tsv = temp_path("cli_tsv.bpe");
  std::string text, tsv_text;
  const char* lines[] = {"a photo of a cat", "a photo of a dog", "A red car on the road", "",
                         "two cats and a dog", "the small bird", "a photo of the red car"};
  for (int rep = 0; rep < 3; ++rep)
    for (const char* l : lines) {
      text += std::string(l) + "\n";
      if (*l) tsv_text += "img/" + std::to_string(rep) + ".jpg\t" + l + "\r\n";
    }
  write_file(captions, text);
  write_file(tsv, tsv_text);

  RunResult r = run_cli("tokenizer train --captions " + captions + " --vocab 280 -o " + out, false);
  REQUIRE(r.status == 0);
  nlohmann::json j = nlohmann::json::parse(r.out);
  CHECK(j["vocab"].get<int>() == 280);
  CHECK(j["merges"].get<int>() == 21);
  CHECK(j["captions"].get<int>() == 18);  // empty lines skipped
  CHECK(j["seconds"].get<double>() >= 0);
  Tokenizer t = Tokenizer::load(out);
  CHECK(t.vocab_size() == 280);

  // The same captions as TSV give the same tokenizer; --max-captions limits them.
  r = run_cli("tokenizer train --captions tsv:" + tsv + " --vocab 280 --output " + out_tsv, false);
  REQUIRE(r.status == 0);
  CHECK(Tokenizer::load(out_tsv).to_string() == t.to_string());
  r = run_cli("tokenizer train --captions tsv:" + tsv + " --vocab 280 -o " + out_tsv + " --max-captions 4", false);
  REQUIRE(r.status == 0);
  CHECK(nlohmann::json::parse(r.out)["captions"].get<int>() == 4);

  // A TSV with a header naming more columns (the emoji dataset's group and subgroup): the same
  // captions, the header and the other columns are no text.
  std::string headed = temp_path("headed.tsv"), out_headed = temp_path("cli_headed.bpe");
  std::string headed_text = "path\tcaption\tgroup\n";
  for (size_t at = 0; at < tsv_text.size();) {
    size_t end = tsv_text.find("\r\n", at);
    headed_text += tsv_text.substr(at, end - at) + "\tanimals & nature\n";
    at = end + 2;
  }
  write_file(headed, headed_text);
  r = run_cli("tokenizer train --captions tsv:" + headed + " --vocab 280 -o " + out_headed, false);
  REQUIRE(r.status == 0);
  CHECK(nlohmann::json::parse(r.out)["captions"].get<int>() == 18);
  CHECK(Tokenizer::load(out_headed).to_string() == t.to_string());
  std::remove(headed.c_str());
  std::remove(out_headed.c_str());

  // Progress goes to stderr.
  r = run_cli("tokenizer train --captions " + captions + " --vocab 280 -o " + out);
  CHECK(r.status == 0);
  CHECK(r.out.find("18 captions read") != std::string::npos);

  for (const std::string& f : {captions, tsv, out, out_tsv}) std::remove(f.c_str());
}

TEST_CASE("cli: tokenizer errors and help") {
  std::string missing = temp_path("no_such_captions.txt");
  RunResult r = run_cli("tokenizer train --captions " + missing + " --vocab 300 -o " + temp_path("x.bpe"));
  CHECK(r.status != 0);
  CHECK(r.out.find(missing + ": cannot open caption file") != std::string::npos);

  std::string bad = temp_path("bad.tsv");
  write_file(bad, "a.jpg\ta cat\nno tab here\n");
  r = run_cli("tokenizer train --captions tsv:" + bad + " --vocab 300 -o " + temp_path("x.bpe"));
  CHECK(r.status != 0);
  CHECK(r.out.find("line 2: no TAB") != std::string::npos);
  std::remove(bad.c_str());

  r = run_cli("tokenizer train --captions x --vocab 100 -o y");
  CHECK(r.status != 0);
  CHECK(r.out.find("--vocab must be at least 259") != std::string::npos);
  r = run_cli("tokenizer train --vocab 300 -o y");
  CHECK(r.status != 0);
  CHECK(r.out.find("missing required option --captions") != std::string::npos);
  r = run_cli("tokenizer frob --captions x --vocab 300 -o y");
  CHECK(r.status != 0);
  r = run_cli("tokenizer --help");
  CHECK(r.status == 0);
  CHECK(r.out.find("usage: hyperclip tokenizer train") != std::string::npos);
  r = run_cli("--help");
  CHECK(r.out.find("tokenizer") != std::string::npos);
}
