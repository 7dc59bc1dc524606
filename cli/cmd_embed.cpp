// hyperclip embed (SPEC §5): L2-normalised image or text embeddings as a .npy array, so that
// people can build retrieval on top.
#include <cstdio>
#include <fstream>
#include <omp.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/grad_mode.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/npy.h"
#include "infer/templates.h"
#include "infer/zeroshot.h"
#include "train/checkpoint.h"

namespace hc::cli {

static const char* kEmbedHelp =
    "usage: hyperclip embed --ckpt CKPT (--images DATA | --texts FILE) -o OUT.npy\n"
    "                       [--classes FILE [--templates FILE]] [--batch N] [--threads N] [--workers N]\n"
    "\n"
    "Writes float32 [n, E] L2-normalised embeddings to OUT.npy (numpy.load reads it) and, for\n"
    "images, the source of each row to OUT.npy.txt. Texts: one per line.\n"
    "A HyperCLIP model embeds images with the tower as trained (no generated offsets) unless\n"
    "--classes is given: then the hypernetwork adapts the tower to that class set first, as zero-shot\n"
    "classification does. (--model FILE, embeddings from an exported classifier, comes with export.)\n";

int cmd_embed(int argc, char** argv) {
  Args a(argc, argv, {"ckpt", "model", "images", "texts", "output", "classes", "templates", "batch", "threads", "workers"},
         {"help"});
  if (a.flag("help")) {
    std::printf("%s", kEmbedHelp);
    return 0;
  }
  HC_CHECK(!a.has("model"), "--model: exported classifiers are not implemented yet; use --ckpt");
  HC_CHECK(a.has("images") != a.has("texts"), "give exactly one of --images and --texts");
  if (a.has("threads")) omp_set_num_threads(static_cast<int>(a.get_int("threads")));
  std::string path = a.get("ckpt"), out = a.get("output");
  Checkpoint info = read_checkpoint_info(path);
  HyperClip model(info.config);
  load_checkpoint_weights(path, model, nullptr);
  model.eval();
  NoGradGuard ng;
  int64_t batch = a.get_int("batch", 256);
  std::vector<Tensor> parts;
  if (a.has("texts")) {
    std::vector<std::string> texts;
    std::ifstream in(a.get("texts"));
    HC_CHECK(in, a.get("texts"), ": cannot open");
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      texts.push_back(line);
    }
    HC_CHECK(!texts.empty(), a.get("texts"), ": no texts");
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
    std::unique_ptr<Dataset> data = open_dataset(a.get("images"), DatasetOptions{});
    LoaderOptions lo;
    lo.batch = batch;
    lo.image_size = static_cast<int>(info.config.image.image_size);
    lo.shuffle = false;
    lo.drop_last = false;
    lo.skip_corrupt = false;  // every row must match a source
    lo.workers = static_cast<int>(a.get_int("workers", 2));
    Loader loader(*data, lo);
    loader.start(0);
    Batch b;
    std::ofstream sources(out + ".txt");
    HC_CHECK(sources, out, ".txt: cannot write");
    while (loader.next(b)) {
      parts.push_back(model.encode_image(b.images, hyper));
      for (const std::string& s : b.sources) sources << s << "\n";
    }
  }
  Tensor emb = parts.size() == 1 ? parts[0] : concat(parts, 0);
  write_npy(out, emb);
  std::fprintf(stderr, "wrote %lld x %lld embeddings to %s\n", (long long)emb.size(0), (long long)emb.size(1), out.c_str());
  return 0;
}

}  // namespace hc::cli
