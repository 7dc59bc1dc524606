// hyperclip tokenizer: learns a byte-level BPE tokenizer from captions (data/tokenizer.h).
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "data/dataset.h"
#include "infer/templates.h"
#include "core/error.h"
#include "data/tokenizer.h"
#include "data/file_read.h"

namespace hc::cli {

static const char* kTokenizerHelp =
    "usage: hyperclip tokenizer train --captions DATA --vocab N -o FILE [--max-captions M]\n"
    "\n"
    "Learns byte-level BPE merges from the captions until the vocabulary has N entries (259 for\n"
    "the specials and bytes, plus the merges) and writes them to FILE. Progress goes to stderr;\n"
    "the last line on stdout is {\"vocab\": N, \"merges\": M, \"captions\": C, \"seconds\": S}.\n"
    "  --captions      tsv:FILE (the text after the first TAB of each line), a text file with\n"
    "                  one caption per line (empty lines skipped), or any DATA spec (folder:,\n"
    "                  wds:, cifar10:, cifar100:, idx:, synthetic); labelled data contributes its\n"
    "                  class names through CLIP's 18 CIFAR templates\n"
    "  --vocab         vocabulary size N (>= 259)\n"
    "  -o, --output    the tokenizer file to write (atomically)\n"
    "  --max-captions  use only the first M captions\n";

// Reads captions from a caption spec: any DATA spec, or a plain text file, one caption per line.
std::vector<std::string> read_caption_lines(const std::string& spec) {
  // Every other dataset kind is read through its reader: captions, or for labelled data the class
  // names through CLIP's CIFAR templates.
  for (const char* kind : {"folder:", "wds:", "cifar10:", "cifar100:", "idx:", "synthetic"}) {
    if (spec.rfind(kind, 0) != 0) continue;
    std::unique_ptr<Dataset> d = open_dataset(spec);
    std::vector<std::string> out;
    if (d->labelled()) {
      for (const std::string& c : d->class_names())
        for (const std::string& t : cifar_templates()) out.push_back(fill_template(t, c));
    } else {
      for (size_t i = 0; i < d->size(); ++i) out.push_back(d->caption(i));
    }
    return out;
  }
  const bool tsv = spec.rfind("tsv:", 0) == 0;
  const std::string path = tsv ? spec.substr(4) : spec;
  HC_CHECK(!path.empty(), "caption spec '", spec, "' names no file");
  std::istringstream in(read_file_text(path, "caption file"));
  std::vector<std::string> captions;
  std::string line;
  size_t line_no = 0;
  bool first = true, header = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (tsv) {
      // A header line "path<TAB>caption[<TAB>name]..." (data/dataset.h) names more columns after
      // the caption: it is no caption, and on the other lines the caption ends at the next tab.
      if (first && (line == "path\tcaption" || line.rfind("path\tcaption\t", 0) == 0)) {
        first = false;
        header = true;
        continue;
      }
      first = false;
      size_t tab = line.find('\t');
      HC_CHECK(tab != std::string::npos, path, ": line ", line_no,
               ": no TAB (expected \"path<TAB>caption\")");
      line = line.substr(tab + 1);
      if (header) line = line.substr(0, line.find('\t'));
    }
    captions.push_back(std::move(line));
  }
  HC_CHECK(!in.bad(), path, ": read failed");
  return captions;
}

int cmd_tokenizer(int argc, char** argv) {
  Args a(argc, argv, {"captions", "vocab", "output", "max-captions"}, {"help"});  // -o is --output
  if (a.flag("help")) {
    std::printf("%s", kTokenizerHelp);
    return 0;
  }
  const std::vector<std::string>& pos = a.positional();
  HC_CHECK(pos.size() == 1 && pos[0] == "train", "expected 'hyperclip tokenizer train ...' (see --help)");

  const std::string spec = a.get("captions"), output = a.get("output");
  const int64_t vocab = a.get_int("vocab");
  HC_CHECK(vocab >= 259 && vocab <= INT32_MAX, "--vocab must be at least 259 (the specials and bytes), got ",
           vocab);
  const int64_t max_captions = a.get_int("max-captions", -1);
  HC_CHECK(!a.has("max-captions") || max_captions > 0, "--max-captions must be positive");

  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> captions = read_caption_lines(spec);
  if (max_captions > 0 && captions.size() > static_cast<size_t>(max_captions))
    captions.resize(static_cast<size_t>(max_captions));
  HC_CHECK(!captions.empty(), spec, ": no captions");
  std::fprintf(stderr, "tokenizer: %zu captions read from %s\n", captions.size(), spec.c_str());

  Tokenizer tok = Tokenizer::train(captions, static_cast<int32_t>(vocab), [](int32_t merges) {
    std::fprintf(stderr, "tokenizer: %d merges learned\n", merges);
  });
  tok.save(output);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "tokenizer: vocabulary of %d written to %s\n", tok.vocab_size(), output.c_str());
  std::printf("{\"vocab\": %d, \"merges\": %d, \"captions\": %zu, \"seconds\": %.3f}\n", tok.vocab_size(),
              tok.vocab_size() - 259, captions.size(), seconds);
  return 0;
}

}  // namespace hc::cli
