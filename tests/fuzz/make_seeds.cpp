// Writes the seed corpora of the fuzz harnesses (tests/fuzz/fuzz_*.cpp) into DIR/<harness>/, with
// the project's own writers: save_checkpoint, save_classifier, save_text_encoder, write_safetensors,
// write_npy, Tokenizer::save, config_to_json; and for the formats the engine only reads (tar, IDX,
// CIFAR, TSV, images) the writers the tests use (tests/data_test_util.h) and the committed image
// fixtures (tests/data/images). `make fuzz` runs it.
//   make_seeds DIR
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "data/npy.h"
#include "data/reinforced.h"
#include "data/safetensors.h"
#include "infer/export.h"
#include "models/config_io.h"
#include "tests/data_test_util.h"
#include "train/checkpoint.h"

using namespace hc;
namespace fs = std::filesystem;

namespace {

std::string root;

std::string seed_path(const std::string& harness, const std::string& name) {
  fs::create_directories(root + "/" + harness);
  return root + "/" + harness + "/" + name;
}

void seed(const std::string& harness, const std::string& name, const std::string& bytes) {
  hc_test::write_file(seed_path(harness, name), bytes);
}

// Small models: their files are a few tens of KB, so that fuzzing mutates them quickly.
ModelConfig tiny(const std::string& kind, Mode mode, int64_t vocab) {
  ModelConfig c;
  c.image.kind = kind;
  c.image.image_size = 16;
  c.image.convnet = {0.1, 0.1};
  c.image.vit = {8, 1, 2, 8};
  c.image.mci = {{8, 8, 8, 32}, {1, 1, 1, 1}, 2};
  c.text = {8, 1, 2, 6};
  c.hyper = {8, 1, 2, 4};
  c.embed = 8;
  c.vocab = vocab;
  c.mode = mode;
  c.num_tokens = 2;
  return c;
}

// Bytes that FuzzedDataProvider reads from the end of an input: the value v (< 2^24) as its
// three-byte integer, then one byte.
std::string provider_suffix(uint32_t three_byte_value, uint8_t last) {
  std::string s;
  s.push_back(static_cast<char>(three_byte_value & 0xff));
  s.push_back(static_cast<char>((three_byte_value >> 8) & 0xff));
  s.push_back(static_cast<char>((three_byte_value >> 16) & 0xff));
  s.push_back(static_cast<char>(last));
  return s;
}

// A small reinforced dataset (data/reinforced.h) written by its writers into a scratch folder, its
// files joined as fuzz_reinforced.cpp reads them: N samples of R views, U captions, teachers of
// the given widths, one shard of each kind.
std::string reinforced_seed(const std::vector<int64_t>& widths, bool labelled, int64_t N, int64_t R, int64_t U) {
  const std::string dir = root + "/reinforced_scratch";
  fs::create_directories(dir);
  ReinforcedIndex x;
  x.base_data = labelled ? "folder:cats" : "tsv:captions.tsv";
  x.base_describe = "a seed";
  x.identity = "fnv1a64:0123456789abcdef";
  x.base_rows = N + 1;
  x.labelled = labelled;
  if (labelled) x.templates = {"a photo of a {}.", "{}"};
  x.samples = N;
  x.captions = U;
  x.augmentations = R;
  x.seed = 7;
  for (int64_t w : widths) {
    ModelConfig c = tiny("vit", Mode::Baseline, 280);
    c.embed = w;
    x.teachers.push_back({"teacher.safetensors", "fnv1a64:fedcba9876543210", config_to_json(c), 3, w, 16, "baseline", "none"});
    x.dim += w;
  }
  x.shard_size = std::max(N, U);
  x.image_shards = plan_shards("images", N, x.shard_size);
  x.text_shards = plan_shards("texts", U, x.shard_size);
  x.complete = true;
  ReinforcedSamples s;
  for (int64_t i = 0; i < N; ++i) {
    s.base_row.push_back(static_cast<uint64_t>(i + (i > 0)));
    s.source.push_back(cat("img", i, ".png"));
    s.caption_offset.push_back(static_cast<uint32_t>(s.caption_id.size()));
    for (int64_t k = 0; k <= i % 2; ++k) s.caption_id.push_back(static_cast<uint32_t>((i + k) % U));
  }
  s.caption_offset.push_back(static_cast<uint32_t>(s.caption_id.size()));
  for (int64_t u = 0; u < U; ++u) s.captions.push_back(cat("a caption number ", u));
  // Unit blocks: each teacher's block of a row is a signed basis vector.
  auto unit_rows = [&](int64_t rows) {
    std::vector<float> v(static_cast<size_t>(rows * x.dim), 0.0f);
    for (int64_t r = 0; r < rows; ++r) {
      int64_t at = 0;
      for (int64_t w : widths) {
        v[static_cast<size_t>(r * x.dim + at + r % w)] = (r % 3 == 0) ? -1.0f : 1.0f;
        at += w;
      }
    }
    return v;
  };
  ReinforcedImageShard images;
  for (int64_t i = 0; i < N * R; ++i) images.augment.push_back({{int(i % 3), int(i % 2), 10 + int(i % 5), 9}, i % 2 == 1});
  images.image = unit_rows(N * R);
  write_reinforced_index(dir, x);
  write_reinforced_samples(dir, s);
  write_image_shard(dir, x, x.image_shards[0], images);
  write_text_shard(dir, x, x.text_shards[0], unit_rows(U));
  std::string out;
  for (const char* f : {"index.json", "samples.json", "images-00000.safetensors", "texts-00000.safetensors"})
    out += (out.empty() ? "" : "\n--8<--\n") + hc_test::read_file(dir + "/" + f);
  fs::remove_all(dir);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  root = argv[1];
  fs::create_directories(root);
  Tokenizer tok = Tokenizer::train({"a photo of a red circle", "a blue square", "a photo of a cat"}, 280);

  // safetensors: every dtype the writer has, a scalar, an empty tensor, metadata.
  write_safetensors(seed_path("safetensors", "mixed.safetensors"),
                    {{"w", Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3})},
                     {"d", Tensor::from_vector({0.5, -1}, {2}, DType::F64)},
                     {"i", Tensor::from_ints({7, 8, 9}, {3})},
                     {"s", Tensor::scalar(3.0)},
                     {"e", Tensor::zeros({0, 4})}},
                    {{"format", "test"}, {"note", "seed"}});
  write_safetensors(seed_path("safetensors", "empty.safetensors"), {});

  // Checkpoints and exports of small models in every mode and tower kind.
  struct Variant {
    const char* name;
    const char* kind;
    Mode mode;
    const char* generated;
  };
  const Variant variants[] = {{"vit_hyper", "vit", Mode::Hyper, "all"},
                              {"vit_token", "vit", Mode::Token, "last:1"},
                              {"convnet_baseline", "convnet", Mode::Baseline, "all"},
                              {"convnet_hyper", "convnet", Mode::Hyper, "first:2"},
                              {"mci_hyper", "mci", Mode::Hyper, "last:3"},
                              {"mci_mct_baseline", "mci", Mode::Baseline, "all"}};
  for (const Variant& v : variants) {
    ModelConfig cfg = tiny(v.kind, v.mode, tok.vocab_size());
    cfg.generated = v.generated;
    if (std::string(v.name).find("mct") != std::string::npos) {  // MobileCLIP's Text-RepMixer, not causal
      cfg.text.kind = "mct";
      cfg.text.causal = false;
    }
    if (v.mode == Mode::Hyper && std::string(v.kind) == "mci") cfg.hyper_input = "center";
    HyperClip m(cfg);
    m.init_parameters(1);
    TrainState st;
    st.step = 3;
    st.total_steps = 10;
    if (std::string(v.kind) == "vit") {
      AdamW opt(m.named_parameters(), AdamWConfig{});
      save_checkpoint(seed_path("checkpoint", std::string(v.name) + ".safetensors"), m, tok, &opt, st);
    } else {
      save_checkpoint(seed_path("checkpoint", std::string(v.name) + ".safetensors"), m, tok, nullptr, st);
    }
    Classifier c = build_classifier(m, tok, {"cat", "red circle"}, {"a photo of a {}."});
    save_classifier(seed_path("export", std::string(v.name) + "_classifier.safetensors"), c);
    if (v.mode == Mode::Hyper) save_text_encoder(seed_path("export", std::string(v.name) + "_text.safetensors"), m, tok);
    // Configurations: the JSON, then the file's element count and the parts (fuzz_config.cpp).
    for (uint8_t parts = 0; parts < 3; ++parts)
      seed("config", cat(v.name, "_", int(parts), ".json"), config_to_json(cfg) + provider_suffix(300001, parts));
  }

  // Tokenizers and text.
  tok.save(seed_path("tokenizer", "small.bpe"));
  Tokenizer::train({"aaaa aaaa aaaa bbbb abab", "the cat sat on the mat"}, 300).save(seed_path("tokenizer", "b.bpe"));
  seed("text", "caption.txt", "A photo of a Red CIRCLE\ntwo blue squares  and a green star\n");
  seed("text", "utf8.txt", "caf\xc3\xa9 \xe2\x9c\x93 aaaaaaaaaaaaaaaa\tabababab\r\n");

  // .npy arrays.
  write_npy(seed_path("npy", "f32.npy"), Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}));
  write_npy(seed_path("npy", "i32.npy"), Tensor::from_ints({7, 8, 9}, {3}));
  write_npy(seed_path("npy", "empty.npy"), Tensor::zeros({0, 5}));

  // Images: the committed fixtures (every JPEG and PNG kind) and a PNG of the tests' encoder.
  for (const auto& e : fs::directory_iterator("tests/data/images"))
    if (is_image_name(e.path().string()))
      fs::copy_file(e.path(), seed_path("image", e.path().filename().string()), fs::copy_options::overwrite_existing);
  hc_test::write_file(seed_path("image", "pattern.png"), hc_test::encode_png(hc_test::pattern_image(7, 5)));

  // Tar shards: images with captions, a GNU long name, a pax path, a folder entry.
  const std::string jpg = hc_test::read_file("tests/data/images/rgb_420.jpg");
  const std::string png = hc_test::png_string(hc_test::pattern_image(4, 3));
  std::string tar;
  hc_test::tar_member(tar, "s/000.jpg", jpg);
  hc_test::tar_member(tar, "s/000.txt", "a photo of a cat");
  hc_test::tar_member(tar, "s/", "", '5');
  hc_test::tar_member(tar, "././@LongLink", std::string(120, 'n') + ".png", 'L');
  hc_test::tar_member(tar, "short.png", png);
  hc_test::tar_member(tar, "s/pax", "18 path=s/001.txt\n", 'x');
  hc_test::tar_member(tar, "s/ignored", "a long name from pax");
  hc_test::tar_member(tar, "s/001.png", png);
  seed("wds", "shard.tar", tar + hc_test::tar_end());
  seed("wds", "no_end.tar", tar);

  // IDX: labels, images, then the labels' length as FuzzedDataProvider reads it (fuzz_idx.cpp).
  std::vector<uint8_t> pixels(2 * 3 * 4);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 10);
  const std::string images = hc_test::idx_file(0x803, {2, 3, 4}, pixels);
  const std::string labels = hc_test::idx_file(0x801, {2}, {1, 0});
  auto length_suffix = [](size_t n) {
    return std::string{static_cast<char>(n & 0xff), static_cast<char>(n >> 8)};
  };
  seed("idx", "plain.bin", labels + images + length_suffix(labels.size()));
  const std::string gz_images = root + "/idx_images.gz", gz_labels = root + "/idx_labels.gz";
  hc_test::write_gz(gz_images, images);
  hc_test::write_gz(gz_labels, labels);
  const std::string zi = hc_test::read_file(gz_images), zl = hc_test::read_file(gz_labels);
  fs::remove(gz_images);
  fs::remove(gz_labels);
  seed("idx", "gzipped.bin", zl + zi + length_suffix(zl.size()));

  // CIFAR: the first byte picks CIFAR-10 (0) or CIFAR-100 (1), then two records.
  std::string c10(1, '\0'), c100(1, '\1');
  for (int r = 0; r < 2; ++r) {
    c10 += std::string(1, static_cast<char>(r * 3));
    c100 += std::string{static_cast<char>(r), static_cast<char>(r * 40)};
    std::string px(3072, '\0');
    for (size_t p = 0; p < px.size(); ++p) px[p] = static_cast<char>((p + r * 7) & 0xff);
    c10 += px;
    c100 += px;
  }
  seed("cifar", "cifar10.bin", c10);
  seed("cifar", "cifar100.bin", c100);

  // TSV lines and the other line files (the scratch folder has a.png and the folder d).
  seed("tsv", "captions.tsv", "a.png\ta small image\nd\ta folder\nmissing.png\tnothing\r\n\n");
  seed("tsv", "templates.txt", "# prompts\na photo of a {}.\n  a {} in the wild\n");

  // Brace patterns.
  seed("brace", "range.txt", "shard-{000..009}.tar");
  seed("brace", "nested.txt", "a{b,c{d,e}}f-{1..3}");
  seed("brace", "literal.txt", "x{}y{,}z{5..2}");
  // Reinforced datasets: one teacher over captions; an ensemble of two over a labelled base.
  seed("reinforced", "captions.bin", reinforced_seed({8}, false, 3, 2, 4));
  seed("reinforced", "ensemble.bin", reinforced_seed({4, 6}, true, 4, 3, 5));
  std::printf("seed corpora written to %s\n", root.c_str());
  return 0;
}
