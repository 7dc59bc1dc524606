// Group set sampling (train --set-sampling group, data/set_sampler.h): every set from one group,
// the documented leftover rule, each sample at most once per epoch, batches of different groups,
// an order fixed by (seed, epoch) whatever the threads, and the groups the TSV and folder readers
// expose.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "core/random.h"
#include "data/loader.h"
#include "data/set_sampler.h"
#include "tests/data_test_util.h"

using namespace hc;
using namespace hc_test;

namespace {

// groups[i] samples in group i, numbered group after group.
std::vector<int32_t> grouping(const std::vector<int>& sizes) {
  std::vector<int32_t> out;
  for (size_t g = 0; g < sizes.size(); ++g) out.insert(out.end(), sizes[g], static_cast<int32_t>(g));
  return out;
}

// Checks every documented property of one epoch's plan.
void check_plan(const GroupSetSampler::Plan& p, const std::vector<int32_t>& of, int64_t S, int64_t B) {
  const int64_t k = B / S, n = static_cast<int64_t>(of.size());
  int64_t G = 0;
  for (int32_t g : of) G = std::max<int64_t>(G, g + 1);
  REQUIRE(static_cast<int64_t>(p.order.size()) % B == 0);
  REQUIRE(static_cast<int64_t>(p.set_group.size()) * S == static_cast<int64_t>(p.order.size()));
  // Each sample at most once; fewer than one batch left out.
  std::set<size_t> seen(p.order.begin(), p.order.end());
  CHECK(seen.size() == p.order.size());
  CHECK(p.dropped == n - static_cast<int64_t>(p.order.size()));
  CHECK(p.dropped < B);
  // Every set is from one group (pooled sets excepted), and a group's samples in its own sets are
  // a multiple of S: exactly floor(n_g / S) * S of them, unless the whole set was not dealt.
  std::vector<int64_t> sizes(G, 0), in_own(G, 0), in_pool(G, 0);
  for (int32_t g : of) ++sizes[g];
  int64_t pooled = 0;
  for (size_t s = 0; s < p.set_group.size(); ++s) {
    int32_t g = p.set_group[s];
    for (int64_t j = 0; j < S; ++j) {
      int32_t actual = of[p.order[s * S + j]];
      if (g >= 0) {
        CHECK(actual == g);
        ++in_own[actual];
      } else {
        ++in_pool[actual];
        ++pooled;
      }
    }
  }
  CHECK(pooled == p.pooled);
  int64_t leftovers = 0, dealt_sets = static_cast<int64_t>(p.set_group.size()), all_sets = 0;
  for (int64_t g = 0; g < G; ++g) {
    CHECK(in_pool[g] <= sizes[g] % S);  // only a group's leftovers are pooled
    CHECK(in_own[g] <= sizes[g] / S * S);
    leftovers += sizes[g] % S;
    all_sets += sizes[g] / S;
  }
  CHECK(p.pooled <= leftovers / S * S);
  all_sets += leftovers / S;
  CHECK(all_sets - dealt_sets < k);  // under B/S sets left undealt
  // The dealing rule: a group fills a second slot of a batch only when every group with sets
  // left is already in that batch.
  std::vector<int64_t> left(G, 0);
  for (int64_t g = 0; g < G; ++g) left[g] = sizes[g] / S;
  for (size_t b = 0; b * k < p.set_group.size(); ++b) {
    std::set<int32_t> in_batch;
    for (int64_t slot = 0; slot < k; ++slot) {
      int32_t g = p.set_group[b * k + slot];
      if (g >= 0 && in_batch.count(g)) {
        for (int64_t h = 0; h < G; ++h)
          if (left[h] > 0 && !in_batch.count(static_cast<int32_t>(h))) FAIL_CHECK("group ", g, " repeated in batch ", b, " while group ", h, " had sets left");
      }
      if (g >= 0) {
        in_batch.insert(g);
        --left[g];
      }
    }
  }
}

// n tiny images; sample i's caption names it and its group.
class GroupedDataset : public Dataset {
 public:
  GroupedDataset(std::vector<int32_t> of, std::vector<size_t> corrupt = {}) : of_(std::move(of)), corrupt_(std::move(corrupt)) {}
  size_t size() const override { return of_.size(); }
  Sample get(size_t i) const override {
    if (std::count(corrupt_.begin(), corrupt_.end(), i)) throw Error("img" + std::to_string(i) + ".png: corrupt image");
    Sample s;
    s.image.width = s.image.height = 4;
    s.image.rgb.assign(4 * 4 * 3, static_cast<uint8_t>(i));
    s.caption = std::to_string(of_[i]) + ":" + std::to_string(i);
    return s;
  }
  const std::vector<std::string>& class_names() const override { return none_; }
  std::string describe() const override { return "grouped"; }

 private:
  std::vector<int32_t> of_;
  std::vector<size_t> corrupt_;
  std::vector<std::string> none_;
};

int group_of_caption(const std::string& c) { return std::stoi(c.substr(0, c.find(':'))); }

std::vector<std::string> epoch_captions(Loader& l, int64_t epoch, int64_t first = 0) {
  std::vector<std::string> out;
  l.start(epoch, first);
  Batch b;
  while (l.next(b))
    for (auto& c : b.captions) out.push_back(c);
  return out;
}

}  // namespace

TEST_CASE("set sampler: one group per set, the leftover rule, each sample at most once per epoch") {
  // Groups of 10, 7, 3 and 13 with sets of 4: whole sets 2 + 1 + 0 + 3 = 6; leftovers 2 + 3 + 3 + 1 = 9
  // pooled into 2 mixed sets (8 samples) and 1 dropped; 8 sets = 4 batches of 2 sets, nothing else dropped.
  std::vector<int32_t> of = grouping({10, 7, 3, 13});
  GroupSetSampler s(of, 4, 4, 8, 7);
  CHECK(s.sets_per_epoch() == 8);
  CHECK(s.pooled_sets_per_epoch() == 2);
  CHECK(s.batches_per_epoch() == 4);
  for (int64_t epoch = 0; epoch < 6; ++epoch) {
    GroupSetSampler::Plan p = s.plan(epoch);
    CHECK(p.order.size() == 32);
    CHECK(p.pooled == 8);
    CHECK(p.dropped == 1);
    check_plan(p, of, 4, 8);
    CHECK(std::count(p.set_group.begin(), p.set_group.end(), -1) == 2);
    CHECK(std::count(p.set_group.begin(), p.set_group.end(), 3) == 3);
  }
  // Over epochs the dropped sample changes: the shuffles are per epoch.
  std::set<size_t> ever;
  for (int64_t epoch = 0; epoch < 40; ++epoch)
    for (size_t i : s.plan(epoch).order) ever.insert(i);
  CHECK(ever.size() == of.size());
  // Group sizes that are multiples of S pool nothing, and every sample is seen when the sets fill
  // whole batches.
  std::vector<int32_t> even = grouping({8, 16, 8});
  GroupSetSampler e(even, 3, 4, 8, 1);
  GroupSetSampler::Plan pe = e.plan(0);
  CHECK(pe.pooled == 0);
  CHECK(pe.dropped == 0);
  check_plan(pe, even, 4, 8);
}

TEST_CASE("set sampler: batches hold sets of different groups; order fixed by seed and epoch") {
  // 8 groups of unequal size (the emoji groups' shape), 4 sets per batch, no group over a quarter
  // of the sets: no batch holds two sets of one group.
  std::vector<int32_t> of = grouping({200, 96, 64, 170, 45, 130, 33, 220});
  GroupSetSampler s(of, 8, 8, 32, 3);
  auto repeats = [](const GroupSetSampler::Plan& p, int64_t k) {
    int64_t n = 0;
    for (size_t b = 0; b * k < p.set_group.size(); ++b) {
      std::set<int32_t> gs;
      for (int64_t j = 0; j < k; ++j) {
        int32_t g = p.set_group[b * k + j];
        n += g >= 0 && !gs.insert(g).second;
      }
    }
    return n;
  };
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    GroupSetSampler::Plan p = s.plan(epoch);
    check_plan(p, of, 8, 32);
    CHECK(repeats(p, 4) == 0);
  }
  // Random groupings: whenever no group holds more sets than there are batches, no repeats.
  Generator gen(17);
  int feasible = 0;
  for (int trial = 0; trial < 200; ++trial) {
    int G = 2 + static_cast<int>(gen.next_u64() % 12), S = 1 + static_cast<int>(gen.next_u64() % 5);
    int k = 1 + static_cast<int>(gen.next_u64() % std::min(G, 6));
    std::vector<int> sizes;
    for (int g = 0; g < G; ++g) sizes.push_back(static_cast<int>(gen.next_u64() % 60));
    std::vector<int32_t> t = grouping(sizes);
    int64_t sets = 0, most = 0, leftover = 0;
    for (int z : sizes) {
      sets += z / S;
      most = std::max<int64_t>(most, z / S);
      leftover += z % S;
    }
    sets += leftover / S;
    if (sets / k == 0) continue;
    GroupSetSampler ts(t, G, S, S * k, trial);
    GroupSetSampler::Plan p = ts.plan(trial % 3);
    check_plan(p, t, S, S * k);
    if (most <= ts.batches_per_epoch()) {
      ++feasible;
      CHECK_MESSAGE(repeats(p, k) == 0, "trial ", trial);
    }
  }
  CHECK(feasible > 100);
  // A group with more sets than batches must share batches with itself: the dealing rule still holds.
  std::vector<int32_t> big = grouping({400, 40, 40, 40});
  GroupSetSampler bs(big, 4, 8, 32, 2);
  CHECK(repeats(bs.plan(0), 4) > 0);
  check_plan(bs.plan(0), big, 8, 32);
  // The same seed and epoch give the same plan; another epoch or seed another one.
  CHECK(s.plan(1).order == GroupSetSampler(of, 8, 8, 32, 3).plan(1).order);
  CHECK(s.plan(1).order != s.plan(2).order);
  CHECK(s.plan(1).order != GroupSetSampler(of, 8, 8, 32, 4).plan(1).order);
  // Too few sets for one batch, groups out of range, a batch not a multiple of S: clear errors.
  CHECK_THROWS_WITH_AS(GroupSetSampler(grouping({3, 3}), 2, 4, 8, 0), doctest::Contains("fewer than one batch"), Error);
  CHECK_THROWS_WITH_AS(GroupSetSampler({0, 5}, 2, 1, 2, 0), doctest::Contains("outside 0..1"), Error);
  CHECK_THROWS_WITH_AS(GroupSetSampler(of, 8, 8, 30, 0), doctest::Contains("multiple of the set size"), Error);
}

TEST_CASE("set sampler in the loader: the same batches with 1 or 4 workers, restarts, whole sets") {
  std::vector<int32_t> of = grouping({40, 25, 31, 18});
  GroupedDataset d(of);
  LoaderOptions o;
  o.batch = 16;
  o.image_size = 4;
  o.seed = 5;
  o.set_size = 4;
  o.group_sets = std::make_shared<GroupSetSampler>(of, 4, 4, 16, 5);
  o.workers = 1;
  Loader one(d, o);
  o.workers = 4;
  o.prefetch = 2;
  Loader four(d, o);
  CHECK(one.batches_per_epoch() == o.group_sets->batches_per_epoch());
  std::vector<std::string> a = epoch_captions(one, 2), b = epoch_captions(four, 2);
  CHECK(a.size() == static_cast<size_t>(one.batches_per_epoch() * 16));
  CHECK(a == b);
  CHECK(epoch_captions(four, 3) != a);
  CHECK(epoch_captions(four, 2, 3) == std::vector<std::string>(a.begin() + 48, a.end()));  // restart mid-epoch
  // The loader's batches follow the plan: each set of 4 captions from its planned group.
  GroupSetSampler::Plan p = o.group_sets->plan(2);
  for (size_t s = 0; s < p.set_group.size(); ++s)
    for (int j = 0; j < 4; ++j) {
      if (p.set_group[s] >= 0) CHECK(group_of_caption(a[s * 4 + j]) == p.set_group[s]);
      CHECK(a[s * 4 + j] == std::to_string(of[p.order[s * 4 + j]]) + ":" + std::to_string(p.order[s * 4 + j]));
    }

  // A corrupt sample takes its whole set out of the batch; the other sets stay whole and in place.
  size_t bad = p.order[16 + 5];  // batch 1, set 1
  GroupedDataset broken(of, {bad});
  Loader l(broken, o);
  l.start(2, 1);
  Batch batch;
  REQUIRE(l.next(batch));
  CHECK(batch.skipped == 1);
  REQUIRE(batch.captions.size() == 12);
  CHECK(batch.skipped_sources[0].find("set of 4 is left out") != std::string::npos);
  std::vector<std::string> expect(a.begin() + 16, a.begin() + 20);
  expect.insert(expect.end(), a.begin() + 24, a.begin() + 32);
  CHECK(batch.captions == expect);
}

TEST_CASE("dataset groups: a TSV header names columns; a two-level folder groups its classes") {
  TempDir dir("set_groups");
  std::ofstream(dir / "a.tsv") << "path\tcaption\tgroup\tsubgroup\n"
                               << "x.png\ta cat\tanimals\tmammal\n"
                               << "y.png\ta fish\tanimals\tfish\n"
                               << "z.png\ta pear\tfood\tfruit\n";
  auto tsv = open_dataset("tsv:" + dir / "a.tsv");
  REQUIRE(tsv->size() == 3);  // the header is no sample
  CHECK(tsv->caption(1) == "a fish");
  SampleGroups g = tsv->sample_groups("group");
  CHECK(g.names == std::vector<std::string>{"animals", "food"});
  CHECK(g.of_sample == std::vector<int32_t>{0, 0, 1});
  CHECK(g.source.find("column 'group'") != std::string::npos);
  CHECK(tsv->sample_groups("subgroup").names.size() == 3);
  CHECK(tsv->sample_groups("colour").empty());
  // Without a header, everything after the first tab is the caption, as before.
  std::ofstream(dir / "b.tsv") << "x.png\ta cat\twith a tab\n";
  auto plain = open_dataset("tsv:" + dir / "b.tsv");
  CHECK(plain->caption(0) == "a cat\twith a tab");
  CHECK(plain->sample_groups("group").empty());
  // With a header, every line has its columns.
  std::ofstream(dir / "c.tsv") << "path\tcaption\tgroup\nx.png\ta cat\n";
  CHECK_THROWS_WITH_AS(open_dataset("tsv:" + dir / "c.tsv"), doctest::Contains("c.tsv:2: 2 fields, but the header names 3"), Error);
  std::ofstream(dir / "d.tsv") << "path\tcaption\tgroup\tgroup\nx.png\ta cat\ta\tb\n";
  CHECK_THROWS_WITH_AS(open_dataset("tsv:" + dir / "d.tsv"), doctest::Contains("names column 'group' twice"), Error);
  std::ofstream(dir / "e.tsv") << "path\tcaption\tgroup\nx.png\ta cat\t \n";
  CHECK_THROWS_WITH_AS(open_dataset("tsv:" + dir / "e.tsv"), doctest::Contains("e.tsv:2: empty 'group' field"), Error);

  // DIR/<group>/<class>/ images: classes sorted by group then class, each with its group.
  for (const char* p : {"f/animals/cat/1.png", "f/animals/red_fish/1.png", "f/animals/red_fish/2.png", "f/food/pear/1.png"})
    write_file(dir / p, encode_png(solid_image(4, 4, 1, 2, 3)));
  auto folder = open_dataset("folder:" + dir / "f");
  CHECK(folder->class_names() == std::vector<std::string>{"cat", "red fish", "pear"});
  CHECK(folder->class_groups() == std::vector<std::string>{"animals", "animals", "food"});
  CHECK(folder->describe().find("4 images in 2 groups, 3 classes") != std::string::npos);
  SampleGroups fg = folder->sample_groups("");
  CHECK(fg.names == std::vector<std::string>{"animals", "food"});
  CHECK(fg.of_sample == std::vector<int32_t>{0, 0, 0, 1});
  CHECK(folder->get(3).label == 2);
  // A one-level folder has no groups; a class name in two groups is refused.
  auto flat = open_dataset("folder:" + dir / "f/animals");
  CHECK(flat->class_groups().empty());
  CHECK(flat->sample_groups("").empty());
  write_file(dir / "f/food/cat/1.png", encode_png(solid_image(4, 4, 1, 2, 3)));
  CHECK_THROWS_WITH_AS(open_dataset("folder:" + dir / "f"), doctest::Contains("class 'cat' is in two groups (animals, food)"), Error);
}
