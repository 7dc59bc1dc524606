// Image decoding through libjpeg-turbo and libpng (issue 24) gives the pixels stb_image 2.27 gave,
// so that training results do not drift: tests/data/images holds JPEGs and PNGs of every kind the
// decoders handle and, as NAME.ppm, what stb_image decoded from each (tools/image_fixtures.cpp).
// PNG must match bit for bit; JPEG within the rounding of the IDCT, chroma upsampling and colour
// conversion, which differ between the two decoders: at most 8 per byte (measured 7, at the right
// edge of an odd-width 4:2:2 image, where the last chroma sample is upsampled differently) and a
// mean difference of at most 0.25 per image (measured 0.003 to 0.19; 0.092 over the 60 000
// CIFAR-10 JPEGs, docs/untrusted-input.md). Decoding with the fast integer IDCT instead gives mean
// differences near 1, and without fancy upsampling bytes off by up to 94: both would fail here.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

#include "data/image.h"
#include "tests/data_test_util.h"

using namespace hc;
using namespace hc_test;

namespace {

// A binary PPM (P6, maxval 255) as written by tools/image_fixtures.cpp.
Image read_ppm(const std::string& path) {
  std::string bytes = read_file(path);
  std::istringstream in(bytes);
  std::string magic;
  int maxval = 0;
  Image img;
  in >> magic >> img.width >> img.height >> maxval;
  in.get();  // the single whitespace byte before the pixels
  REQUIRE(magic == "P6");
  REQUIRE(maxval == 255);
  const size_t n = static_cast<size_t>(img.width) * img.height * 3;
  REQUIRE(bytes.size() >= static_cast<size_t>(in.tellg()) + n);
  img.rgb.assign(bytes.begin() + in.tellg(), bytes.begin() + in.tellg() + static_cast<std::ptrdiff_t>(n));
  return img;
}

}  // namespace

TEST_CASE("image decoders: PNG bit for bit and JPEG within the stated rounding of stb_image's pixels") {
  int pngs = 0, jpegs = 0;
  double worst_mean = 0;
  int worst_max = 0;
  for (const auto& e : std::filesystem::directory_iterator("tests/data/images")) {
    const std::string path = e.path().string();
    if (!is_image_name(path)) continue;
    CAPTURE(path);
    const Image want = read_ppm(path + ".ppm");
    const Image got = load_image(path);
    REQUIRE(got.width == want.width);
    REQUIRE(got.height == want.height);
    REQUIRE(got.rgb.size() == want.rgb.size());
    if (e.path().extension() == ".png") {
      ++pngs;
      CHECK(got.rgb == want.rgb);
      continue;
    }
    ++jpegs;
    int max_diff = 0;
    double sum = 0;
    for (size_t i = 0; i < got.rgb.size(); ++i) {
      int d = std::abs(static_cast<int>(got.rgb[i]) - static_cast<int>(want.rgb[i]));
      max_diff = std::max(max_diff, d);
      sum += d;
    }
    const double mean = sum / static_cast<double>(got.rgb.size());
    CAPTURE(max_diff);
    CAPTURE(mean);
    CHECK(max_diff <= 8);
    CHECK(mean <= 0.25);
    worst_max = std::max(worst_max, max_diff);
    worst_mean = std::max(worst_mean, mean);
  }
  // Every kind: 4:2:0, 4:2:2, 4:4:0, 4:4:4, progressive, restart markers, grey, CMYK, YCCK; PNG
  // 1/2/4/8/16-bit grey, grey+alpha, RGB, RGBA, palettes with and without tRNS, interlaced, gAMA.
  CHECK(jpegs == 11);
  CHECK(pngs == 17);
  MESSAGE("JPEG against stb_image: largest byte difference ", worst_max, ", largest mean ", worst_mean);
}

TEST_CASE("image decoders: every decoder error names the image and says why") {
  const std::string file = read_file("tests/data/images/rgb_420.jpg");
  const std::vector<uint8_t> jpeg(file.begin(), file.end());
  REQUIRE(jpeg.size() > 100);
  // The whole file decodes; without its end it is truncated, not grey-filled.
  CHECK(decode_image(jpeg, "ok.jpg").width == 37);
  std::vector<uint8_t> cut(jpeg.begin(), jpeg.end() - 40);
  CHECK_THROWS_WITH_AS(decode_image(cut, "cut.jpg"), doctest::Contains("cut.jpg: cannot decode JPEG image (Premature end"),
                       Error);
  // A damaged entropy-coded segment: the library would fill in garbage; it is an error instead.
  std::vector<uint8_t> bad = jpeg;
  for (size_t i = bad.size() - 300; i < bad.size() - 200; ++i) bad[i] = 0xFF;
  CHECK_THROWS_WITH_AS(decode_image(bad, "bad.jpg"), doctest::Contains("bad.jpg: cannot decode JPEG image ("), Error);
  // A PNG whose data CRC is wrong.
  std::vector<uint8_t> png = encode_png(pattern_image(6, 5));
  png[png.size() - 20] ^= 0x55;
  CHECK_THROWS_WITH_AS(decode_image(png, "crc.png"), doctest::Contains("crc.png: cannot decode PNG image ("), Error);
  // The pixel limit is a parameter: the same image refused below its size.
  CHECK_THROWS_WITH_AS(decode_image(jpeg, "limit.jpg", 100), doctest::Contains("37x29 pixels, more than the limit of 100"),
                       Error);
  CHECK(image_decoder_versions().find("libjpeg-turbo") != std::string::npos);
}
