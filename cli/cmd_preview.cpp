// hyperclip preview: a grid of a dataset's first images with their captions, to look at the data
// a run will train on (any DATA spec: the synthetic scenes, a TSV, a class-folder tree, CIFAR...).
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "data/atomic_file.h"
#include "data/dataset.h"
#include "data/image.h"
#include "infer/templates.h"

namespace hc::cli {

static const char* kPreviewHelp =
    "usage: hyperclip preview --data DATA [--split train|test] [--count N] [--size PX] -o FILE.ppm\n"
    "\n"
    "Writes the first N samples (default 16) of DATA as a grid of PX×PX tiles (default 64, each image\n"
    "resized and centre-cropped as evaluation does) to a binary PPM image, and prints one JSON line\n"
    "per sample: {\"index\", \"caption\", \"label\", \"source\"}. A labelled dataset's caption is its\n"
    "class name in the first template. --split picks cifar's and synthetic's split (default train).\n";

// The grid's tiles are laid out in rows of ceil(sqrt(N)), with a white gap of 2 px around each.
struct Grid {
  int size = 64, cols = 4, rows = 4, gap = 2;
  int width() const { return cols * size + (cols + 1) * gap; }
  int height() const { return rows * size + (rows + 1) * gap; }
};

int cmd_preview(int argc, char** argv) {
  Args a(argc, argv, {"data", "split", "count", "size", "output"}, {"help"});
  if (a.flag("help")) {
    std::printf("%s", kPreviewHelp);
    return 0;
  }
  std::string out = a.get("output");
  int64_t count = a.get_int("count", 16);
  Grid grid;
  grid.size = static_cast<int>(a.get_int("size", 64));
  HC_CHECK(count >= 1 && count <= 1024, "--count must be in [1, 1024], got ", count);
  HC_CHECK(grid.size >= 4 && grid.size <= 1024, "--size must be in [4, 1024], got ", grid.size);
  DatasetOptions d;
  d.split = a.get("split", "train");
  std::unique_ptr<Dataset> data = open_dataset(a.get("data"), d);
  int64_t n = std::min<int64_t>(count, static_cast<int64_t>(data->size()));
  HC_CHECK(n > 0, a.get("data"), ": the dataset is empty");
  grid.cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
  grid.rows = static_cast<int>((n + grid.cols - 1) / grid.cols);
  std::vector<std::string> templates = data->templates();
  std::string first_template = templates.empty() ? cifar_templates().front() : templates.front();

  std::vector<uint8_t> pixels(static_cast<size_t>(grid.width()) * grid.height() * 3, 255);
  for (int64_t k = 0; k < n; ++k) {
    Sample s = data->get(static_cast<size_t>(k));
    Image tile = resize_center_crop(s.image, grid.size);
    int ox = grid.gap + static_cast<int>(k % grid.cols) * (grid.size + grid.gap);
    int oy = grid.gap + static_cast<int>(k / grid.cols) * (grid.size + grid.gap);
    for (int y = 0; y < grid.size; ++y)
      for (int x = 0; x < grid.size; ++x)
        for (int c = 0; c < 3; ++c)
          pixels[(static_cast<size_t>(oy + y) * grid.width() + ox + x) * 3 + c] = tile.rgb[(y * grid.size + x) * 3 + c];
    std::string caption = s.caption;
    if (caption.empty() && s.label >= 0) caption = fill_template(first_template, data->class_names().at(s.label));
    std::printf("%s\n", nlohmann::json{{"index", k}, {"caption", caption}, {"label", s.label}, {"source", s.source}}
                            .dump()
                            .c_str());
  }
  AtomicFile file(out);
  file.write("P6\n" + std::to_string(grid.width()) + " " + std::to_string(grid.height()) + "\n255\n");
  file.write(pixels.data(), pixels.size());
  file.commit();
  std::fprintf(stderr, "wrote %s (%d x %d, %lld samples)\n", out.c_str(), grid.width(), grid.height(), (long long)n);
  return 0;
}

}  // namespace hc::cli
