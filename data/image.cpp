// The preprocessing used for training and evaluation: PIL-style antialiased bicubic resize, centre
// and random-resized crops, flips and normalisation into a float tensor. Decoding is in
// data/image_decode.cpp.
#include "data/image.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace hc {

namespace {

// Keys' cubic convolution kernel with a = -0.5 (the value PIL and OpenCV use).
double keys_cubic(double x) {
  const double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// For each output position along one axis: the first input index and the normalised weights of
// the input samples it reads. This follows PIL's precompute_coeffs: when shrinking, the kernel is
// stretched by the scale factor so that every input pixel contributes (antialiasing), instead of
// point-sampling 4 neighbours and aliasing fine patterns.
struct AxisWeights {
  std::vector<int> first;               // per output: first input index
  std::vector<std::vector<double>> w;   // per output: weights for first, first+1, ...
};

AxisWeights axis_weights(int in_size, int out_size) {
  AxisWeights aw;
  aw.first.resize(out_size);
  aw.w.resize(out_size);
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = 2.0 * filter_scale;  // the cubic kernel's support is 2
  for (int o = 0; o < out_size; ++o) {
    const double centre = (o + 0.5) * scale;  // pixel centres, not corners
    int lo = std::max(static_cast<int>(centre - support + 0.5), 0);
    int hi = std::min(static_cast<int>(centre + support + 0.5), in_size);
    std::vector<double>& w = aw.w[o];
    double total = 0;
    for (int i = lo; i < hi; ++i) {
      double v = keys_cubic((i - centre + 0.5) / filter_scale);
      w.push_back(v);
      total += v;
    }
    // Normalising keeps flat regions flat, including at the borders where taps are cut off.
    if (total != 0)
      for (double& v : w) v /= total;
    aw.first[o] = lo;
  }
  return aw;
}

uint8_t clamp_round(double v) {
  return static_cast<uint8_t>(std::lround(std::min(255.0, std::max(0.0, v))));
}

}  // namespace

Image resize_bicubic(const Image& img, int width, int height) {
  HC_CHECK(width > 0 && height > 0, "resize_bicubic: target size ", width, "x", height,
           " must be positive");
  HC_CHECK(img.width > 0 && img.height > 0 &&
               img.rgb.size() == static_cast<size_t>(img.width) * img.height * 3,
           "resize_bicubic: invalid source image ", img.width, "x", img.height);
  if (width == img.width && height == img.height) return img;

  // Separable: horizontal pass into an intermediate (out width x in height), then vertical. Like
  // PIL, the intermediate is rounded to 8 bits, so results match PIL's to within rounding.
  const AxisWeights hw = axis_weights(img.width, width);
  Image mid;
  mid.width = width;
  mid.height = img.height;
  mid.rgb.resize(static_cast<size_t>(width) * img.height * 3);
  for (int y = 0; y < img.height; ++y) {
    const uint8_t* src = &img.rgb[static_cast<size_t>(y) * img.width * 3];
    uint8_t* dst = &mid.rgb[static_cast<size_t>(y) * width * 3];
    for (int x = 0; x < width; ++x) {
      double acc[3] = {0, 0, 0};
      const std::vector<double>& w = hw.w[x];
      for (size_t k = 0; k < w.size(); ++k) {
        const uint8_t* p = src + static_cast<size_t>(hw.first[x] + k) * 3;
        for (int c = 0; c < 3; ++c) acc[c] += w[k] * p[c];
      }
      for (int c = 0; c < 3; ++c) dst[x * 3 + c] = clamp_round(acc[c]);
    }
  }

  const AxisWeights vw = axis_weights(img.height, height);
  Image out;
  out.width = width;
  out.height = height;
  out.rgb.resize(static_cast<size_t>(width) * height * 3);
  const size_t row = static_cast<size_t>(width) * 3;
  for (int y = 0; y < height; ++y) {
    const std::vector<double>& w = vw.w[y];
    uint8_t* dst = &out.rgb[y * row];
    for (size_t i = 0; i < row; ++i) {
      double acc = 0;
      for (size_t k = 0; k < w.size(); ++k) acc += w[k] * mid.rgb[(vw.first[y] + k) * row + i];
      dst[i] = clamp_round(acc);
    }
  }
  return out;
}

namespace {

// Copies the rectangle [left, left+w) x [top, top+h), which must lie inside the image.
Image crop(const Image& img, int left, int top, int w, int h) {
  Image out;
  out.width = w;
  out.height = h;
  out.rgb.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    std::memcpy(&out.rgb[static_cast<size_t>(y) * w * 3],
                &img.rgb[(static_cast<size_t>(top + y) * img.width + left) * 3],
                static_cast<size_t>(w) * 3);
  return out;
}

// Python's round(): halves go to the even neighbour (the default floating-point rounding mode).
int py_round(double v) { return static_cast<int>(std::nearbyint(v)); }

}  // namespace

Image resize_center_crop(const Image& img, int size) {
  HC_CHECK(size > 0, "resize_center_crop: size ", size, " must be positive");
  HC_CHECK(img.width > 0 && img.height > 0, "resize_center_crop: empty image");
  // torchvision's Resize(size): the shorter side becomes `size`, the longer one is scaled and
  // truncated to an integer.
  int w, h;
  if (img.width <= img.height) {
    w = size;
    h = std::max(size, static_cast<int>(static_cast<int64_t>(size) * img.height / img.width));
  } else {
    h = size;
    w = std::max(size, static_cast<int>(static_cast<int64_t>(size) * img.width / img.height));
  }
  Image resized = resize_bicubic(img, w, h);
  // torchvision's CenterCrop offsets.
  int top = py_round((h - size) / 2.0), left = py_round((w - size) / 2.0);
  return crop(resized, left, top, size, size);
}

CropBox random_resized_crop_box(int width, int height, Generator& g, double scale_min, double scale_max) {
  HC_CHECK(width > 0 && height > 0, "random_resized_crop: empty image");
  HC_CHECK(0 < scale_min && scale_min <= scale_max && scale_max <= 1.0,
           "random_resized_crop: scale range [", scale_min, ", ", scale_max, "] is invalid");
  const double ratio_lo = 3.0 / 4.0, ratio_hi = 4.0 / 3.0;
  const double area = static_cast<double>(width) * height;
  const double log_lo = std::log(ratio_lo), log_hi = std::log(ratio_hi);
  // torchvision's RandomResizedCrop.get_params: up to 10 tries at a random area and log-uniform
  // aspect ratio; a try whose box does not fit the image is discarded.
  for (int attempt = 0; attempt < 10; ++attempt) {
    double target_area = area * (scale_min + (scale_max - scale_min) * g.uniform());
    double aspect = std::exp(log_lo + (log_hi - log_lo) * g.uniform());
    int w = py_round(std::sqrt(target_area * aspect));
    int h = py_round(std::sqrt(target_area / aspect));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      // randint over [0, H-h] and [0, W-w], inclusive.
      int top = std::min(static_cast<int>(g.uniform() * (height - h + 1)), height - h);
      int left = std::min(static_cast<int>(g.uniform() * (width - w + 1)), width - w);
      return {left, top, w, h};
    }
  }
  // Fallback: the whole image, cropped centrally to the nearest allowed aspect ratio.
  int w = width, h = height;
  double in_ratio = static_cast<double>(w) / h;
  if (in_ratio < ratio_lo) {
    h = std::max(1, std::min(height, py_round(w / ratio_lo)));
  } else if (in_ratio > ratio_hi) {
    w = std::max(1, std::min(width, py_round(h * ratio_hi)));
  }
  return {(width - w) / 2, (height - h) / 2, w, h};
}

Image apply_augment(const Image& img, const AugmentParams& a, int size, const std::string& name) {
  HC_CHECK(size > 0, "apply_augment: size ", size, " must be positive");
  const CropBox& b = a.box;
  HC_CHECK(b.width > 0 && b.height > 0 && b.left >= 0 && b.top >= 0 && b.left <= img.width - b.width &&
               b.top <= img.height - b.height,
           name, ": crop box (left ", b.left, ", top ", b.top, ", ", b.width, "x", b.height, ") does not lie inside the ",
           img.width, "x", img.height, " image");
  Image out = resize_bicubic(crop(img, b.left, b.top, b.width, b.height), size, size);
  return a.flip ? hflip(out) : out;
}

Image random_resized_crop(const Image& img, int size, Generator& g, double scale_min,
                          double scale_max) {
  HC_CHECK(size > 0, "random_resized_crop: size ", size, " must be positive");
  AugmentParams a;
  a.box = random_resized_crop_box(img.width, img.height, g, scale_min, scale_max);
  return apply_augment(img, a, size);
}

Image hflip(const Image& img) {
  Image out = img;
  for (int y = 0; y < img.height; ++y) {
    const uint8_t* src = &img.rgb[static_cast<size_t>(y) * img.width * 3];
    uint8_t* dst = &out.rgb[static_cast<size_t>(y) * img.width * 3];
    for (int x = 0; x < img.width; ++x)
      std::memcpy(dst + static_cast<size_t>(img.width - 1 - x) * 3, src + static_cast<size_t>(x) * 3, 3);
  }
  return out;
}

Tensor images_to_tensor(const std::vector<Image>& images) {
  HC_CHECK(!images.empty(), "images_to_tensor: no images");
  const int w = images[0].width, h = images[0].height;
  for (size_t i = 0; i < images.size(); ++i) {
    HC_CHECK(images[i].width == w && images[i].height == h, "images_to_tensor: image ", i, " is ",
             images[i].width, "x", images[i].height, ", image 0 is ", w, "x", h,
             " (all images of a batch must have the same size)");
    HC_CHECK(images[i].rgb.size() == static_cast<size_t>(w) * h * 3,
             "images_to_tensor: image ", i, " has ", images[i].rgb.size(), " bytes, expected ",
             static_cast<size_t>(w) * h * 3);
  }
  const int64_t n = static_cast<int64_t>(images.size());
  Tensor t = Tensor::empty({n, 3, h, w});
  float* out = t.data<float>();
  const size_t plane = static_cast<size_t>(w) * h;
  // Precomputed per channel and byte value: the table avoids a divide per pixel.
  float lut[3][256];
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v) lut[c][v] = (v / 255.0f - kImageMean[c]) / kImageStd[c];
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* src = images[i].rgb.data();
    float* dst = out + static_cast<size_t>(i) * 3 * plane;
    // HWC bytes to CHW floats.
    for (size_t p = 0; p < plane; ++p)
      for (int c = 0; c < 3; ++c) dst[c * plane + p] = lut[c][src[p * 3 + c]];
  }
  return t;
}

}  // namespace hc
