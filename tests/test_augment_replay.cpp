// Augmentation replay (reinforced training, SPEC 2.2): the stored parameters of a random draw
// re-applied give the random path's view bit for bit, in the image functions and in the loader.
#include <doctest/doctest.h>

#include "data/loader.h"

using namespace hc;

namespace {

// A width×height image whose pixels vary with position, channel and `salt`.
Image patterned(int width, int height, int salt) {
  Image img;
  img.width = width;
  img.height = height;
  img.rgb.resize(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        img.rgb[(static_cast<size_t>(y) * width + x) * 3 + c] = static_cast<uint8_t>((x * 37 + y * 11 + c * 71 + salt * 29) % 256);
  return img;
}

// n non-square caption samples with distinct pixels.
class PatternDataset : public Dataset {
 public:
  explicit PatternDataset(size_t n) : n_(n) {}
  size_t size() const override { return n_; }
  Sample get(size_t i) const override {
    Sample s;
    s.image = patterned(20, 14, static_cast<int>(i));
    s.caption = "caption " + std::to_string(i);
    s.source = "pattern#" + std::to_string(i);
    return s;
  }
  const std::vector<std::string>& class_names() const override { return none_; }
  std::string describe() const override { return "pattern"; }

 private:
  size_t n_;
  std::vector<std::string> none_;
};

std::vector<Batch> epoch_batches(Loader& l, int64_t epoch) {
  std::vector<Batch> out;
  l.start(epoch);
  Batch b;
  while (l.next(b)) out.push_back(std::move(b));
  return out;
}

}  // namespace

TEST_CASE("augment replay: the box random_resized_crop draws, re-applied, is its view exactly") {
  for (auto [w, h] : {std::pair<int, int>{64, 48}, {20, 20}, {200, 3}, {3, 90}}) {  // thin ones take the fallback
    Image img = patterned(w, h, w + h);
    for (uint64_t seed = 0; seed < 20; ++seed) {
      Generator g1(seed), g2(seed);
      Image random = random_resized_crop(img, 16, g1, 0.5, 1.0);
      AugmentParams a;
      a.box = random_resized_crop_box(w, h, g2, 0.5, 1.0);
      CHECK(a.box.left >= 0);
      CHECK(a.box.top >= 0);
      CHECK(a.box.left + a.box.width <= w);
      CHECK(a.box.top + a.box.height <= h);
      Image replayed = apply_augment(img, a, 16);
      CHECK(replayed.width == 16);
      CHECK(replayed.rgb == random.rgb);
      CHECK(g1.next_u64() == g2.next_u64());  // the same number of draws
    }
  }
}

TEST_CASE("augment replay: the flip mirrors the resized crop; a box outside the image names the source") {
  Image img = patterned(30, 20, 1);
  AugmentParams a;
  a.box = {3, 2, 17, 15};
  Image plain = apply_augment(img, a, 12);
  a.flip = true;
  CHECK(apply_augment(img, a, 12).rgb == hflip(plain).rgb);
  // None: the centre square, which for a square image is resize_center_crop's view.
  Generator g(0);
  Image square = patterned(24, 24, 2);
  AugmentParams none = draw_augment(24, 24, Augment::None, 0.5, g);
  CHECK(apply_augment(square, none, 10).rgb == resize_center_crop(square, 10).rgb);
  AugmentParams wide = draw_augment(30, 20, Augment::None, 0.5, g);
  CHECK(wide.box.left == 5);
  CHECK(wide.box.width == 20);
  CHECK_FALSE(wide.flip);
  for (CropBox bad : {CropBox{14, 0, 17, 10}, CropBox{0, 6, 10, 15}, CropBox{-1, 0, 5, 5}, CropBox{0, 0, 0, 5}}) {
    a.box = bad;
    try {
      apply_augment(img, a, 12, "photos/cat.png");
      FAIL("a box outside the image was accepted");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("photos/cat.png: crop box") == 0);
    }
  }
}

TEST_CASE("augment replay: a loader replaying the draws of the random path gives its batches bit for bit") {
  PatternDataset data(24);
  LoaderOptions lo;
  lo.batch = 8;
  lo.image_size = 12;
  lo.seed = 5;
  lo.augment = Augment::CropFlip;
  lo.crop_scale_min = 0.5;
  lo.workers = 2;
  Loader random(data, lo);
  // The replayed parameters: the random path's own draws from each sample's stream.
  LoaderOptions lr = lo;
  lr.augment = Augment::None;  // ignored when replaying
  lr.replay = [&](int64_t epoch, size_t idx) {
    Generator g(mix_seed(lo.seed, static_cast<uint64_t>(epoch), idx));
    return draw_augment(20, 14, Augment::CropFlip, lo.crop_scale_min, g);
  };
  Loader replay(data, lr);
  int flips = 0;
  for (int64_t epoch : {0, 3}) {
    std::vector<Batch> a = epoch_batches(random, epoch), b = epoch_batches(replay, epoch);
    REQUIRE(a.size() == 3);
    REQUIRE(b.size() == a.size());
    for (size_t k = 0; k < a.size(); ++k) {
      CHECK(a[k].images.to_vector() == b[k].images.to_vector());
      CHECK(a[k].captions == b[k].captions);
      CHECK(a[k].indices == b[k].indices);
      for (size_t i = 0; i < a[k].indices.size(); ++i) {
        CHECK(a[k].sources[i] == "pattern#" + std::to_string(a[k].indices[i]));
        Generator g(mix_seed(lo.seed, static_cast<uint64_t>(epoch), a[k].indices[i]));
        flips += draw_augment(20, 14, Augment::CropFlip, 0.5, g).flip;
      }
    }
  }
  CHECK(flips > 0);  // both flipped and unflipped views were compared
  CHECK(flips < 48);
}
