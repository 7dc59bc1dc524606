// The synthetic dataset: determinism, sizes, tasks and class names, balanced labels, held-out
// shape-colour pairs, captions that name what they mention, layouts, and rendered colours.
// (`hyperclip preview --data synthetic -o grid.ppm` draws a grid of scenes to look at.)
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <thread>

#include "core/error.h"
#include "data/synthetic.h"
#include "data/synthetic_scene.h"

using namespace hc;
using namespace hc::synth;

namespace {

SyntheticOptions small_options(uint64_t seed = 0) {
  SyntheticOptions o;
  o.seed = seed;
  o.train_size = 3000;
  o.test_size = 240;  // a multiple of every class count (6, 8, 2, 3, 5, 3)
  return o;
}

int attribute_of_task(const std::string& task) {
  if (task == "heldout-shape") return kShape;
  if (task == "heldout-color") return kColor;
  for (int a = 0; a < kNumAttributes; ++a)
    if (task == attribute_name(a)) return a;
  return -1;
}

// Lower-case words of a caption (letters only).
std::vector<std::string> words_of(const std::string& s) {
  std::vector<std::string> out;
  std::string w;
  for (char c : s + " ") {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!w.empty()) {
      out.push_back(w);
      w.clear();
    }
  }
  return out;
}

// Whether the caption's words hold class word w (plurals "stars", "crosses" count).
bool has_word(const std::vector<std::string>& words, const std::string& w) {
  for (const std::string& x : words)
    if (x == w || x == w + "s" || x == w + "es") return true;
  return false;
}

}  // namespace

TEST_CASE("synthetic: tasks, class names, templates and describe") {
  const std::vector<std::string> tasks = synthetic_tasks();
  REQUIRE(tasks.size() == 8);
  const std::vector<std::vector<std::string>> expected = {
      {"circle", "square", "triangle", "star", "cross", "heart"},
      {"red", "green", "blue", "yellow", "purple", "orange", "white", "cyan"},
      {"small", "large"},
      {"solid", "striped", "dotted"},
      {"left", "right", "top", "bottom", "center"},
      {"one", "two", "three"}};
  for (const std::string& task : tasks) {
    CAPTURE(task);
    auto ds = make_synthetic_dataset(task, "test", small_options(7));
    int a = attribute_of_task(task);
    REQUIRE(a >= 0);
    CHECK(ds->class_names() == expected[a]);
    CHECK(ds->labelled());
    CHECK(ds->size() == 240);
    auto t = ds->templates();
    CHECK(t.size() >= 3);
    CHECK(t.size() <= 6);
    for (const std::string& p : t) CHECK(p.find("{}") != std::string::npos);
    CHECK(ds->describe() == "synthetic:" + task + " split=test, 240 scenes, seed 7");
    // The split is ignored by the labelled tasks.
    auto tr = make_synthetic_dataset(task, "train", small_options(7));
    CHECK(tr->size() == 240);
    CHECK(tr->get(3).image.rgb == ds->get(3).image.rgb);
  }
  auto cap = make_synthetic_dataset("", "train", small_options(3));
  CHECK(!cap->labelled());
  CHECK(cap->templates().empty());
  CHECK(cap->describe() == "synthetic split=train, 3000 scenes, seed 3");
}

TEST_CASE("synthetic: an unknown task or split is an error that lists the tasks") {
  try {
    make_synthetic_dataset("shapes", "test", small_options());
    FAIL("no error");
  } catch (const Error& e) {
    std::string msg = e.what();
    CHECK(msg.find("'shapes'") != std::string::npos);
    for (const std::string& t : synthetic_tasks()) CHECK(msg.find(t) != std::string::npos);
  }
  CHECK_THROWS_AS(make_synthetic_dataset("", "validation", small_options()), Error);
  auto ds = make_synthetic_dataset("", "test", small_options());
  CHECK_THROWS_AS(ds->get(ds->size()), Error);
}

TEST_CASE("synthetic: sizes of splits and images") {
  SyntheticOptions o = small_options();
  auto train = make_synthetic_dataset("", "train", o);
  auto test = make_synthetic_dataset("", "test", o);
  CHECK(train->size() == 3000);
  CHECK(test->size() == 240);
  Sample s = train->get(0);
  CHECK(s.image.width == 64);
  CHECK(s.image.height == 64);
  CHECK(s.image.rgb.size() == 64u * 64 * 3);
  CHECK(s.label == -1);
  CHECK(!s.caption.empty());
  CHECK(s.source == "synthetic/train#0");
  o.image_size = 32;
  Sample t = make_synthetic_dataset("count", "test", o)->get(5);
  CHECK(t.image.width == 32);
  CHECK(t.image.rgb.size() == 32u * 32 * 3);
  CHECK(t.caption.empty());
  CHECK(t.label == 5 % 3);
  CHECK(t.source == "synthetic:count/test#5");
}

TEST_CASE("synthetic: scenes are deterministic by seed, split, task and index") {
  auto a = make_synthetic_dataset("", "train", small_options(11));
  auto b = make_synthetic_dataset("", "train", small_options(11));
  Sample x1 = a->get(17);
  a->get(3);  // call order does not matter
  Sample x2 = a->get(17);
  Sample x3 = b->get(17);
  CHECK(x1.image.rgb == x2.image.rgb);
  CHECK(x1.caption == x2.caption);
  CHECK(x1.image.rgb == x3.image.rgb);
  CHECK(x1.caption == x3.caption);
  // Another seed, another split or another index gives another scene.
  auto c = make_synthetic_dataset("", "train", small_options(12));
  auto d = make_synthetic_dataset("", "test", small_options(11));
  CHECK(c->get(17).image.rgb != x1.image.rgb);
  CHECK(d->get(17).image.rgb != x1.image.rgb);
  CHECK(a->get(18).image.rgb != x1.image.rgb);
  int same_caption = 0;
  for (size_t i = 0; i < 50; ++i) same_caption += a->get(i).caption == c->get(i).caption;
  CHECK(same_caption < 5);
  // Concurrent calls give what serial calls give.
  std::vector<Sample> serial, parallel(8);
  for (size_t i = 0; i < 8; ++i) serial.push_back(a->get(100 + i));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < 8; ++i)
    threads.emplace_back([&, i] { parallel[i] = a->get(100 + i); });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < 8; ++i) {
    CHECK(serial[i].image.rgb == parallel[i].image.rgb);
    CHECK(serial[i].caption == parallel[i].caption);
  }
}

TEST_CASE("synthetic: task labels are balanced and match the scene attributes") {
  SyntheticOptions o = small_options();
  for (const std::string& task : synthetic_tasks()) {
    CAPTURE(task);
    const int attr = attribute_of_task(task);
    const size_t classes = attribute_words(attr).size();
    std::vector<int> counts(classes, 0);
    for (size_t i = 0; i < o.test_size; ++i) {
      Scene s = make_scene(task, "test", o, i, false);
      REQUIRE(s.label >= 0);
      REQUIRE(s.label < static_cast<int>(classes));
      CHECK(s.label == static_cast<int>(i % classes));
      CHECK(s.attr.v[attr] == s.label);
      CHECK(s.caption.empty());
      ++counts[s.label];
    }
    for (int n : counts) CHECK(n == static_cast<int>(o.test_size / classes));
  }
}

TEST_CASE("synthetic: held-out shape-colour pairs") {
  // About 1/6 of the pairs, and every shape and colour is in at least one.
  int pairs = 0;
  std::set<int> shapes, colors;
  for (int s = 0; s < 6; ++s)
    for (int c = 0; c < 8; ++c)
      if (is_heldout_pair(s, c)) {
        ++pairs;
        shapes.insert(s);
        colors.insert(c);
      }
  CHECK(pairs == 8);
  CHECK(shapes.size() == 6);
  CHECK(colors.size() == 8);

  SyntheticOptions o = small_options(5);
  o.test_size = 480;
  std::set<std::pair<int, int>> seen;
  for (size_t i = 0; i < 2000; ++i) {
    Scene s = make_scene("", "train", o, i, false);
    CHECK_FALSE(is_heldout_pair(s.attr.shape(), s.attr.color()));
    seen.insert({s.attr.shape(), s.attr.color()});
  }
  CHECK(seen.size() == 48 - 8);  // every other pair occurs
  for (size_t i = 0; i < 300; ++i) {
    Scene s = make_scene("", "test", o, i, false);
    CHECK_FALSE(is_heldout_pair(s.attr.shape(), s.attr.color()));
  }
  for (const std::string& task : synthetic_tasks()) {
    CAPTURE(task);
    const bool heldout = task.rfind("heldout-", 0) == 0;
    std::set<std::pair<int, int>> pairs_seen;
    for (size_t i = 0; i < o.test_size; ++i) {
      Scene s = make_scene(task, "test", o, i, false);
      CHECK(is_heldout_pair(s.attr.shape(), s.attr.color()) == heldout);
      pairs_seen.insert({s.attr.shape(), s.attr.color()});
    }
    if (heldout) CHECK(pairs_seen.size() == 8);
  }
}

TEST_CASE("synthetic: captions name the class word of each attribute they mention") {
  SyntheticOptions o = small_options(2);
  std::set<std::string> distinct;
  std::vector<int> omitted(kNumAttributes, 0);
  int with_omission = 0;
  const int n = 2000;
  for (int i = 0; i < n; ++i) {
    Scene s = make_scene("", "train", o, i, false);
    CAPTURE(s.caption);
    REQUIRE(!s.caption.empty());
    distinct.insert(s.caption);
    const std::vector<std::string> words = words_of(s.caption);
    int named = 0;
    for (int a = 0; a < kNumAttributes; ++a) {
      const std::vector<std::string>& aw = attribute_words(a);
      // The scene's own word iff mentioned; never another word of the same attribute.
      CHECK(has_word(words, aw[s.attr.v[a]]) == s.mentioned[a]);
      for (size_t k = 0; k < aw.size(); ++k)
        if (static_cast<int>(k) != s.attr.v[a]) CHECK_FALSE(has_word(words, aw[k]));
      named += s.mentioned[a];
      omitted[a] += !s.mentioned[a];
    }
    CHECK(named >= 3);
    // Plurals: "star" -> "stars", "cross" -> "crosses" when there are several and the shape named.
    if (s.mentioned[kShape] && s.attr.count() > 1) {
      std::string w = attribute_words(kShape)[s.attr.shape()];
      w += s.attr.shape() == 4 ? "es" : "s";
      CHECK(std::find(words.begin(), words.end(), w) != words.end());
    }
    with_omission += named < kNumAttributes;
  }
  CHECK(distinct.size() > n * 9 / 10);  // wording varies
  for (int a = 0; a < kNumAttributes; ++a) CHECK(omitted[a] > n / 50);
  CHECK(with_omission > n / 5);
  CHECK(with_omission < n * 3 / 5);
}

TEST_CASE("synthetic: layouts keep objects apart, inside the image and in their region") {
  SyntheticOptions o = small_options(9);
  const float size = static_cast<float>(o.image_size);
  for (size_t i = 0; i < 1500; ++i) {
    Scene s = make_scene("", "train", o, i, false);
    REQUIRE(static_cast<int>(s.objects.size()) == s.attr.count());
    float cx = 0, cy = 0;
    for (size_t k = 0; k < s.objects.size(); ++k) {
      const SceneObject& a = s.objects[k];
      CHECK(a.cx - 1.07f * a.radius >= 0);
      CHECK(a.cx + 1.07f * a.radius <= size);
      CHECK(a.cy - 1.07f * a.radius >= 0);
      CHECK(a.cy + 1.07f * a.radius <= size);
      // small about 0.18 of the image across, large about 0.34
      const float d = 2 * a.radius / size;
      if (s.attr.size() == 0) CHECK((d > 0.13f && d < 0.2f));
      else CHECK((d > 0.24f && d < 0.38f));
      for (size_t j = 0; j < k; ++j) {
        const SceneObject& b = s.objects[j];
        CHECK(std::hypot(a.cx - b.cx, a.cy - b.cy) >= 2.1f * a.radius);
      }
      cx += a.cx / size / s.objects.size();
      cy += a.cy / size / s.objects.size();
    }
    switch (s.attr.position()) {
      case 0: CHECK(cx < 0.37f); break;
      case 1: CHECK(cx > 0.63f); break;
      case 2: CHECK(cy < 0.37f); break;
      case 3: CHECK(cy > 0.63f); break;
      default: CHECK((std::fabs(cx - 0.5f) < 0.07f && std::fabs(cy - 0.5f) < 0.07f)); break;
    }
  }
}

TEST_CASE("synthetic: scenes are not blank and objects show the named colour") {
  SyntheticOptions o = small_options(4);
  const auto& pal = palette();
  auto chroma = [](float r, float g, float b, float* out) {
    float s = r + g + b + 1e-3f;
    out[0] = r / s;
    out[1] = g / s;
    out[2] = b / s;
  };
  for (const char* task : {"color", "heldout-color"}) {
    for (size_t i = 0; i < o.test_size; ++i) {
      Scene s = make_scene(task, "test", o, i);
      const Image& img = s.image;
      CAPTURE(task);
      CAPTURE(i);
      // Not blank.
      double mean = 0, var = 0;
      for (uint8_t v : img.rgb) mean += v;
      mean /= img.rgb.size();
      for (uint8_t v : img.rgb) var += (v - mean) * (v - mean);
      CHECK(var / img.rgb.size() > 10.0);
      // The mean of the pixels within a quarter radius of each object's centre has the
      // chromaticity of the named colour, nearest among the palette.
      for (const SceneObject& ob : s.objects) {
        float sum[3] = {0, 0, 0};
        int n = 0;
        for (int y = 0; y < img.height; ++y)
          for (int x = 0; x < img.width; ++x)
            if (std::hypot(x + 0.5f - ob.cx, y + 0.5f - ob.cy) <= std::max(0.25f * ob.radius, 0.8f)) {
              for (int c = 0; c < 3; ++c) sum[c] += img.rgb[(y * img.width + x) * 3 + c];
              ++n;
            }
        REQUIRE(n > 0);
        float got[3];
        chroma(sum[0], sum[1], sum[2], got);
        int best = -1;
        float best_d = 1e9f;
        for (int k = 0; k < 8; ++k) {
          float want[3];
          chroma(pal[k][0], pal[k][1], pal[k][2], want);
          float d = 0;
          for (int c = 0; c < 3; ++c) d += (got[c] - want[c]) * (got[c] - want[c]);
          if (d < best_d) best_d = d, best = k;
        }
        CHECK(best == s.label);
      }
    }
  }
}
