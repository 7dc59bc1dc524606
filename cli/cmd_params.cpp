// hyperclip params: trainable parameter counts of a preset combination (SPEC §5).
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "models/config_check.h"
#include "models/hyperclip.h"

namespace hc::cli {

static const char* kParamsHelp =
    "usage: hyperclip params --image P --text P --hyper P|none [--mode hyper|token|baseline]\n"
    "                        [--vocab V] [--embed E] [--generated-layers all|first:N|last:N]\n"
    "                        [--text-causal yes|no]\n"
    "\n"
    "Prints {\"image\": N, \"text\": N, \"hyper\": N, \"total\": N}: trainable parameters of each\n"
    "tower (buffers excluded); total adds logit_scale and logit_bias.\n"
    "  --image   convnet-b0 | convnet-nano | vit-b16 | vit-nano | mci0 | mci1 | mci2 | mci-nano\n"
    "  --text    text-base | text-nano | text-mct\n"
    "  --hyper   hyper-base | hyper-nano | none (none: baseline SigLIP model)\n"
    "  --mode    hyper (default with a hypernetwork) or token (adds the learned token set)\n"
    "  --vocab   vocabulary size (default 8192)\n"
    "  --embed   embedding size E (default 512 for base presets, 128 for nano)\n"
    "  --generated-layers  the norm layers the hypernetwork generates (default all; as train)\n"
    "  --text-causal  override the text preset's attention mask (counts do not depend on it)\n";

int cmd_params(int argc, char** argv) {
  Args a(argc, argv, {"image", "text", "hyper", "mode", "vocab", "embed", "generated-layers", "text-causal"}, {"help"});
  if (a.flag("help")) {
    std::printf("%s", kParamsHelp);
    return 0;
  }
  ModelConfig cfg;
  std::string image = a.get("image"), text = a.get("text"), hyper = a.get("hyper");
  cfg.image = image_preset(image);
  cfg.text = text_preset(text);
  cfg.text.causal = a.get_yes_no("text-causal", cfg.text.causal);
  if (hyper == "none") {
    HC_CHECK(!a.has("mode") || a.get("mode") == "baseline", "--hyper none means baseline mode");
    cfg.mode = Mode::Baseline;
  } else {
    cfg.hyper = hyper_preset(hyper);
    cfg.mode = parse_mode(a.get("mode", "hyper"));
    HC_CHECK(cfg.mode != Mode::Baseline, "--mode baseline needs --hyper none");
    cfg.generated = a.get("generated-layers", "all");
  }
  HC_CHECK(hyper != "none" || !a.has("generated-layers"), "--generated-layers needs a hypernetwork (--hyper)");
  bool nano = image.find("nano") != std::string::npos;
  cfg.embed = a.get_int("embed", nano ? 128 : 512);
  cfg.vocab = a.get_int("vocab", 8192);
  HC_CHECK(cfg.embed > 0 && cfg.vocab > 0, "--embed and --vocab must be positive");
  validate_config(cfg, "options");
  ParamCounts c = count_parameters(cfg);
  std::printf("{\"image\": %lld, \"text\": %lld, \"hyper\": %lld, \"total\": %lld}\n",
              static_cast<long long>(c.image), static_cast<long long>(c.text),
              static_cast<long long>(c.hyper), static_cast<long long>(c.total));
  return 0;
}

}  // namespace hc::cli
