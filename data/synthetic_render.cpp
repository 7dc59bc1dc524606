// The synthetic scenes' layout and drawing: a muted background with a gradient and noise, and
// `count` objects of one kind drawn with 4x4 supersampling (data/synthetic_scene.h).
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "data/synthetic_scene.h"

namespace hc {
namespace synth {
namespace {

constexpr float kPi = 3.14159265358979f;

float uniform(Generator& g, float lo, float hi) {
  return lo + static_cast<float>(g.uniform()) * (hi - lo);
}

// Centre distance two objects keep, as a multiple of the sum of their radii (a square's corners
// reach 1.06 radii from its centre; every other shape stays inside the unit circle).
constexpr float kSpacing = 1.08f;
constexpr float kMargin = 0.03f;  // free border, as a fraction of the image

// Whether the group (centres in image fractions) lies in the region named by `position`:
// left/right/top/bottom: every object's centre in the outer 42% along the axis, the centroid in
// the outer 36% and well off the other axis' ends; center: the centroid within 0.06 of the
// middle along both axes and every centre within 0.32 of it.
bool group_in_region(int position, const std::vector<SceneObject>& objs) {
  float cx = 0, cy = 0;
  for (const SceneObject& o : objs) {
    cx += o.cx;
    cy += o.cy;
  }
  cx /= objs.size();
  cy /= objs.size();
  // along(o): the distance of o from the named side; across: the centroid's offset along the
  // other axis.
  auto along = [&](const SceneObject& o) -> float {
    switch (position) {
      case 0: return o.cx;         // left
      case 1: return 1.0f - o.cx;  // right
      case 2: return o.cy;         // top
      default: return 1.0f - o.cy; // bottom
    }
  };
  if (position == 4) {
    if (std::fabs(cx - 0.5f) > 0.06f || std::fabs(cy - 0.5f) > 0.06f) return false;
    for (const SceneObject& o : objs)  // a compact group around the middle
      if (std::hypot(o.cx - 0.5f, o.cy - 0.5f) > 0.32f) return false;
    return true;
  }
  SceneObject c;
  c.cx = cx;
  c.cy = cy;
  const float a = along(c);
  const float b = (position <= 1) ? cy - 0.5f : cx - 0.5f;
  if (a > 0.36f || std::fabs(b) > 0.5f * (0.5f - a)) return false;
  for (const SceneObject& o : objs)
    if (along(o) > 0.42f) return false;
  return true;
}

// Whether a point of an object's local frame, (u, v) in radii with v pointing up, is inside it.
bool inside_shape(int shape, float u, float v) {
  switch (shape) {
    case 0:  // circle
      return u * u + v * v <= 1.0f;
    case 1:  // square
      return std::fabs(u) <= 0.75f && std::fabs(v) <= 0.75f;
    case 2: {  // triangle pointing up: apex (0, 1), base corners (+-0.95, -0.72)
      if (v < -0.72f) return false;
      // Edges from the apex: |u| <= 0.95 * (1 - v) / 1.72.
      return std::fabs(u) <= 0.95f * (1.0f - v) / 1.72f;
    }
    case 3: {  // five-pointed star, outer radius 1, inner 0.42, a point at the top
      static const struct Star {
        float x[10], y[10];
        Star() {
          for (int k = 0; k < 10; ++k) {
            float r = (k % 2 == 0) ? 1.0f : 0.42f;
            float t = kPi / 2 + k * kPi / 5;
            x[k] = r * std::cos(t);
            y[k] = r * std::sin(t) - 0.05f;
          }
        }
      } star;
      if (u * u + v * v > 1.0f) return false;
      bool in = false;
      for (int i = 0, j = 9; i < 10; j = i++) {
        if ((star.y[i] > v) != (star.y[j] > v) &&
            u < (star.x[j] - star.x[i]) * (v - star.y[i]) / (star.y[j] - star.y[i]) + star.x[i])
          in = !in;
      }
      return in;
    }
    case 4: {  // cross (plus sign)
      float au = std::fabs(u), av = std::fabs(v);
      return (au <= 0.3f && av <= 0.92f) || (av <= 0.3f && au <= 0.92f);
    }
    default: {  // heart: (x^2 + y^2 - 1)^3 <= x^2 y^3, scaled into the unit circle
      float x = u * 1.22f, y = v * 1.22f + 0.12f;
      float q = x * x + y * y - 1.0f;
      return q * q * q <= x * x * y * y * y;
    }
  }
}

struct ObjectStyle {
  int shape = 0, texture = 0;
  float cos_r = 1, sin_r = 0;  // the object's rotation
  float cos_t = 1, sin_t = 0;  // the texture's direction
  float period = 0.66f;        // stripe period = dot spacing, in radii
  float phase_u = 0, phase_v = 0;
};

// 0 outside, 1 the body, 2 a texture mark; (dx, dy) from the centre in radii, y pointing down.
int hit(const ObjectStyle& s, float dx, float dy) {
  float u = dx * s.cos_r + dy * s.sin_r;
  float v = -(-dx * s.sin_r + dy * s.cos_r);
  if (!inside_shape(s.shape, u, v)) return 0;
  if (s.texture == 0) return 1;
  float p = u * s.cos_t + v * s.sin_t;
  float q = -u * s.sin_t + v * s.cos_t;
  if (s.texture == 1) {  // stripes, half dark
    float f = p / s.period + s.phase_u;
    return (f - std::floor(f) < 0.5f) ? 2 : 1;
  }
  // dots on a square grid, radius 0.3 of the spacing
  float fu = p / s.period + s.phase_u, fv = q / s.period + s.phase_v;
  fu -= std::floor(fu) + 0.5f;
  fv -= std::floor(fv) + 0.5f;
  return (fu * fu + fv * fv <= 0.09f) ? 2 : 1;
}

}  // namespace

std::vector<SceneObject> layout_objects(const SceneAttributes& attr, int image_size,
                                        Generator& g) {
  const int count = attr.count();
  static const float kCountScale[3] = {1.0f, 0.92f, 0.84f};
  float d = (attr.size() == 0 ? 0.18f : 0.34f) * uniform(g, 0.9f, 1.1f) * kCountScale[count - 1];
  float r = d / 2;
  const int position = attr.position();
  std::vector<SceneObject> objs;
  // Rejection sampling; after every 200 failed groups the objects shrink by 4% (a large group of
  // three rarely needs it, and even then stays far larger than small objects).
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0 && attempt % 200 == 0) r *= 0.96f;
    const float lo = r + kMargin, hi = 1.0f - r - kMargin;
    // Centres are drawn in the part of the image the region allows.
    float x0 = lo, x1 = hi, y0 = lo, y1 = hi;
    switch (position) {
      case 0: x1 = std::min(x1, 0.42f); break;
      case 1: x0 = std::max(x0, 0.58f); break;
      case 2: y1 = std::min(y1, 0.42f); break;
      case 3: y0 = std::max(y0, 0.58f); break;
      default:
        if (count == 1) x0 = y0 = 0.44f, x1 = y1 = 0.56f;
        break;
    }
    objs.clear();
    bool ok = true;
    for (int k = 0; k < count && ok; ++k) {
      ok = false;
      for (int tries = 0; tries < 30 && !ok; ++tries) {
        SceneObject o;
        o.cx = uniform(g, x0, x1);
        o.cy = uniform(g, y0, y1);
        o.radius = r;
        ok = true;
        for (const SceneObject& p : objs) {
          float ddx = o.cx - p.cx, ddy = o.cy - p.cy;
          if (ddx * ddx + ddy * ddy < (2 * kSpacing * r) * (2 * kSpacing * r)) ok = false;
        }
        if (ok) objs.push_back(o);
      }
    }
    if (ok && group_in_region(position, objs)) break;
  }
  for (SceneObject& o : objs) {
    o.cx *= image_size;
    o.cy *= image_size;
    o.radius *= image_size;
  }
  return objs;
}

Image render_scene(const SceneAttributes& attr, const std::vector<SceneObject>& objects,
                   int image_size, Generator& g) {
  const int n = image_size;
  // Background: a muted colour, a linear brightness gradient in a random direction.
  float base = uniform(g, 45.0f, 150.0f);
  float bg[3];
  for (float& c : bg) c = base + uniform(g, -22.0f, 22.0f);
  float gangle = uniform(g, 0.0f, 2 * kPi);
  float gamp = uniform(g, 10.0f, 30.0f);
  float gx = std::cos(gangle) * gamp / n, gy = std::sin(gangle) * gamp / n;

  // Object colour: the palette colour with brightness and per-channel (hue) jitter.
  const auto& pal = palette()[attr.color()];
  float bright = uniform(g, 0.85f, 1.08f);
  float col[3], dark[3];
  for (int c = 0; c < 3; ++c) {
    col[c] = std::min(255.0f, std::max(0.0f, pal[c] * bright + uniform(g, -12.0f, 12.0f)));
    dark[c] = col[c] * 0.45f;
  }
  ObjectStyle style;
  style.shape = attr.shape();
  style.texture = attr.texture();
  float rot = uniform(g, -0.25f, 0.25f);
  style.cos_r = std::cos(rot);
  style.sin_r = std::sin(rot);
  float tex = uniform(g, 0.0f, kPi);
  style.cos_t = std::cos(tex);
  style.sin_t = std::sin(tex);
  // About three stripe periods across an object, but at least 6.6% of the image (4.2 pixels at
  // 64) so that small objects' textures stay visible.
  style.period = uniform(g, 0.6f, 0.72f);
  if (!objects.empty()) style.period = std::max(style.period, 0.066f * n / objects[0].radius);
  style.phase_u = uniform(g, 0.0f, 1.0f);
  style.phase_v = uniform(g, 0.0f, 1.0f);

  Image img;
  img.width = img.height = n;
  img.rgb.resize(static_cast<size_t>(n) * n * 3);
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      float shade = gx * (x + 0.5f - n / 2.0f) + gy * (y + 0.5f - n / 2.0f);
      float px[3] = {bg[0] + shade, bg[1] + shade, bg[2] + shade};
      // The object whose bounding square holds this pixel (objects do not overlap).
      const SceneObject* obj = nullptr;
      for (const SceneObject& o : objects) {
        float reach = o.radius * 1.07f + 1.0f;
        if (std::fabs(x + 0.5f - o.cx) <= reach && std::fabs(y + 0.5f - o.cy) <= reach) obj = &o;
      }
      if (obj) {
        float inv = 1.0f / obj->radius;
        float acc[3] = {0, 0, 0};
        for (int sy = 0; sy < 4; ++sy) {
          float dy = (y + (sy + 0.5f) * 0.25f - obj->cy) * inv;
          for (int sx = 0; sx < 4; ++sx) {
            float dx = (x + (sx + 0.5f) * 0.25f - obj->cx) * inv;
            int h = hit(style, dx, dy);
            const float* c = h == 0 ? px : h == 1 ? col : dark;
            acc[0] += c[0];
            acc[1] += c[1];
            acc[2] += c[2];
          }
        }
        for (int c = 0; c < 3; ++c) px[c] = acc[c] * (1.0f / 16);
      }
      // Mild noise, +-5 per channel, from one 64-bit draw.
      uint64_t bits = g.next_u64();
      uint8_t* out = &img.rgb[(static_cast<size_t>(y) * n + x) * 3];
      for (int c = 0; c < 3; ++c) {
        float noise = static_cast<float>((bits >> (c * 16)) & 0xFFFF) * (10.0f / 65535.0f) - 5.0f;
        float v = std::round(px[c] + noise);
        out[c] = static_cast<uint8_t>(std::min(255.0f, std::max(0.0f, v)));
      }
    }
  }
  return img;
}

}  // namespace synth
}  // namespace hc
