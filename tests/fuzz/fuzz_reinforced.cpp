// Reinforced datasets (data/reinforced.h, docs/reinforced.md) as `train --reinforced` reads them:
// index.json, samples.json, then every image and text shard the index lists, then a draw of every
// sample's view and captions for two epochs. The input is the folder's files one after another,
// separated by kSeparator: index.json, samples.json, images-00000.safetensors,
// texts-00000.safetensors (a missing part is a missing file); the seeds are a small dataset written
// by the project's writers (make_seeds.cpp).
#include <filesystem>
#include <string>
#include <vector>

#include "data/reinforced.h"
#include "tests/fuzz/fuzz_util.h"

using namespace hc;

static const std::string kSeparator = "\n--8<--\n";

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("OMP_NUM_THREADS", "1", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string dir = hc_fuzz::scratch_dir() + "/reinforced";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir);
  const char* files[] = {"index.json", "samples.json", "images-00000.safetensors", "texts-00000.safetensors"};
  size_t at = 0;
  for (const char* f : files) {
    if (at > input.size()) break;
    size_t end = input.find(kSeparator, at);
    if (end == std::string::npos) end = input.size();
    const std::string part = input.substr(at, end - at);
    hc_fuzz::write_input("reinforced/" + std::string(f), reinterpret_cast<const uint8_t*>(part.data()), part.size());
    at = end + kSeparator.size();
  }
  // Every refusal names a file of the folder, so its path.
  hc_fuzz::expect_clean(dir, [&] {
    const ReinforcedIndex index = read_reinforced_index(dir);
    const ReinforcedSamples samples = read_reinforced_samples(dir, index);
    for (const ReinforcedShard& s : index.image_shards) {
      ReinforcedImageShard shard = read_image_shard(dir, index, s);
      if (shard.augment.size() != static_cast<size_t>(s.count * index.augmentations) ||
          shard.image.size() != static_cast<size_t>(s.count * index.augmentations * index.dim))
        hc_fuzz::finding("an image shard read with the wrong number of values");
    }
    for (const ReinforcedShard& s : index.text_shards)
      if (read_text_shard(dir, index, s).size() != static_cast<size_t>(s.count * index.dim))
        hc_fuzz::finding("a text shard read with the wrong number of values");
    // What training does with the samples: every draw must land inside the stored views and captions.
    for (int64_t epoch = 0; epoch < 2; ++epoch)
      for (size_t i = 0; i < samples.size(); ++i) {
        const ReinforcedDraw d = reinforced_draw(samples, index.augmentations, index.seed, epoch, i);
        if (d.view < 0 || d.view >= index.augmentations || d.real >= samples.captions.size() ||
            d.extra >= samples.captions.size())
          hc_fuzz::finding("a draw outside the stored views or captions");
      }
  });
  return 0;
}
