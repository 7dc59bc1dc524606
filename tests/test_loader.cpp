// The batch loader: order fixed by (seed, epoch) whatever the thread count, mid-epoch restarts,
// corrupt samples skipped and counted or fatal, captions for labelled data.
#include <doctest/doctest.h>

#include "data/loader.h"

using namespace hc;

namespace {

// n tiny images whose pixels hold their index; indices in `corrupt` fail to "decode".
class CountingDataset : public Dataset {
 public:
  CountingDataset(size_t n, std::vector<size_t> corrupt = {}, bool labelled = false)
      : n_(n), corrupt_(std::move(corrupt)) {
    if (labelled) names_ = {"cat", "dog", "fish"};
  }
  size_t size() const override { return n_; }
  Sample get(size_t i) const override {
    for (size_t c : corrupt_)
      if (c == i) throw Error("img" + std::to_string(i) + ".png: corrupt image");
    Sample s;
    s.image.width = s.image.height = 4;
    s.image.rgb.assign(4 * 4 * 3, static_cast<uint8_t>(i));
    if (names_.empty()) s.caption = "caption " + std::to_string(i);
    else s.label = static_cast<int>(i % 3);
    return s;
  }
  const std::vector<std::string>& class_names() const override { return names_; }
  std::string describe() const override { return "counting"; }

 private:
  size_t n_;
  std::vector<size_t> corrupt_;
  std::vector<std::string> names_;
};

std::vector<std::string> epoch_captions(Loader& l, int64_t epoch, int64_t first = 0) {
  std::vector<std::string> out;
  l.start(epoch, first);
  Batch b;
  while (l.next(b))
    for (auto& c : b.captions) out.push_back(c);
  return out;
}

}  // namespace

TEST_CASE("loader: the order depends on seed and epoch only, not on threads") {
  CountingDataset d(50);
  LoaderOptions o;
  o.batch = 8;
  o.image_size = 4;
  o.seed = 3;
  o.workers = 1;
  Loader one(d, o);
  o.workers = 4;
  o.prefetch = 2;
  Loader four(d, o);
  CHECK(one.batches_per_epoch() == 6);  // the partial batch is dropped
  std::vector<std::string> a = epoch_captions(one, 0), b = epoch_captions(four, 0);
  CHECK(a.size() == 48);
  CHECK(a == b);
  CHECK(epoch_captions(one, 1) != a);  // reshuffled each epoch
  // Restarting mid-epoch gives the rest of the same epoch.
  std::vector<std::string> rest = epoch_captions(four, 0, 2);
  CHECK(rest == std::vector<std::string>(a.begin() + 16, a.end()));
  o.seed = 4;
  Loader other(d, o);
  CHECK(epoch_captions(other, 0) != a);
}

TEST_CASE("loader: images are batched and normalised") {
  CountingDataset d(4);
  LoaderOptions o;
  o.batch = 4;
  o.image_size = 4;
  o.shuffle = false;
  Loader l(d, o);
  l.start(0);
  Batch b;
  REQUIRE(l.next(b));
  CHECK(b.images.shape() == Shape{4, 3, 4, 4});
  // Sample 2's pixels are all 2: (2/255 - mean) / std in every red value.
  CHECK(b.images.to_vector()[2 * 48] == doctest::Approx((2 / 255.0 - kImageMean[0]) / kImageStd[0]).epsilon(1e-6));
  CHECK_FALSE(l.next(b));
}

TEST_CASE("loader: corrupt samples are skipped and counted, or fail the run") {
  CountingDataset d(16, {3, 7});
  LoaderOptions o;
  o.batch = 8;
  o.image_size = 4;
  o.shuffle = false;
  Loader skip(d, o);
  skip.start(0);
  Batch b;
  REQUIRE(skip.next(b));
  CHECK(b.skipped == 2);
  CHECK(b.images.size(0) == 6);
  CHECK(b.captions.size() == 6);
  CHECK(b.skipped_sources[0].find("img3.png") != std::string::npos);
  o.skip_corrupt = false;
  Loader fail(d, o);
  fail.start(0);
  CHECK_THROWS_WITH_AS(fail.next(b), doctest::Contains("img3.png: corrupt image"), Error);
}

TEST_CASE("loader: labelled data gets captions from class names through the templates") {
  CountingDataset d(6, {}, true);
  LoaderOptions o;
  o.batch = 6;
  o.image_size = 4;
  o.shuffle = false;
  o.caption_templates = {"a photo of a {}.", "a {} again"};
  Loader l(d, o);
  l.start(0);
  Batch b;
  REQUIRE(l.next(b));
  for (size_t i = 0; i < 6; ++i) {
    std::string name = d.class_names()[i % 3];
    CHECK((b.captions[i] == "a photo of a " + name + "." || b.captions[i] == "a " + name + " again"));
    CHECK(b.labels[i] == static_cast<int>(i % 3));
  }
  CHECK_THROWS_AS(Loader(CountingDataset(3), o), Error);  // fewer samples than one batch
}
