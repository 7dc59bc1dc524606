// hyperclip groups: group the captions of a TSV by clusters of their text embeddings, for group
// set sampling on data without groups of its own (docs/hypernetwork.md).
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <omp.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "data/atomic_file.h"
#include "data/dataset.h"
#include "infer/caption_groups.h"
#include "train/checkpoint.h"

namespace hc::cli {

static const char* kGroupsHelp =
    "usage: hyperclip groups --ckpt REF --data tsv:FILE --clusters K -o OUT.tsv [--seed S] [--threads N]\n"
    "                        [--max-iter N]\n"
    "\n"
    "Encodes every caption of the TSV with the text tower of the reference checkpoint REF (a fixed\n"
    "model, e.g. a trained baseline), clusters the embeddings into K groups by spherical k-means\n"
    "(k-means++ seeding from --seed, default 0; at most --max-iter Lloyd steps, default 100) and writes\n"
    "OUT.tsv: a header \"path<TAB>caption<TAB>group\", then the same rows in the same order with each\n"
    "row's cluster (\"cluster 00\" ...) as its group and its path relative to OUT's folder. Then\n"
    "`train --data tsv:OUT.tsv --set-size S --set-sampling group` fills each set from one cluster.\n"
    "Prints {\"rows\", \"clusters\", \"sizes\", \"iterations\", \"converged\", \"output\"}.\n";

int cmd_groups(int argc, char** argv) {
  Args a(argc, argv, {"ckpt", "data", "clusters", "output", "seed", "threads", "max-iter"}, {"help"});
  if (a.flag("help")) {
    std::printf("%s", kGroupsHelp);
    return 0;
  }
  if (a.has("threads")) omp_set_num_threads(static_cast<int>(a.get_int("threads")));
  std::string spec = a.get("data"), output = a.get("output");
  HC_CHECK(spec.rfind("tsv:", 0) == 0, "--data ", spec, ": hyperclip groups reads a captions TSV (tsv:FILE)");
  int64_t K = a.get_int("clusters");
  HC_CHECK(K >= 1, "--clusters must be at least 1, got ", K);
  LoadedModel ref = load_model(a.get("ckpt"));
  std::unique_ptr<Dataset> data = open_dataset(spec);
  std::vector<std::string> captions, paths;
  for (size_t i = 0; i < data->size(); ++i) {
    captions.push_back(data->caption(i));
    paths.push_back(data->source(i));
  }
  std::fprintf(stderr, "groups: encoding %zu captions with %s\n", captions.size(), a.get("ckpt").c_str());
  const int64_t n = static_cast<int64_t>(captions.size()), E = ref.info.config.embed;
  std::vector<double> x = embed_texts(*ref.model, ref.info.tokenizer, captions);
  KMeansResult km = spherical_kmeans(x, n, E, K, static_cast<uint64_t>(a.get_int("seed", 0)),
                                     static_cast<int>(a.get_int("max-iter", 100)));

  namespace fs = std::filesystem;
  const fs::path out_dir = fs::absolute(fs::path(output)).parent_path();
  std::string text = "path\tcaption\tgroup\n";
  for (int64_t i = 0; i < n; ++i) {
    char group[32];
    std::snprintf(group, sizeof group, "cluster %02d", km.cluster[i]);
    text += fs::absolute(paths[i]).lexically_relative(out_dir).string() + "\t" + captions[i] + "\t" + group + "\n";
  }
  AtomicFile f(output);
  f.write(text);
  f.commit();
  nlohmann::json j = {{"rows", n}, {"clusters", K}, {"sizes", km.sizes}, {"iterations", km.iterations},
                      {"converged", km.converged}, {"output", output}};
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

}  // namespace hc::cli
