// hyperclip embed (SPEC §5): L2-normalised image or text embeddings as a .npy array, so that
// people can build retrieval on top.
#include <sstream>
#include <cstdio>
#include <fstream>
#include <functional>
#include <omp.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/grad_mode.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/npy.h"
#include "infer/templates.h"
#include "infer/zeroshot.h"
#include "infer/export.h"
#include "train/checkpoint.h"
#include "data/file_read.h"

namespace hc::cli {

static const char* kEmbedHelp =
    "usage: hyperclip embed (--ckpt CKPT | --model FILE) (--images DATA | --texts FILE) -o OUT.npy\n"
    "                       [--classes FILE [--templates FILE]] [--batch N] [--threads N] [--workers N]\n"
    "\n"
    "Writes float32 [n, E] L2-normalised embeddings to OUT.npy (numpy.load reads it) and, for\n"
    "images, the source of each row to OUT.npy.txt. Texts: one per line.\n"
    "A HyperCLIP model embeds images with the tower as trained (no generated offsets) unless\n"
    "--classes is given: then the hypernetwork adapts the tower to that class set first, as zero-shot\n"
    "classification does. --model takes an export: a classifier or --image-only export embeds\n"
    "images (with the tower it holds), a --text-only export embeds texts.\n";

static std::vector<std::string> read_texts(const std::string& path) {
  std::vector<std::string> texts;
  std::istringstream in(read_file_text(path, "text file"));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    texts.push_back(line);
  }
  HC_CHECK(!texts.empty(), path, ": no texts");
  return texts;
}

// Embeds every image of --images in dataset order with `encode`, writing each row's source to
// OUT.npy.txt.
static std::vector<Tensor> embed_images(const Args& a, const std::string& out, int64_t batch, int64_t image_size,
                                        const std::function<Tensor(const Tensor&)>& encode) {
  std::unique_ptr<Dataset> data = open_dataset(a.get("images"), DatasetOptions{});
  LoaderOptions lo;
  lo.batch = batch;
  lo.image_size = static_cast<int>(image_size);
  lo.shuffle = false;
  lo.drop_last = false;
  lo.skip_corrupt = false;  // every row must match a source
  lo.workers = static_cast<int>(a.get_int("workers", 2));
  Loader loader(*data, lo);
  loader.start(0);
  Batch b;
  std::ofstream sources(out + ".txt");
  HC_CHECK(sources, out, ".txt: cannot write");
  std::vector<Tensor> parts;
  NoGradGuard ng;
  while (loader.next(b)) {
    parts.push_back(encode(b.images));
    for (const std::string& s : b.sources) sources << s << "\n";
  }
  return parts;
}

static int finish(const std::vector<Tensor>& parts, const std::string& out) {
  Tensor emb = parts.size() == 1 ? parts[0] : concat(parts, 0);
  write_npy(out, emb);
  std::fprintf(stderr, "wrote %lld x %lld embeddings to %s\n", (long long)emb.size(0), (long long)emb.size(1), out.c_str());
  return 0;
}

// --model: an exported classifier / image encoder (images) or text encoder (texts).
static int embed_from_export(const Args& a, const std::string& out, int64_t batch) {
  std::string path = a.get("model");
  std::vector<Tensor> parts;
  if (a.has("texts")) {
    TextEncoder enc = load_text_encoder(path);
    std::vector<std::string> texts = read_texts(a.get("texts"));
    for (size_t i = 0; i < texts.size(); i += batch)
      parts.push_back(enc.embed(std::vector<std::string>(texts.begin() + i, texts.begin() + std::min(texts.size(), i + batch))));
  } else {
    Classifier c = load_classifier(path);
    parts = embed_images(a, out, batch, c.config.image.image_size, [&](const Tensor& x) { return c.embed(x); });
  }
  return finish(parts, out);
}

int cmd_embed(int argc, char** argv) {
  Args a(argc, argv, {"ckpt", "model", "images", "texts", "output", "classes", "templates", "batch", "threads", "workers"},
         {"help"});
  if (a.flag("help")) {
    std::printf("%s", kEmbedHelp);
    return 0;
  }
  HC_CHECK(a.has("images") != a.has("texts"), "give exactly one of --images and --texts");
  HC_CHECK(a.has("ckpt") != a.has("model"), "give exactly one of --ckpt and --model");
  if (a.has("threads")) omp_set_num_threads(static_cast<int>(a.get_int("threads")));
  std::string out = a.get("output");
  int64_t batch = a.get_int("batch", 256);
  if (a.has("model")) return embed_from_export(a, out, batch);
  std::string path = a.get("ckpt");
  LoadedModel loaded = load_model(path);
  const Checkpoint& info = loaded.info;
  HyperClip& model = *loaded.model;
  NoGradGuard ng;
  std::vector<Tensor> parts;
  if (a.has("texts")) {
    std::vector<std::string> texts = read_texts(a.get("texts"));
    for (size_t i = 0; i < texts.size(); i += batch) {
      std::vector<std::string> chunk(texts.begin() + i, texts.begin() + std::min(texts.size(), i + batch));
      Tensor tokens, eot;
      tokenize_batch(info.tokenizer, chunk, info.config.text.context, tokens, eot);
      parts.push_back(model.encode_text(tokens, eot));
    }
  } else {
    Tensor hyper;
    if (a.has("classes")) {
      std::vector<std::string> templates = a.has("templates") ? load_templates(a.get("templates")) : cifar_templates();
      hyper = model.generate(class_embeddings(model, info.tokenizer, load_class_names(a.get("classes")), templates), 0);
    }
    parts = embed_images(a, out, batch, info.config.image.image_size,
                         [&](const Tensor& images) { return model.encode_image(images, hyper); });
  }
  return finish(parts, out);
}

}  // namespace hc::cli
