// Model configurations (models/config_io.h, models/config_check.h) on their own: the JSON, the
// parts a file holds and its element count come from the input. A configuration that passes must
// build, and the size validate_config computed without building must be the built model's.
#include <fuzzer/FuzzedDataProvider.h>

#include "models/config_io.h"
#include "models/convnet.h"
#include "models/hyperclip.h"
#include "models/mci.h"
#include "models/vit.h"
#include "tests/fuzz/fuzz_util.h"

using namespace hc;

static int64_t state_elements(const Module& m) {
  int64_t n = 0;
  for (auto& [name, t] : m.state_dict()) n += t.numel();
  return n;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const ModelParts parts = static_cast<ModelParts>(in.ConsumeIntegralInRange<int>(0, 2));
  // Small files only, so that whatever passes is cheap to build.
  const int64_t file_elements = in.ConsumeIntegralInRange<int64_t>(-1, 300000);
  const std::string json = in.ConsumeRemainingBytesAsString();
  ModelConfig cfg;
  bool ok = false;
  hc_fuzz::expect_clean("fuzz.json", [&] {
    cfg = config_from_json(json, "fuzz.json", parts, file_elements < 0 ? 300000 : file_elements);
    ok = true;
  });
  if (!ok) return 0;
  const double predicted = state_size(cfg, parts).total;
  double built = 0;
  try {  // a configuration that passed validation must build: any error here is a finding
    if (parts == ModelParts::Full) {
      built = static_cast<double>(state_elements(HyperClip(cfg)));
    } else if (parts == ModelParts::TextTower) {
      // An exported text encoder holds a Text-RepMixer folded (a transformer is the same either way).
      built = static_cast<double>(state_elements(TextTower(cfg.text, cfg.vocab, cfg.embed, true)));
    } else if (cfg.image.kind == "convnet") {
      built = static_cast<double>(state_elements(ConvNetTower(cfg.image.convnet, cfg.embed, true))) + 2;
    } else if (cfg.image.kind == "mci") {  // exported folded: no batch norm, no branch
      built = static_cast<double>(state_elements(MciTower(cfg.image.mci, cfg.embed, true))) + 2;
    } else {
      built = static_cast<double>(state_elements(VitTower(cfg.image.vit, cfg.image.image_size, cfg.embed))) + 2;
    }
  } catch (const std::exception& e) {
    hc_fuzz::finding(std::string("a validated configuration does not build: ") + e.what() + " for " +
                     config_to_json(cfg));
  }
  if (built != predicted)
    hc_fuzz::finding(cat("state_size predicts ", predicted, " elements, the built model has ", built, " for ",
                         config_to_json(cfg)));
  // What the engine writes it reads back unchanged.
  ModelConfig back = config_from_json(config_to_json(cfg), "round trip", parts, -1);
  if (!config_differences(cfg, back).empty()) hc_fuzz::finding("config_to_json round trip changed " + json);
  return 0;
}
