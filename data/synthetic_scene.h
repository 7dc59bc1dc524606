// Internal to the synthetic dataset (data/synthetic.cpp, data/synthetic_render.cpp) and its tests:
// a scene's attribute record, its layout, the caption writer and the renderer.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/random.h"
#include "data/image.h"
#include "data/synthetic.h"

namespace hc {
namespace synth {

// Attribute indices, in the order of the task names.
enum Attribute { kShape = 0, kColor, kSize, kTexture, kPosition, kCount, kNumAttributes };

// The words (class names) of attribute a, in the order SPEC'd in data/synthetic.h's comment.
const std::vector<std::string>& attribute_words(int a);
const char* attribute_name(int a);  // "shape", "color", ...

// A held-out shape-colour pair never occurs in the training split nor in ordinary test scenes;
// the heldout-* tasks use only these pairs. Every shape and every colour is in at least one.
bool is_heldout_pair(int shape, int color);

// The nominal RGB of each colour (before the per-scene jitter).
const std::array<std::array<uint8_t, 3>, 8>& palette();

struct SceneAttributes {
  int v[kNumAttributes] = {0, 0, 0, 0, 0, 0};  // index into attribute_words(a)
  int shape() const { return v[kShape]; }
  int color() const { return v[kColor]; }
  int size() const { return v[kSize]; }
  int texture() const { return v[kTexture]; }
  int position() const { return v[kPosition]; }
  int count() const { return v[kCount] + 1; }  // 1..3
};

struct SceneObject {
  float cx = 0, cy = 0;  // centre, in pixels
  float radius = 0;      // half the nominal diameter, in pixels
};

struct Scene {
  SceneAttributes attr;
  std::array<bool, kNumAttributes> mentioned{};  // which attributes the caption names
  std::string caption;                           // empty for labelled tasks
  int label = -1;                                // labelled tasks: attr.v[task attribute]
  std::vector<SceneObject> objects;
  Image image;  // left empty when not rendered
};

// Scene `index` of (task, split) under opt; deterministic, independent of call order and
// thread-safe. task "" is the caption dataset. render=false skips drawing the pixels.
// Throws hc::Error for an unknown task.
Scene make_scene(const std::string& task, const std::string& split, const SyntheticOptions& opt,
                 size_t index, bool render = true);

// A caption for the attributes, noting in `mentioned` which attributes it names.
std::string write_caption(const SceneAttributes& a, Generator& g,
                          std::array<bool, kNumAttributes>* mentioned);

// Places attr.count() objects without overlap inside the region of attr.position().
std::vector<SceneObject> layout_objects(const SceneAttributes& attr, int image_size, Generator& g);

// Draws background and objects (4x4 supersampled).
Image render_scene(const SceneAttributes& attr, const std::vector<SceneObject>& objects,
                   int image_size, Generator& g);

}  // namespace synth
}  // namespace hc
