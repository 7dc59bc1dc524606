// hyperclip export and hyperclip classify (SPEC §5): a standalone classifier from one pass of the
// text tower and the hypernetwork, and top-k classification of images with it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <omp.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/backend.h"
#include "data/image.h"
#include "infer/export.h"
#include "infer/templates.h"
#include "train/checkpoint.h"

namespace hc::cli {

namespace fs = std::filesystem;

static const char* kExportHelp =
    "usage: hyperclip export --ckpt CKPT --classes FILE [--templates FILE] -o classifier.safetensors\n"
    "       hyperclip export --ckpt CKPT (--image-only | --text-only) -o encoder.safetensors\n"
    "\n"
    "Runs the text tower and (for HyperCLIP) the hypernetwork once on the classes, folds every batch\n"
    "norm of a ConvNet tower into its convolution (a ViT keeps its adapted layer norms) and writes the\n"
    "image tower, the K x E class matrix, t, b and the class names. Prints a JSON summary.\n"
    "  --classes    one class name per line\n"
    "  --templates  one prompt per line with {} for the class (default: CLIP's 18 CIFAR templates)\n"
    "  --image-only the image tower as trained (batch norms folded), for `embed --model --images`\n"
    "  --text-only  the text tower and the tokenizer, for `embed --model --texts`\n"
    "  --device     cpu (default) or cuda: where the text tower and the hypernetwork run\n";

int cmd_export(int argc, char** argv) {
  Args a(argc, argv, {"ckpt", "classes", "templates", "output", "threads", "device"}, {"help", "image-only", "text-only"});
  if (a.flag("help")) {
    std::printf("%s", kExportHelp);
    return 0;
  }
  if (a.has("threads")) omp_set_num_threads(static_cast<int>(a.get_int("threads")));
  std::string ckpt = a.get("ckpt"), out = a.get("output");
  HC_CHECK(!(a.flag("image-only") && a.flag("text-only")), "give at most one of --image-only and --text-only");
  Device device = parse_device(a.get("device", "cpu"));
  // The text tower and hypernetwork run on `device`; the classifier is built on the CPU.
  LoadedModel loaded = load_model(ckpt, device);
  const Checkpoint& info = loaded.info;
  HyperClip& model = *loaded.model;
  if (a.flag("text-only")) {
    save_text_encoder(out, model, info.tokenizer);
    std::printf("%s\n", nlohmann::json{{"output", out}, {"kind", "text-encoder"},
                                       {"text_parameters", model.text->parameter_count()}}.dump().c_str());
    return 0;
  }
  std::vector<std::string> classes;
  if (!a.flag("image-only")) classes = load_class_names(a.get("classes"));
  std::vector<std::string> templates = a.has("templates") ? load_templates(a.get("templates")) : cifar_templates();
  Classifier c = build_classifier(model, info.tokenizer, classes, templates);
  save_classifier(out, c);
  std::error_code ec;
  uintmax_t bytes = fs::file_size(out, ec);  // written just now; 0 only if it vanished meanwhile
  std::printf("%s\n", nlohmann::json{{"output", out},
                                     {"kind", classes.empty() ? "image-encoder" : "classifier"},
                                     {"classes", classes.size()},
                                     {"mode", mode_name(info.config.mode)},
                                     {"folded_batch_norms", info.config.image.kind != "vit"},
                                     {"image_parameters", c.visual->parameter_count()},
                                     {"bytes", ec ? 0 : static_cast<int64_t>(bytes)}}
                          .dump()
                          .c_str());
  return 0;
}

static const char* kClassifyHelp =
    "usage: hyperclip classify --model FILE [--topk K] [--json] [--batch N] [--threads N] [--device cpu|cuda]\n"
    "                          IMAGE|DIR...\n"
    "\n"
    "Prints the top-k classes of each image (PNG or JPEG; a folder means every image in it and in its\n"
    "subfolders, sorted by path; a folder without any image is an error)\n"
    "with the sigmoid probability sigmoid(t*cos + b) and the softmax over the classes of 100*cos.\n"
    "--json prints one line per image: {\"image\": path, \"top\": [{\"class\", \"prob\", \"softmax\"}, ...]}.\n"
    "An unreadable image is reported on stderr and the exit status is 1; the others are still classified.\n";

// Adds `path` if it is a file, or every PNG/JPEG under it (subfolders too, so a class-folder test set
// such as test/<class>/*.png works as given), sorted. A folder without any image is an error: an empty
// result with exit status 0 would read as "classified everything".
static void collect(const std::string& path, std::vector<std::string>& out) {
  std::error_code ec;
  HC_CHECK(fs::exists(path, ec), path, ": no such file or folder");
  if (!fs::is_directory(path, ec)) {
    out.push_back(path);
    return;
  }
  std::vector<std::string> names;
  fs::recursive_directory_iterator it(path, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name[0] == '.') {  // hidden entries (.git, .DS_Store), not descended into
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && is_image_name(name)) names.push_back(it->path().string());
  }
  HC_CHECK(!ec, path, ": cannot read the folder (", ec.message(), ")");
  HC_CHECK(!names.empty(), path, ": no PNG or JPEG image in this folder or its subfolders");
  std::sort(names.begin(), names.end());
  out.insert(out.end(), names.begin(), names.end());
}

int cmd_classify(int argc, char** argv) {
  Args a(argc, argv, {"model", "topk", "batch", "threads", "device"}, {"help", "json"});
  if (a.flag("help")) {
    std::printf("%s", kClassifyHelp);
    return 0;
  }
  if (a.has("threads")) omp_set_num_threads(static_cast<int>(a.get_int("threads")));
  Device device = parse_device(a.get("device", "cpu"));
  Classifier c = load_classifier(a.get("model"));
  c.to(device);
  int64_t K = static_cast<int64_t>(c.class_names.size());
  HC_CHECK(K > 0, a.get("model"), ": holds no classes (an --image-only export); export with --classes to classify");
  int64_t topk = std::min<int64_t>(a.get_int("topk", 5), K), batch = std::max<int64_t>(1, a.get_int("batch", 64));
  HC_CHECK(!a.positional().empty(), "give at least one image or folder");
  std::vector<std::string> paths;
  for (const std::string& p : a.positional()) collect(p, paths);
  double t = std::exp(c.logit_scale.item()), b = c.logit_bias.item();
  int size = static_cast<int>(c.config.image.image_size);
  int status = 0;
  for (size_t start = 0; start < paths.size(); start += batch) {
    std::vector<Image> images;
    std::vector<std::string> names;
    for (size_t i = start; i < std::min(paths.size(), start + batch); ++i) {
      try {
        images.push_back(resize_center_crop(load_image(paths[i]), size));
        names.push_back(paths[i]);
      } catch (const Error& e) {
        std::fprintf(stderr, "hyperclip classify: %s\n", e.what());
        status = 1;
      }
    }
    if (images.empty()) continue;
    std::vector<double> cos = c.cosines(images_to_tensor(images)).to_vector();
    for (size_t i = 0; i < names.size(); ++i) {
      const double* row = cos.data() + i * K;
      double mx = *std::max_element(row, row + K), z = 0;
      for (int64_t k = 0; k < K; ++k) z += std::exp(100 * (row[k] - mx));
      std::vector<int64_t> order(K);
      for (int64_t k = 0; k < K; ++k) order[k] = k;
      std::partial_sort(order.begin(), order.begin() + topk, order.end(),
                        [&](int64_t x, int64_t y) { return row[x] > row[y]; });
      nlohmann::json top = nlohmann::json::array();
      std::string text = names[i] + ":";
      for (int64_t r = 0; r < topk; ++r) {
        int64_t k = order[r];
        double prob = 1 / (1 + std::exp(-(t * row[k] + b))), soft = std::exp(100 * (row[k] - mx)) / z;
        top.push_back({{"class", c.class_names[k]}, {"prob", prob}, {"softmax", soft}});
        char buf[160];
        std::snprintf(buf, sizeof buf, "  %s (prob %.3f, softmax %.3f)", c.class_names[k].c_str(), prob, soft);
        text += buf;
      }
      if (a.flag("json")) std::printf("%s\n", nlohmann::json{{"image", names[i]}, {"top", top}}.dump().c_str());
      else std::printf("%s\n", text.c_str());
    }
  }
  return status;
}

}  // namespace hc::cli
