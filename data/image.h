// Images and their preprocessing: decoding (JPEG through libjpeg-turbo, PNG through libpng), bicubic antialiased
// resize, crops, flips, per-channel normalisation, and batching into an [N, 3, H, W] tensor.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"

namespace hc {

// RGB, 8 bits per channel, interleaved (HWC), row-major.
struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3
};

// Images larger than this are refused before any pixel memory is allocated (a hostile header can
// claim 65535 x 65535): 2^26 pixels, 8192 x 8192, 192 MB of RGB.
constexpr int64_t kMaxImagePixels = int64_t{1} << 26;
// Image files (and image members of tar shards) larger than this are refused before being read.
constexpr uint64_t kMaxImageFileBytes = uint64_t{256} << 20;

// Decodes PNG or JPEG (any channel count; grey and alpha are converted to RGB, CMYK as stb_image
// did). Damage of any kind, a truncated file included, is an hc::Error naming `name`
// ("photos/cat.jpg: cannot decode JPEG image (Premature end of JPEG file)").
Image decode_image(const std::vector<uint8_t>& bytes, const std::string& name,
                   int64_t max_pixels = kMaxImagePixels);
// Reads the file (which must be a regular file), then decode_image.
Image load_image(const std::string& path, int64_t max_pixels = kMaxImagePixels);
// True for the file names load_image is meant for: .png, .jpg, .jpeg, any case.
bool is_image_name(const std::string& name);
// The decoders' names and versions, for benchmarks and `hyperclip info`.
std::string image_decoder_versions();

// Bicubic resize (Keys a = -0.5, as PIL), antialiased when shrinking: the kernel is widened by
// the scale factor, as PIL's resize does.
Image resize_bicubic(const Image& img, int width, int height);
// Resizes the shorter side to `size` (keeping the aspect ratio), then crops the centre size×size.
Image resize_center_crop(const Image& img, int size);
// torchvision's RandomResizedCrop: area fraction in [scale_min, scale_max], aspect ratio in
// [3/4, 4/3] (log-uniform), up to 10 tries, then a centre crop fallback; resized to size×size.
// The same as apply_augment(img, {random_resized_crop_box(...), false}, size).
Image random_resized_crop(const Image& img, int size, Generator& g, double scale_min = 0.08,
                          double scale_max = 1.0);
Image hflip(const Image& img);

// A rectangle of a source image, in its pixels: columns [left, left+width), rows [top, top+height).
struct CropBox {
  int left = 0, top = 0, width = 0, height = 0;
};
// The parameters of one draw of the training augmentation: the crop box, then a horizontal flip
// of the resized crop. Reinforced datasets store them, so that training re-applies a view exactly.
struct AugmentParams {
  CropBox box;
  bool flip = false;
};
// The box random_resized_crop cuts from a width×height image, drawn from g exactly as it draws.
CropBox random_resized_crop_box(int width, int height, Generator& g, double scale_min = 0.08,
                                double scale_max = 1.0);
// Crops a.box (an error naming `name` unless it lies inside the image), resizes the crop to
// size×size (bicubic, antialiased) and flips it when a.flip: the view the parameters describe.
Image apply_augment(const Image& img, const AugmentParams& a, int size, const std::string& name = "image");

// CLIP's normalisation constants.
constexpr float kImageMean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
constexpr float kImageStd[3] = {0.26862954f, 0.26130258f, 0.27577711f};

// Writes images (all size×size) into a float32 [N, 3, size, size] tensor: (x/255 - mean)/std.
Tensor images_to_tensor(const std::vector<Image>& images);

}  // namespace hc
