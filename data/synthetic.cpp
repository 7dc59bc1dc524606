// The built-in synthetic dataset: attribute words, held-out pairs, per-index scene attributes,
// captions in varied wording, and the Dataset classes (drawing is in data/synthetic_render.cpp).
#include "data/synthetic.h"

#include <algorithm>

#include "core/error.h"
#include "data/synthetic_scene.h"

namespace hc {
namespace synth {

const std::vector<std::string>& attribute_words(int a) {
  static const std::vector<std::string> words[kNumAttributes] = {
      {"circle", "square", "triangle", "star", "cross", "heart"},
      {"red", "green", "blue", "yellow", "purple", "orange", "white", "cyan"},
      {"small", "large"},
      {"solid", "striped", "dotted"},
      {"left", "right", "top", "bottom", "center"},
      {"one", "two", "three"},
  };
  HC_CHECK(a >= 0 && a < kNumAttributes, "synthetic: no attribute ", a);
  return words[a];
}

const char* attribute_name(int a) {
  static const char* const names[kNumAttributes] = {"shape",   "color",    "size",
                                                    "texture", "position", "count"};
  HC_CHECK(a >= 0 && a < kNumAttributes, "synthetic: no attribute ", a);
  return names[a];
}

// One held-out shape per colour: shape (5 * color) % 6, i.e. red circle, green heart, blue cross,
// yellow star, purple triangle, orange square, white circle, cyan heart (8 of the 48 pairs).
// Every colour keeps five shapes in training and every shape at least six colours.
bool is_heldout_pair(int shape, int color) { return shape == (5 * color) % 6; }

const std::array<std::array<uint8_t, 3>, 8>& palette() {
  static const std::array<std::array<uint8_t, 3>, 8> p = {{
      {{220, 40, 40}},    // red
      {{40, 180, 60}},    // green
      {{45, 85, 230}},    // blue
      {{235, 215, 40}},   // yellow
      {{150, 60, 200}},   // purple
      {{245, 140, 30}},   // orange
      {{240, 240, 240}},  // white
      {{40, 210, 220}},   // cyan
  }};
  return p;
}

namespace {

uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

int pick(Generator& g, int n) { return static_cast<int>(g.next_u64() % static_cast<uint64_t>(n)); }

template <class T>
const T& pick(Generator& g, const std::vector<T>& v) {
  return v[pick(g, static_cast<int>(v.size()))];
}

const int kNumShapes = 6, kNumColors = 8;

// Task name -> attribute index (heldout-shape -> shape, heldout-color -> color); -1 for the caption
// dataset; throws for an unknown task.
int task_attribute(const std::string& task, bool* heldout) {
  *heldout = false;
  if (task.empty()) return -1;
  for (int a = 0; a < kNumAttributes; ++a)
    if (task == attribute_name(a)) return a;
  if (task == "heldout-shape" || task == "heldout-color") {
    *heldout = true;
    return task == "heldout-shape" ? kShape : kColor;
  }
  std::string list;
  for (const std::string& t : synthetic_tasks()) list += (list.empty() ? "" : ", ") + t;
  throw Error(cat("synthetic: unknown task '", task, "' (tasks: ", list, ")"));
}

SceneAttributes draw_attributes(int task_attr, bool heldout, size_t index, Generator& g) {
  SceneAttributes a;
  for (int k = 0; k < kNumAttributes; ++k)
    a.v[k] = pick(g, static_cast<int>(attribute_words(k).size()));
  if (task_attr >= 0) {
    a.v[task_attr] = static_cast<int>(index % attribute_words(task_attr).size());
  }
  // Re-draw the free member of the shape-colour pair until the pair has the wanted kind.
  auto fix_pair = [&](bool want_heldout) {
    if (task_attr == kShape) {
      std::vector<int> ok;
      for (int c = 0; c < kNumColors; ++c)
        if (is_heldout_pair(a.v[kShape], c) == want_heldout) ok.push_back(c);
      a.v[kColor] = pick(g, ok);
    } else if (task_attr == kColor) {
      std::vector<int> ok;
      for (int s = 0; s < kNumShapes; ++s)
        if (is_heldout_pair(s, a.v[kColor]) == want_heldout) ok.push_back(s);
      a.v[kShape] = pick(g, ok);
    } else {
      while (is_heldout_pair(a.v[kShape], a.v[kColor]) != want_heldout) {
        a.v[kShape] = pick(g, kNumShapes);
        a.v[kColor] = pick(g, kNumColors);
      }
    }
  };
  fix_pair(heldout);
  return a;
}

std::string plural(const std::string& noun) {
  if (noun.size() >= 2 && noun.compare(noun.size() - 2, 2, "ss") == 0) return noun + "es";
  return noun + "s";
}

std::string article(const std::string& next_word) {
  return (!next_word.empty() && std::string("aeiou").find(next_word[0]) != std::string::npos)
             ? "an"
             : "a";
}

// Joins non-empty pieces with single spaces.
std::string join(const std::vector<std::string>& parts) {
  std::string s;
  for (const std::string& p : parts) {
    if (p.empty()) continue;
    if (!s.empty()) s += ' ';
    s += p;
  }
  return s;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
  return s;
}

std::string position_phrase(int position, Generator& g) {
  static const std::vector<std::string> sides = {
      "on the {}", "at the {} side", "in the {} part of the {img}", "on the {} side of the {img}",
      "to the {}", "on the {} side"};
  static const std::vector<std::string> edges = {
      "at the {}", "at the {} of the {img}", "near the {}", "in the {} part of the {img}",
      "along the {}", "near the {} of the {img}"};
  static const std::vector<std::string> middle = {
      "in the {}", "at the {} of the {img}", "in the {} of the {img}", "near the {}",
      "around the {}"};
  static const std::vector<std::string> img_words = {"picture", "image", "photo", "scene"};
  const std::vector<std::string>& forms = position <= 1 ? sides : position <= 3 ? edges : middle;
  std::string p = replace_all(pick(g, forms), "{}", attribute_words(kPosition)[position]);
  return replace_all(p, "{img}", pick(g, img_words));
}

}  // namespace

std::string write_caption(const SceneAttributes& a, Generator& g,
                          std::array<bool, kNumAttributes>* mentioned) {
  std::array<bool, kNumAttributes> m;
  m.fill(true);
  if (g.uniform() < 0.3) {  // omit one or two attributes
    int omit = g.uniform() < 0.5 ? 1 : 2;
    while (omit > 0) {
      int k = pick(g, kNumAttributes);
      if (m[k]) {
        m[k] = false;
        --omit;
      }
    }
  }
  const bool many = a.count() > 1;
  // The noun: the shape, or a generic word when the shape is omitted.
  static const std::vector<std::string> generic = {"object", "shape", "thing", "item"};
  std::string noun = m[kShape] ? attribute_words(kShape)[a.shape()] : pick(g, generic);
  if (many) noun = plural(noun);
  const std::string& size = attribute_words(kSize)[a.size()];
  const std::string& texture = attribute_words(kTexture)[a.texture()];
  const std::string& color = attribute_words(kColor)[a.color()];
  std::string pos = m[kPosition] ? position_phrase(a.position(), g) : "";

  // Template 2 moves size and texture behind the noun ("a red star, striped and large, ...").
  int form = pick(g, 8);
  if (form == 2 && !m[kSize] && !m[kTexture]) form = 0;
  std::vector<std::string> adjectives;
  if (form != 2 && m[kSize]) adjectives.push_back(size);
  if (form != 2 && m[kTexture]) adjectives.push_back(texture);
  if (m[kColor]) adjectives.push_back(color);
  std::string core = join({join(adjectives), noun});

  // The determiner: a count word, or "a"/"an" (then "one" is not said), or none/"some"/"the".
  std::string det;
  if (m[kCount]) {
    if (!many && g.uniform() < 0.4) {
      det = article(core);
      m[kCount] = false;
    } else {
      det = attribute_words(kCount)[a.v[kCount]];
    }
  } else if (many) {
    det = g.uniform() < 0.5 ? "" : "some";
  } else {
    det = g.uniform() < 0.75 ? article(core) : "the";
  }
  std::string np = join({det, core});
  const std::string be = many ? "are" : "is";
  static const std::vector<std::string> pictures = {"a photo", "a picture", "an image",
                                                    "a rendering"};
  std::string caption;
  switch (form) {
    case 0: caption = join({np, pos}); break;
    case 1: caption = join({pick(g, pictures), "of", np, pos}); break;
    case 2: {
      std::vector<std::string> after;
      if (m[kSize]) after.push_back(size);
      if (m[kTexture]) after.push_back(texture);
      if (after.size() == 2 && g.uniform() < 0.5) std::swap(after[0], after[1]);
      std::string tail = after.size() == 2 ? after[0] + " and " + after[1] : after[0];
      caption = np + ", " + tail;
      if (!pos.empty()) caption += ", " + pos;
      break;
    }
    case 3:
      caption = pos.empty() ? join({"there", be, np}) : pos + ", there " + be + " " + np;
      break;
    case 4: caption = join({"there", be, np, pos}); break;
    case 5: caption = join({pick(g, pictures), "showing", np, pos}); break;
    case 6: caption = pos.empty() ? join({np, "in", pick(g, pictures)}) : join({np, be, pos}); break;
    default: caption = join({pick(g, pictures), "with", np, pos}); break;
  }
  if (g.uniform() < 0.3) caption += '.';
  if (mentioned) *mentioned = m;
  return caption;
}

Scene make_scene(const std::string& task, const std::string& split, const SyntheticOptions& opt,
                 size_t index, bool render) {
  bool heldout = false;
  const int task_attr = task_attribute(task, &heldout);
  HC_CHECK(opt.image_size >= 8 && opt.image_size <= 4096, "synthetic: image size ",
           opt.image_size, " out of range (8..4096)");
  // Labelled tasks ignore the split (they are test sets).
  const std::string& sp = task.empty() ? split : std::string("test");
  uint64_t h = mix64(opt.seed ^ mix64(fnv1a(task) ^ mix64(fnv1a(sp))));
  h = mix64(h ^ mix64(static_cast<uint64_t>(index) * 0xD1B54A32D192ED03ull + 1));
  Generator g_attr(mix64(h + 1)), g_caption(mix64(h + 2)), g_layout(mix64(h + 3)),
      g_image(mix64(h + 4));

  Scene s;
  s.attr = draw_attributes(task_attr, heldout, index, g_attr);
  if (task_attr < 0) {
    s.caption = write_caption(s.attr, g_caption, &s.mentioned);
  } else {
    s.label = s.attr.v[task_attr];
  }
  s.objects = layout_objects(s.attr, opt.image_size, g_layout);
  if (render) s.image = render_scene(s.attr, s.objects, opt.image_size, g_image);
  return s;
}

namespace {

std::vector<std::string> task_templates(int attr) {
  switch (attr) {
    case kShape:
      return {"a photo of a {}.", "a picture of a {}.", "an image of a {} shape.",
              "a {} on a plain background.", "a rendering of a {}."};
    case kColor:
      return {"a photo of something {}.", "a photo of {} objects.", "a picture of {} shapes.",
              "the color {}.", "{} things in an image."};
    case kSize:
      return {"a photo of {} objects.", "a picture of {} shapes.", "{} things in an image.",
              "objects that are {}."};
    case kTexture:
      return {"a photo of {} objects.", "a picture of {} shapes.", "{} things in an image.",
              "objects that are {}.", "a {} pattern."};
    case kPosition:
      return {"a photo of an object on the {}.", "objects at the {}.",
              "a picture with shapes at the {}.", "something in the {} of the image.",
              "shapes in the {} part of the picture."};
    default:
      return {"a photo of {} objects.", "{} shapes in a picture.", "a picture of {} things.",
              "there are {} objects."};
  }
}

class SyntheticDataset : public Dataset {
 public:
  SyntheticDataset(std::string task, std::string split, const SyntheticOptions& opt, int attr)
      : task_(std::move(task)), split_(std::move(split)), opt_(opt) {
    n_ = attr < 0 && split_ == "train" ? opt.train_size : opt.test_size;
    if (attr >= 0) {
      classes_ = attribute_words(attr);
      templates_ = task_templates(attr);
    }
  }
  size_t size() const override { return n_; }
  Sample get(size_t i) const override {
    HC_CHECK(i < n_, "synthetic: index ", i, " out of range (", n_, " scenes)");
    Scene s = make_scene(task_, split_, opt_, i);
    Sample out;
    out.image = std::move(s.image);
    out.caption = std::move(s.caption);
    out.label = s.label;
    out.source = cat(name(), "/", split_, "#", i);
    return out;
  }
  // The caption without drawing the scene (tokenizer training reads many captions).
  std::string caption(size_t i) const override {
    HC_CHECK(i < n_, "synthetic: index ", i, " out of range (", n_, " scenes)");
    return task_.empty() ? make_scene(task_, split_, opt_, i, false).caption : std::string();
  }
  const std::vector<std::string>& class_names() const override { return classes_; }
  std::string describe() const override {
    return cat(name(), " split=", split_, ", ", n_, " scenes, seed ", opt_.seed);
  }
  std::vector<std::string> templates() const override { return templates_; }

 private:
  std::string name() const { return task_.empty() ? "synthetic" : "synthetic:" + task_; }
  std::string task_, split_;
  SyntheticOptions opt_;
  size_t n_ = 0;
  std::vector<std::string> classes_, templates_;
};

}  // namespace
}  // namespace synth

std::vector<std::string> synthetic_tasks() {
  return {"shape", "color", "size", "texture", "position", "count", "heldout-shape",
          "heldout-color"};
}

std::unique_ptr<Dataset> make_synthetic_dataset(const std::string& task, const std::string& split,
                                                const SyntheticOptions& opt) {
  bool heldout = false;
  const int attr = synth::task_attribute(task, &heldout);
  std::string sp = split;
  if (attr >= 0) {
    HC_CHECK(split.empty() || split == "test" || split == "train", "synthetic:", task,
             ": unknown split '", split, "' (train or test)");
    sp = "test";  // labelled tasks are test sets whatever split was asked for
  } else {
    HC_CHECK(split == "train" || split == "test", "synthetic: unknown split '", split,
             "' (train or test)");
  }
  HC_CHECK(opt.image_size >= 8 && opt.image_size <= 4096, "synthetic: image size ",
           opt.image_size, " out of range (8..4096)");
  return std::make_unique<synth::SyntheticDataset>(task, sp, opt, attr);
}

}  // namespace hc
