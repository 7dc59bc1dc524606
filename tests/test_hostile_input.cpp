// Hostile input (issue 24): the twelve defects found by fuzzing and hand-made files, each checked
// through the library and, where a command reads the file, through build/hyperclip: an error that
// names the file (exit status 1, no signal), within seconds (the commands run under `timeout`, so
// a hang fails the test with status 124 instead of stalling the suite), never out of memory.
#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "data/dataset.h"
#include "data/image.h"
#include "data/loader.h"
#include "data/npy.h"
#include "data/safetensors.h"
#include "infer/export.h"
#include "models/config_io.h"
#include "tests/cli_runner.h"
#include "tests/data_test_util.h"
#include "train/checkpoint.h"

using namespace hc;
using namespace hc_test;
using json = nlohmann::json;

namespace {

// The commands get this long; each case needs well under a second without sanitizers.
constexpr int kCliSeconds = 60;

ModelConfig tiny_config(const std::string& kind, int64_t vocab) {
  ModelConfig c;
  c.image.kind = kind;
  c.image.image_size = 16;
  c.image.convnet = {0.1, 0.1};
  c.image.vit = {8, 1, 2, 8};
  c.text = {8, 1, 2, 6};
  c.hyper = {8, 1, 2, 4};
  c.embed = 8;
  c.vocab = vocab;
  c.mode = Mode::Hyper;
  return c;
}

const Tokenizer& tiny_tokenizer() {
  static const Tokenizer tok = Tokenizer::train({"a photo of a cat", "a red circle"}, 270);
  return tok;
}

// A valid checkpoint and classifier of a small model in `dir`; the variants below rewrite their
// metadata with the project's own writer.
struct Files {
  std::string ckpt, clf, text;
};

Files write_valid(const TempDir& dir, const std::string& kind) {
  HyperClip m(tiny_config(kind, tiny_tokenizer().vocab_size()));
  m.init_parameters(1);
  Files f{dir / (kind + "_ckpt.safetensors"), dir / (kind + "_clf.safetensors"), dir / (kind + "_text.safetensors")};
  save_checkpoint(f.ckpt, m, tiny_tokenizer(), nullptr, TrainState{});
  save_classifier(f.clf, build_classifier(m, tiny_tokenizer(), {"cat", "circle"}, {"a photo of a {}."}));
  save_text_encoder(f.text, m, tiny_tokenizer());
  return f;
}

// `src` with its metadata changed by `edit` (model configuration as JSON, tokenizer text, ...).
std::string rewrite(const std::string& src, const std::string& dst,
                    const std::function<void(std::map<std::string, std::string>&)>& edit) {
  SafeTensors st = read_safetensors(src);
  edit(st.metadata);
  write_safetensors(dst, st.tensors, st.metadata);
  return dst;
}

// The model configuration of `src` with one JSON field set (a JSON pointer such as "/image/patch").
std::string with_config(const std::string& src, const std::string& dst, const std::string& pointer, const json& value) {
  return rewrite(src, dst, [&](std::map<std::string, std::string>& meta) {
    json c = json::parse(meta.at("model"));
    c[json::json_pointer(pointer)] = value;
    meta["model"] = c.dump();
  });
}

// The command fails cleanly: status 1 (an error) or 2 (usage), not a signal or a timeout, and the
// message names every one of `needles`.
void check_cli_refuses(const std::string& args, const std::vector<std::string>& needles) {
  CAPTURE(args);
  auto t0 = std::chrono::steady_clock::now();
  RunResult r = run_cli(args, true, kCliSeconds);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CAPTURE(r.out);
  CAPTURE(seconds);
  CHECK((r.status == 1 || r.status == 2));
  for (const std::string& n : needles) CHECK(r.out.find(n) != std::string::npos);
}

template <class F>
void check_refuses(F f, const std::vector<std::string>& needles) {
  std::string message;
  try {
    f();
  } catch (const Error& e) {
    message = e.what();
  }
  CAPTURE(message);
  REQUIRE(!message.empty());  // refused with an hc::Error (anything else escapes and fails the test)
  for (const std::string& n : needles) CHECK(message.find(n) != std::string::npos);
}

}  // namespace

TEST_CASE("hostile 1: a zero patch size or head count is refused before any division") {
  TempDir dir("hostile_div");
  const std::string texts = dir / "texts.txt";
  write_file(texts, "a cat\na dog\n");
  for (const std::string& kind : {std::string("vit"), std::string("convnet")}) {
    Files f = write_valid(dir, kind);
    std::vector<std::pair<std::string, std::string>> fields = {
        {"/text/heads", "text.heads"}, {"/hyper/heads", "hyper.heads"}};
    if (kind == "vit") fields.insert(fields.end(), {{"/image/patch", "image.patch"}, {"/image/heads", "image.heads"}});
    for (auto& [pointer, name] : fields) {
      CAPTURE(kind + " " + name);
      const std::string ckpt = with_config(f.ckpt, dir / "zero.safetensors", pointer, 0);
      check_refuses([&] { read_checkpoint_info(ckpt); }, {ckpt, name + " = 0"});
      check_cli_refuses("eval --ckpt " + ckpt + " --data synthetic", {ckpt, name});
      check_cli_refuses("export --ckpt " + ckpt + " --image-only -o " + (dir / "x.safetensors"), {ckpt, name});
      check_cli_refuses("embed --ckpt " + ckpt + " --texts " + texts + " -o " + (dir / "e.npy"), {ckpt, name});
      if (name != "text.heads" && name != "hyper.heads") {
        const std::string clf = with_config(f.clf, dir / "zero_clf.safetensors", pointer, 0);
        check_refuses([&] { load_classifier(clf); }, {clf, name + " = 0"});
        check_cli_refuses("classify --model " + clf + " " + (dir / "none.png"), {clf, name});
      }
    }
  }
}

TEST_CASE("hostile 2: a pax record whose length wraps the offset ends the parse") {
  TempDir dir("hostile_pax");
  std::string tar;
  // 2^64 - 1: pos + len wrapped to pos - 1 and the loop never ended.
  tar_member(tar, "s/pax", "18446744073709551615 path=s/a.txt\n", 'x');
  tar_member(tar, "s/000.txt", "a cat");
  tar_member(tar, "s/000.png", png_string(pattern_image(3, 3)));
  const std::string shard = dir / "pax.tar";
  write_file(shard, tar + tar_end());
  auto t0 = std::chrono::steady_clock::now();
  auto ds = open_dataset("wds:" + shard);  // the malformed record is ignored: the member keeps its name
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 10);
  CHECK(ds->size() == 1);
  CHECK(ds->caption(0) == "a cat");
  // A record length of 0, one shorter than its own digits, or past the header: ignored likewise.
  for (const char* rec : {"0 path=x\n", "3 path=x\n", "99 path=x\n", "-5 path=x\n", "+9 path=x\n"}) {
    CAPTURE(rec);
    std::string t;
    tar_member(t, "p", rec, 'x');
    tar_member(t, "s/000.txt", "a cat");
    tar_member(t, "s/000.png", png_string(pattern_image(3, 3)));
    write_file(shard, t + tar_end());
    CHECK(open_dataset("wds:" + shard)->size() == 1);
  }
  write_file(shard, tar + tar_end());
  RunResult r = run_cli("tokenizer train --captions wds:" + shard + " --vocab 260 -o " + (dir / "t.bpe"), true,
                        kCliSeconds);
  CAPTURE(r.out);
  CHECK(r.status == 0);
}

TEST_CASE("hostile 3: tokenizer merges that double a piece's length are refused at the limit") {
  TempDir dir("hostile_bpe");
  std::string text = "hyperclip-bpe 1\n3 3\n";
  for (int id = 259; id < 259 + 60; ++id) text += std::to_string(id) + " " + std::to_string(id) + "\n";
  CHECK(text.size() < 600);  // ~500 bytes asked for 2^61-byte pieces
  const std::string path = dir / "doubling.bpe";
  write_file(path, text);
  auto t0 = std::chrono::steady_clock::now();
  check_refuses([&] { Tokenizer::load(path); }, {path, "line 12", "2048 bytes, longer than the limit of 1024"});
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 10);
  // The same text inside a checkpoint's metadata.
  Files f = write_valid(dir, "vit");
  const std::string ckpt =
      rewrite(f.ckpt, dir / "bpe.safetensors", [&](std::map<std::string, std::string>& m) { m["tokenizer"] = text; });
  check_refuses([&] { read_checkpoint_info(ckpt); }, {ckpt + " (tokenizer)", "longer than the limit"});
  check_cli_refuses("eval --ckpt " + ckpt + " --data synthetic", {ckpt, "longer than the limit"});
  check_cli_refuses("train --image vit-nano --text text-nano --hyper none --data synthetic --steps 1 --batch 2 "
                    "--tokenizer " + path + " --out " + (dir / "run"),
                    {path, "longer than the limit"});
  // A tokenizer trained on a caption with a very long repeated word stays within the bound.
  std::string word(3000, 'x');
  Tokenizer t = Tokenizer::train({word, word}, 400);
  CHECK(Tokenizer::from_string(t.to_string(), "again").to_string() == t.to_string());
  CHECK(t.decode(t.encode(word)) == word);
}

TEST_CASE("hostile 4: a configuration larger than the file's tensors is refused before the model is built") {
  TempDir dir("hostile_alloc");
  Files f = write_valid(dir, "vit");
  Files c = write_valid(dir, "convnet");
  struct Case {
    std::string src, pointer;
    json value;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {f.ckpt, "/vocab", 1000000000000LL, "vocab = 1000000000000 is outside"},
      {f.ckpt, "/vocab", 10000000, "the file's tensors hold"},  // in range, but not in this file
      {f.ckpt, "/text/dim", 65536, "the file's tensors hold"},
      {f.ckpt, "/image/depth", 1000, "the file's tensors hold"},
      {c.ckpt, "/image/depth", 1e9, "image.depth = 1e+09 is outside"},  // 10^9 ConvNet blocks
      {c.ckpt, "/image/width", 16.0, "the file's tensors hold"},
  };
  for (const Case& k : cases) {
    CAPTURE(k.pointer);
    CAPTURE(k.value.dump());
    const std::string bad = with_config(k.src, dir / "big.safetensors", k.pointer, k.value);
    auto t0 = std::chrono::steady_clock::now();
    check_refuses([&] { read_checkpoint_info(bad); }, {bad, k.needle});
    CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 10);
    check_cli_refuses("eval --ckpt " + bad + " --data synthetic", {bad, k.needle});
  }
  const std::string clf = with_config(f.clf, dir / "big_clf.safetensors", "/image/dim", 65536);
  check_refuses([&] { load_classifier(clf); }, {clf, "the file's tensors hold"});
  check_cli_refuses("classify --model " + clf + " x.png", {clf, "the file's tensors hold"});
  const std::string text = with_config(f.text, dir / "big_text.safetensors", "/vocab", 5000000);
  check_refuses([&] { load_text_encoder(text); }, {text, "the file's tensors hold"});
}

TEST_CASE("hostile 5: element counts that overflow int64 are refused (safetensors, npy)") {
  TempDir dir("hostile_overflow");
  // A header claiming [2^62, 4] F32 at bytes [0, 0).
  const std::string header = R"({"w": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 0]}})";
  std::string file(8, '\0');
  file[0] = static_cast<char>(header.size());
  file += header;
  const std::string st = dir / "overflow.safetensors";
  write_file(st, file);
  check_refuses([&] { read_safetensors(st); }, {st, "tensor 'w'", "more elements than int64 holds"});
  check_cli_refuses("eval --ckpt " + st + " --data synthetic", {st, "more elements than int64 holds"});
  check_cli_refuses("classify --model " + st + " x.png", {st, "more elements than int64 holds"});
  const std::string npy = dir / "overflow.npy";
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }";
  h.append(64 - (10 + h.size() + 1) % 64, ' ');
  h += '\n';
  write_file(npy, std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(h.size()) + '\0' + h);
  check_refuses([&] { read_npy(npy); }, {npy, "more elements than int64 holds"});
  // The shape code itself: a product past int64 is an error, not a wrapped count.
  CHECK_THROWS_WITH_AS(numel({int64_t{1} << 40, int64_t{1} << 40}), doctest::Contains("more elements than int64"),
                       Error);
}

TEST_CASE("hostile 6: floats where integers belong, and out-of-range multipliers, are refused") {
  TempDir dir("hostile_cast");
  for (std::string offsets : {"[1e300, 1e301]", "[0, -8]", "[0.5, 4]", "[0, 18446744073709551615]"}) {
    CAPTURE(offsets);
    const std::string header = R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": )" + offsets + "}}";
    std::string file(8, '\0');
    file[0] = static_cast<char>(header.size());
    const std::string st = dir / "cast.safetensors";
    write_file(st, file + header + std::string(4, '\0'));
    check_refuses([&] { read_safetensors(st); }, {st, "tensor 'w': data_offsets"});
    check_cli_refuses("eval --ckpt " + st + " --data synthetic", {st, "data_offsets"});
  }
  Files c = write_valid(dir, "convnet");
  Files v = write_valid(dir, "vit");
  const std::vector<std::tuple<std::string, std::string, json, std::string>> cases = {
      {c.ckpt, "/image/width", 1e300, "image.width = 1e+300 is outside"},
      {c.ckpt, "/image/depth", -1.0, "image.depth = -1 is outside"},
      {c.ckpt, "/image/width", "wide", "image.width must be a number"},
      {v.ckpt, "/image/patch", 1e300, "image.patch = 1e+300 is outside"},
      {v.ckpt, "/image/patch", 8.5, "image.patch must be an integer"},
      {v.ckpt, "/embed", -9223372036854775807LL, "embed = -9223372036854775807 is outside"},
  };
  for (auto& [src, pointer, value, needle] : cases) {
    CAPTURE(pointer);
    const std::string bad = with_config(src, dir / "cast_cfg.safetensors", pointer, value);
    check_refuses([&] { read_checkpoint_info(bad); }, {bad, needle});
    check_cli_refuses("eval --ckpt " + bad + " --data synthetic", {bad, needle});
  }
  // The training state's steps likewise.
  const std::string steps = rewrite(v.ckpt, dir / "steps.safetensors", [](std::map<std::string, std::string>& m) {
    m["train"] = R"({"step": 1e300, "total_steps": 1})";
  });
  check_refuses([&] { read_checkpoint_info(steps); }, {steps, "step = 1e+300 is outside"});
}

TEST_CASE("hostile 7: .npy shapes are checked against the file before allocating, with clear messages") {
  TempDir dir("hostile_npy");
  auto npy = [&](const std::string& shape, size_t data_bytes) {
    std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    h.append(64 - (10 + h.size() + 1) % 64, ' ');
    h += '\n';
    const std::string path = dir / "a.npy";
    write_file(path, std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(h.size()) + '\0' + h +
                         std::string(data_bytes, '\0'));
    return path;
  };
  std::string p = npy("(1000000000, 1000)", 16);  // 4 TB asked for by a 100-byte file
  check_refuses([&] { read_npy(p); }, {p, "16 bytes of data", "needs 4000000000000 (truncated)"});
  p = npy("(-1, 8)", 0);
  check_refuses([&] { read_npy(p); }, {p, "a dimension must be a non-negative integer"});
  p = npy("('a',)", 0);
  check_refuses([&] { read_npy(p); }, {p, "malformed .npy header"});
  p = npy("(99999999999999999999,)", 0);
  check_refuses([&] { read_npy(p); }, {p, "does not fit in int64"});
  p = npy("(2, 3)", 24);
  CHECK(read_npy(p).shape() == Shape{2, 3});
  p = npy("(2, 3)", 28);
  check_refuses([&] { read_npy(p); }, {p, "(trailing bytes)"});
  // No command reads .npy files (embed writes them); the library is their only reader.
}

TEST_CASE("hostile 8: corrupt JPEG Huffman tables and truncated images are clean decode errors") {
  TempDir dir("hostile_jpeg");
  // 9 bytes: SOI, then a DHT segment cut short (stb_image 2.27 built its table from this).
  const std::vector<uint8_t> nine = {0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x13, 0x00, 0xFF, 0xFF};
  check_refuses([&] { decode_image(nine, "nine.jpg"); }, {"nine.jpg: cannot decode JPEG image ("});
  // A DHT whose 16 code counts add up to 16 x 255 symbols, far past the 256 a table can hold.
  std::vector<uint8_t> dht = {0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x13, 0x00};
  dht.insert(dht.end(), 16, 0xFF);
  check_refuses([&] { decode_image(dht, "dht.jpg"); }, {"dht.jpg: cannot decode JPEG image ("});
  // Truncated JPEG and PNG fixtures: an error, not grey-filled or zero-filled pixels.
  for (const char* name : {"rgb_420.jpg", "rgb_420_progressive.jpg", "rgb8.png", "rgb8_interlaced.png"}) {
    CAPTURE(name);
    std::string whole = read_file(std::string("tests/data/images/") + name);
    REQUIRE(!whole.empty());
    std::vector<uint8_t> half(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(whole.size() * 2 / 3));
    check_refuses([&] { decode_image(half, name); }, {name, "cannot decode"});
  }
  // A header claiming 65535 x 65535 pixels is refused before the pixels are allocated.
  std::vector<uint8_t> png = encode_png(1, 1, 3, {1, 2, 3});
  for (int i = 16; i < 24; ++i) png[i] = (i % 4 < 2) ? 0x00 : 0xFF;  // width, height = 0x0000FFFF
  const uint32_t crc = static_cast<uint32_t>(crc32(0L, png.data() + 12, 17));  // IHDR's type and data
  for (int k = 0; k < 4; ++k) png[29 + k] = static_cast<uint8_t>(crc >> (24 - 8 * k));
  check_refuses([&] { decode_image(png, "huge.png"); }, {"huge.png", "more than the limit of 67108864"});
  // Found by fuzz_image: 59 bytes declaring a 1.3 GB text chunk made libpng allocate and clear
  // 1.3 GB (12 s); every chunk must now lie inside the file.
  const std::vector<uint8_t> ztxt = {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 'I', 'H', 'D',
                                     'R', 0, 0, 0, 0x25, 0, 0, 0, 0x1d, 8, 4, 0, 0, 0, 0x87, 0xbe, 0x6d, 0x48,
                                     0x50, 0x4c, 0x54, 0x45, 'z', 'T', 'X', 't', 'I', 'D', 'A', 'T', 0x48, 0x89,
                                     0xff, 0xdd, 0, 0, 0x95, 0xd8, 0x92, 0x74, 0x49, 0x42, 0x60, 0x82};
  auto t1 = std::chrono::steady_clock::now();
  check_refuses([&] { decode_image(ztxt, "ztxt.png"); }, {"ztxt.png", "past the end of the 59-byte file"});
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count() < 2);
  // A JPEG header claiming 8000 x 8000 pixels in a 1 KB file: refused before the image is allocated.
  std::string jpeg = read_file("tests/data/images/rgb_420_progressive.jpg");
  size_t sof = jpeg.find("\xFF\xC2");
  REQUIRE(sof != std::string::npos);
  for (size_t k : {sof + 5, sof + 7}) jpeg[k] = static_cast<char>(8000 >> 8), jpeg[k + 1] = static_cast<char>(8000 & 0xff);
  check_refuses([&] { decode_image(std::vector<uint8_t>(jpeg.begin(), jpeg.end()), "big.jpg"); },
                {"big.jpg", "8000x8000 pixels cannot be coded in a file of"});
  // Through the command line: classify reports the image and exits 1.
  Files f = write_valid(dir, "vit");
  write_file(dir / "nine.jpg", nine);
  write_file(dir / "dht.jpg", dht);
  check_cli_refuses("classify --model " + f.clf + " " + (dir / "nine.jpg") + " " + (dir / "dht.jpg"),
                    {dir / "nine.jpg", dir / "dht.jpg", "cannot decode JPEG image"});
}

TEST_CASE("hostile 9: an image path that is a folder is a corrupt sample naming it, skipped in training") {
  TempDir dir("hostile_dir_image");
  std::filesystem::create_directories(dir / "folder.png");
  check_refuses([&] { load_image(dir / "folder.png"); }, {dir / "folder.png", "is a directory"});
  for (int i = 0; i < 3; ++i) write_file(dir / ("ok" + std::to_string(i) + ".png"), encode_png(pattern_image(8, 8, i)));
  write_file(dir / "list.tsv", "ok0.png\ta red thing\nfolder.png\ta folder\nok1.png\ta blue thing\nok2.png\tgreen\n");
  auto ds = open_dataset("tsv:" + (dir / "list.tsv"));
  LoaderOptions lo;
  lo.batch = 4;
  lo.image_size = 8;
  lo.workers = 1;
  Loader loader(*ds, lo);
  loader.start(0);
  Batch b;
  REQUIRE(loader.next(b));
  CHECK(b.skipped == 1);
  REQUIRE(b.skipped_sources.size() == 1);
  CHECK(b.skipped_sources[0].find(dir / "folder.png") != std::string::npos);
  CHECK(b.skipped_sources[0].find("is a directory") != std::string::npos);
  RunResult r = run_cli("train --image vit-nano --text text-nano --hyper none --data tsv:" + (dir / "list.tsv") +
                            " --steps 1 --batch 4 --image-size 16 --vocab 270 --workers 1 --out " + (dir / "run"),
                        true, kCliSeconds * 3);
  CAPTURE(r.out);
  CHECK(r.status == 0);
  CHECK(r.out.find("skipped corrupt sample: " + (dir / "folder.png") + ": is a directory") != std::string::npos);
}

TEST_CASE("hostile 10: configuration and allocation errors name the file and the field") {
  TempDir dir("hostile_messages");
  Files f = write_valid(dir, "vit");
  // Each of these once said only "negative dimension in shape [-1, 8]", "out of host memory
  // allocating N bytes", "std::bad_alloc" or "cannot decode image ()".
  const std::string neg = with_config(f.ckpt, dir / "neg.safetensors", "/text/dim", -1);
  check_refuses([&] { read_checkpoint_info(neg); }, {neg, "model configuration: text.dim = -1 is outside [1, 65536]"});
  const std::string big = with_config(f.ckpt, dir / "big.safetensors", "/text/context", 4096);
  check_refuses([&] { read_checkpoint_info(big); }, {big, "model configuration describes", "tensor elements"});
  const std::string missing = rewrite(f.ckpt, dir / "missing.safetensors", [](std::map<std::string, std::string>& m) {
    json c = json::parse(m.at("model"));
    c["text"].erase("heads");
    m["model"] = c.dump();
  });
  check_refuses([&] { read_checkpoint_info(missing); }, {missing, "model configuration: text lacks 'heads'"});
  check_cli_refuses("eval --ckpt " + missing + " --data synthetic", {missing, "text lacks 'heads'"});
  for (const char* bytes : {"\xFF\xD8\xFF\xE0", "\x89PNG\r\n\x1a\n\0\0\0\0IHDR", "GIF89a"}) {
    std::vector<uint8_t> v(bytes, bytes + std::strlen(bytes) + (bytes[0] == '\x89' ? 8 : 0));
    std::string message;
    try {
      decode_image(v, "pic");
    } catch (const Error& e) {
      message = e.what();
    }
    CAPTURE(message);
    CHECK(message.rfind("pic: ", 0) == 0);
    CHECK(message.find("()") == std::string::npos);  // a reason is always given
  }
}

TEST_CASE("hostile 11: a checkpoint path that is a folder is refused by name") {
  TempDir dir("hostile_dir_ckpt");
  std::filesystem::create_directories(dir / "ckpt.safetensors");
  const std::string d = dir / "ckpt.safetensors";
  check_refuses([&] { read_checkpoint_info(d); }, {d, "is a directory, not a safetensors file"});
  check_refuses([&] { load_classifier(d); }, {d, "is a directory"});
  check_refuses([&] { Tokenizer::load(d); }, {d, "is a directory, not a tokenizer file"});
  check_refuses([&] { read_npy(d); }, {d, "is a directory"});
  check_cli_refuses("eval --ckpt " + d + " --data synthetic", {d, "is a directory"});
  check_cli_refuses("classify --model " + d + " x.png", {d, "is a directory"});
  check_cli_refuses("tokenizer train --captions " + d + " --vocab 300 -o " + (dir / "t.bpe"), {d, "is a directory"});
}

TEST_CASE("hostile 12: brace patterns that expand without bound are refused") {
  TempDir dir("hostile_brace");
  auto t0 = std::chrono::steady_clock::now();
  check_refuses([&] { expand_braces("s-{0..99999999}-{0..99999999}.tar"); }, {"brace pattern", "more than 1000000"});
  check_refuses([&] { expand_braces("{0..999}{0..999}{0..9}.tar"); }, {"expands to more than 1000000 names"});
  check_refuses([&] { expand_braces(std::string(5000, 'a')); }, {"brace pattern of 5000 bytes"});
  check_refuses([&] { expand_braces("{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}", 50); }, {"expands to more than 50 names"});
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 10);
  CHECK(expand_braces("{0..999}{0..99}").size() == 100000);
  CHECK(expand_braces(std::string(1000, '{') + std::string(1000, '}') + "{1,2}") ==
        std::vector<std::string>{std::string(1000, '{') + std::string(1000, '}') + "1",
                                 std::string(1000, '{') + std::string(1000, '}') + "2"});
  check_cli_refuses("tokenizer train --captions 'wds:" + (dir / "s-{0..99999999}-{0..99999999}.tar") +
                        "' --vocab 300 -o " + (dir / "t.bpe"),
                    {"brace pattern", "more than 1000000"});
}
