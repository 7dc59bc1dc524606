// The subcommands of build/hyperclip, one file each (cli/cmd_<name>.cpp).
#pragma once
#include <string>
#include <vector>

namespace hc::cli {

// argc/argv start after the subcommand name.
int cmd_params(int argc, char** argv);
int cmd_tokenizer(int argc, char** argv);

// Captions from a caption spec (cli/cmd_tokenizer.cpp): "tsv:FILE" (text after the first TAB of
// each non-empty line; with a header line, the caption column) or a plain text file with one caption per line (empty lines skipped).
std::vector<std::string> read_caption_lines(const std::string& spec);
int cmd_train(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_embed(int argc, char** argv);
int cmd_export(int argc, char** argv);
int cmd_classify(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_preview(int argc, char** argv);
int cmd_groups(int argc, char** argv);
int cmd_reinforce(int argc, char** argv);

}  // namespace hc::cli
