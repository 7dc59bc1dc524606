// build/hyperclip: the command-line entry. Subcommands arrive with the model, training and
// deployment work (SPEC §5).
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.h"
#include "core/backend.h"

static void usage(FILE* to) {
  std::fprintf(to,
               "usage: hyperclip <command> [options]\n"
               "\n"
               "commands:\n"
               "  info      print the build configuration and available backends as JSON\n"
               "  params    parameter counts of a preset combination, as JSON\n"
               "  tokenizer train a byte-level BPE tokenizer from captions\n"
               "  train     train a model (baseline, HyperCLIP or the token control)\n"
               "  eval      zero-shot top-1 / top-5 of a checkpoint\n"
               "  embed     image or text embeddings of a checkpoint, as .npy\n"
               "  export    a standalone zero-shot classifier for a set of classes\n"
               "  classify  top-k classes of images with an exported classifier\n"
               "  bench     training throughput of a benchmark configuration, as JSON\n"
               "  preview   a grid image of a dataset's first samples, with their captions\n"
               "  groups    group a captions TSV by clusters of its text embeddings (for set sampling)\n"
               "  reinforce a reinforced dataset: stored augmentations and teacher embeddings\n"
               "\n"
               "Run 'hyperclip <command> --help' for a command's options.\n");
}

static int cmd_info() {
  std::string why;
  bool cuda = hc::cuda_available(&why);
  std::printf("{\"backends\": [\"cpu\"%s], \"cuda\": %s", cuda ? ", \"cuda\"" : "",
              cuda ? "true" : "false");
  if (!cuda) std::printf(", \"cuda_unavailable\": \"%s\"", why.c_str());
  std::printf("}\n");
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  std::string cmd = argv[1];
  try {
    if (cmd == "info") {
      if (argc > 2 && !std::strcmp(argv[2], "--help")) {
        std::printf("usage: hyperclip info\n  Prints the build configuration as one JSON line.\n");
        return 0;
      }
      return cmd_info();
    }
    if (cmd == "params") return hc::cli::cmd_params(argc - 2, argv + 2);
    if (cmd == "tokenizer") return hc::cli::cmd_tokenizer(argc - 2, argv + 2);
    if (cmd == "train") return hc::cli::cmd_train(argc - 2, argv + 2);
    if (cmd == "eval") return hc::cli::cmd_eval(argc - 2, argv + 2);
    if (cmd == "embed") return hc::cli::cmd_embed(argc - 2, argv + 2);
    if (cmd == "export") return hc::cli::cmd_export(argc - 2, argv + 2);
    if (cmd == "classify") return hc::cli::cmd_classify(argc - 2, argv + 2);
    if (cmd == "bench") return hc::cli::cmd_bench(argc - 2, argv + 2);
    if (cmd == "preview") return hc::cli::cmd_preview(argc - 2, argv + 2);
    if (cmd == "groups") return hc::cli::cmd_groups(argc - 2, argv + 2);
    if (cmd == "reinforce") return hc::cli::cmd_reinforce(argc - 2, argv + 2);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hyperclip %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr, "hyperclip: unknown command '%s'\n", cmd.c_str());
  usage(stderr);
  return 2;
}
