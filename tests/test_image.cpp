// Images: decoding (PNG written by the test), errors naming the file, bicubic resize with
// antialiasing, crops, flips and normalisation into a tensor.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "data/image.h"
#include "tests/data_test_util.h"

using namespace hc;
using namespace hc_test;

TEST_CASE("image: PNG decode round trip is exact; grey and alpha become RGB") {
  TempDir dir("image_roundtrip");
  Image img = pattern_image(7, 5);
  write_file(dir / "rgb.png", encode_png(img));
  Image back = load_image(dir / "rgb.png");
  CHECK(back.width == 7);
  CHECK(back.height == 5);
  CHECK(back.rgb == img.rgb);

  // Grey is replicated to the three channels.
  std::vector<uint8_t> grey = {0, 50, 100, 150, 200, 250};
  Image g = decode_image(encode_png(3, 2, 1, grey), "grey.png");
  REQUIRE(g.rgb.size() == 18);
  for (int i = 0; i < 6; ++i)
    for (int c = 0; c < 3; ++c) CHECK(g.rgb[i * 3 + c] == grey[i]);

  // Alpha is dropped, colour kept.
  std::vector<uint8_t> rgba = {10, 20, 30, 0, 40, 50, 60, 255};
  Image a = decode_image(encode_png(2, 1, 4, rgba), "alpha.png");
  CHECK(a.rgb == std::vector<uint8_t>{10, 20, 30, 40, 50, 60});
}

// A minimal baseline JPEG, built here: one 8-bit grey component, w x h <= 8 x 8 (a single block),
// every pixel `value`. Only the DC coefficient is non-zero, so with a quantiser of 1 it is 8 *
// (value - 128); each Huffman table holds one symbol (code "0"): the DC's bit-length category and
// the AC end-of-block.
static std::vector<uint8_t> solid_grey_jpeg(int w, int h, int value) {
  int dc = 8 * (value - 128);
  int category = 0;
  for (int a = dc < 0 ? -dc : dc; a > 0; a >>= 1) ++category;
  std::vector<uint8_t> j = {0xFF, 0xD8};
  auto segment = [&](uint8_t marker, std::vector<uint8_t> body) {
    j.insert(j.end(), {0xFF, marker, static_cast<uint8_t>((body.size() + 2) >> 8),
                       static_cast<uint8_t>(body.size() + 2)});
    j.insert(j.end(), body.begin(), body.end());
  };
  std::vector<uint8_t> dqt = {0x00};
  dqt.insert(dqt.end(), 64, 1);
  segment(0xDB, dqt);
  segment(0xC0, {8, 0, static_cast<uint8_t>(h), 0, static_cast<uint8_t>(w), 1, 1, 0x11, 0});
  auto dht = [&](uint8_t table_class, uint8_t symbol) {
    std::vector<uint8_t> body = {table_class, 1};  // one code of length 1
    body.insert(body.end(), 15, 0);
    body.push_back(symbol);
    segment(0xC4, body);
  };
  dht(0x00, static_cast<uint8_t>(category));
  dht(0x10, 0x00);
  segment(0xDA, {1, 1, 0x00, 0, 63, 0});
  // Entropy-coded bits: DC code, DC magnitude bits (negative values in ones' complement), EOB.
  std::vector<int> bits = {0};
  int magnitude = dc < 0 ? dc - 1 : dc;
  for (int b = category - 1; b >= 0; --b) bits.push_back((magnitude >> b) & 1);
  bits.push_back(0);
  while (bits.size() % 8) bits.push_back(1);  // pad with ones
  for (size_t i = 0; i < bits.size(); i += 8) {
    uint8_t byte = 0;
    for (int k = 0; k < 8; ++k) byte = static_cast<uint8_t>(byte << 1 | bits[i + k]);
    j.push_back(byte);
    if (byte == 0xFF) j.push_back(0x00);  // byte stuffing
  }
  j.insert(j.end(), {0xFF, 0xD9});
  return j;
}

TEST_CASE("image: JPEG decode of a solid grey image") {
  for (int value : {200, 37, 128}) {
    CAPTURE(value);
    Image img = decode_image(solid_grey_jpeg(5, 3, value), "grey.jpg");
    CHECK(img.width == 5);
    CHECK(img.height == 3);
    REQUIRE(img.rgb.size() == 45);
    for (uint8_t v : img.rgb) CHECK(std::abs(v - value) <= 1);
  }
  // Cut before the scan: a decode error naming the file.
  std::vector<uint8_t> cut = solid_grey_jpeg(8, 8, 99);
  cut.resize(30);
  CHECK_THROWS_WITH_AS(decode_image(cut, "cut.jpg"), doctest::Contains("cut.jpg"), Error);
}

TEST_CASE("image: corrupt, truncated, empty and missing files are errors naming the file") {
  TempDir dir("image_errors");
  std::string junk = dir / "junk.jpg";
  write_file(junk, std::string("this is not an image at all"));
  CHECK_THROWS_WITH_AS(load_image(junk), doctest::Contains(junk.c_str()), Error);
  CHECK_THROWS_WITH_AS(load_image(junk), doctest::Contains("not a PNG or JPEG image"), Error);

  std::vector<uint8_t> png = encode_png(pattern_image(16, 16));
  std::string cut = dir / "cut.png";
  write_file(cut, std::vector<uint8_t>(png.begin(), png.begin() + 40));
  CHECK_THROWS_WITH_AS(load_image(cut), doctest::Contains(cut.c_str()), Error);

  std::string empty = dir / "empty.png";
  write_file(empty, std::string());
  CHECK_THROWS_WITH_AS(load_image(empty), doctest::Contains(empty.c_str()), Error);

  std::string missing = dir / "missing.png";
  CHECK_THROWS_WITH_AS(load_image(missing), doctest::Contains(missing.c_str()), Error);
  CHECK_THROWS_WITH_AS(load_image(missing), doctest::Contains("cannot open"), Error);

  CHECK_THROWS_WITH_AS(decode_image({1, 2, 3}, "mem/x.png"), doctest::Contains("mem/x.png"), Error);
}

TEST_CASE("image: bicubic resize keeps a constant image constant, up and down") {
  Image img = solid_image(13, 9, 200, 17, 90);
  for (auto [w, h] : {std::pair{5, 4}, std::pair{26, 18}, std::pair{13, 3}, std::pair{1, 1},
                      std::pair{40, 7}}) {
    Image r = resize_bicubic(img, w, h);
    CHECK(r.width == w);
    CHECK(r.height == h);
    bool all_same = true;
    for (int i = 0; i < w * h; ++i)
      all_same = all_same && r.rgb[i * 3] == 200 && r.rgb[i * 3 + 1] == 17 && r.rgb[i * 3 + 2] == 90;
    CHECK_MESSAGE(all_same, "resize to ", w, "x", h);
  }
  CHECK_THROWS_AS(resize_bicubic(img, 0, 4), Error);
}

TEST_CASE("image: downscaling a one-pixel checkerboard is antialiased to grey") {
  // A checkerboard of single pixels is above the Nyquist limit of any smaller image: point
  // sampling aliases it (to black, white or stripes); an antialiased filter averages it to grey.
  Image board;
  board.width = board.height = 32;
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x)
      for (int c = 0; c < 3; ++c) board.rgb.push_back(((x + y) & 1) ? 255 : 0);
  for (int out : {16, 8, 11}) {
    Image r = resize_bicubic(board, out, out);
    // Away from the borders (where the cut-off kernel is lopsided) every pixel is mid grey.
    for (int y = 2; y < out - 2; ++y)
      for (int x = 2; x < out - 2; ++x) {
        int v = r.rgb[(y * out + x) * 3];
        CHECK_MESSAGE(std::abs(v - 128) <= 12, "size ", out, " pixel ", x, ",", y, " = ", v);
      }
  }
}

TEST_CASE("image: bicubic upscaling interpolates between samples and hits the Keys weights") {
  // Two pixels 0 and 255 on a row, scaled to 4: the output centres fall at input positions
  // -0.25, 0.25, 0.75, 1.25 (clamped at the borders by normalisation), so the values rise
  // monotonically and stay inside [0, 255].
  Image img;
  img.width = 2;
  img.height = 1;
  img.rgb = {0, 0, 0, 255, 255, 255};
  Image r = resize_bicubic(img, 4, 1);
  REQUIRE(r.rgb.size() == 12);
  for (int x = 0; x + 1 < 4; ++x) CHECK(r.rgb[x * 3] <= r.rgb[(x + 1) * 3]);
  // Output 1 has its centre at input position 0.25: taps at distances 0.25 and 0.75 from the two
  // pixels, Keys weights 0.8672 and 0.2266; taps beyond the border are dropped and the remaining
  // weights renormalised.
  double w0 = 0.8671875, w1 = 0.2265625;
  CHECK(std::abs(r.rgb[3] - 255 * w1 / (w0 + w1)) <= 1.0);
}

TEST_CASE("image: resize_center_crop gives size x size from the centre") {
  Image wide = pattern_image(40, 20);
  Image c = resize_center_crop(wide, 16);
  CHECK(c.width == 16);
  CHECK(c.height == 16);
  Image tall = pattern_image(10, 33);
  Image d = resize_center_crop(tall, 10);  // no resize needed: a pure centre crop
  CHECK(d.width == 10);
  CHECK(d.height == 10);
  // Rows 11..20 of the original (offset round((33 - 10) / 2) = 12 with Python's half-to-even: 11.5 -> 12).
  for (int x = 0; x < 10; ++x) CHECK(d.rgb[x * 3] == tall.rgb[(12 * 10 + x) * 3]);
  Image solid = resize_center_crop(solid_image(30, 50, 9, 99, 199), 7);
  for (int i = 0; i < 49; ++i) CHECK(solid.rgb[i * 3 + 1] == 99);
}

TEST_CASE("image: random_resized_crop is deterministic for a seed and of the right size") {
  Image img = pattern_image(64, 48);
  Generator g1(7), g2(7), g3(8);
  Image a = random_resized_crop(img, 24, g1);
  Image b = random_resized_crop(img, 24, g2);
  Image c = random_resized_crop(img, 24, g3);
  CHECK(a.width == 24);
  CHECK(a.height == 24);
  CHECK(a.rgb == b.rgb);
  CHECK(a.rgb != c.rgb);
  // Many draws never fail, whatever the image's aspect ratio (a very thin image uses the fallback).
  Image thin = pattern_image(200, 3);
  for (int i = 0; i < 20; ++i) {
    Image r = random_resized_crop(thin, 8, g1, 0.5, 1.0);
    CHECK(r.width == 8);
    CHECK(r.height == 8);
  }
  // Full-area scale on a square image: the crop is the whole image.
  Image sq = pattern_image(20, 20);
  Image full = random_resized_crop(sq, 20, g1, 1.0, 1.0);
  int tries = 0;
  while (full.rgb != sq.rgb && tries++ < 50) full = random_resized_crop(sq, 20, g1, 1.0, 1.0);
  CHECK(full.rgb == sq.rgb);
}

TEST_CASE("image: hflip mirrors each row") {
  Image img = pattern_image(5, 3);
  Image f = hflip(img);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 5; ++x)
      for (int c = 0; c < 3; ++c)
        CHECK(f.rgb[(y * 5 + x) * 3 + c] == img.rgb[(y * 5 + (4 - x)) * 3 + c]);
  CHECK(hflip(f).rgb == img.rgb);
}

TEST_CASE("image: images_to_tensor normalises into [N, 3, H, W]") {
  Image a = pattern_image(4, 3, 0), b = pattern_image(4, 3, 5);
  Tensor t = images_to_tensor({a, b});
  CHECK(t.shape() == Shape{2, 3, 3, 4});
  CHECK(t.dtype() == DType::F32);
  std::vector<double> v = t.to_vector();
  const Image* imgs[2] = {&a, &b};
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 4; ++x) {
          double px = imgs[n]->rgb[(y * 4 + x) * 3 + c];
          double want = (px / 255.0 - kImageMean[c]) / kImageStd[c];
          CHECK(v[((n * 3 + c) * 3 + y) * 4 + x] == doctest::Approx(want).epsilon(1e-5));
        }
  CHECK_THROWS_WITH_AS(images_to_tensor({a, pattern_image(3, 3)}), doctest::Contains("same size"),
                       Error);
}
