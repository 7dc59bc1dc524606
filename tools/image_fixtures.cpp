// Writes the image decoding fixtures of tests/data/images (issue 24) and their reference decodes.
//   image_fixtures write DIR    JPEGs (libjpeg-turbo's encoder) and PNGs (libpng's writer) of every
//                               kind the decoder must handle, from one 37x29 test pattern
//   image_fixtures decode DIR   every .jpg/.png in DIR through hc::decode_image, as NAME.ppm beside it
// The committed .ppm files were made by `decode` at the last commit that decoded with stb_image
// 2.27 (Debian bookworm's libstb-dev), so tests/test_image_decoders.cpp can check that libpng gives
// the same pixels and libjpeg-turbo pixels within a stated tolerance of what training used before.
// Build: g++ -std=c++17 -O2 -I. tools/image_fixtures.cpp build/libhyperclip.a -ljpeg -lpng -lz -fopenmp
#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <jpeglib.h>  // after <cstdio>: it needs FILE and size_t

#include "data/file_read.h"
#include "data/image.h"

namespace {

constexpr int kW = 37, kH = 29;  // odd sizes: partial JPEG MCUs and PNG interlace passes

// Smooth gradients, a hard diagonal edge, fine stripes and a little deterministic noise: the
// features that show differences in IDCT, upsampling and colour conversion.
uint8_t pattern(int x, int y, int c) {
  double v = 40 + 3.0 * x + 2.5 * y + 60 * c;
  if (x + y > 40) v = 230 - 4.0 * y + 20 * c;
  if (x > 25 && (y / 2) % 2 == 0) v = 20 + 90 * c;
  uint32_t h = static_cast<uint32_t>(x * 73856093u ^ y * 19349663u ^ c * 83492791u);
  v += static_cast<double>(h % 13) - 6;
  return static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
}

void write_jpeg(const std::string& path, int components, J_COLOR_SPACE in_space, J_COLOR_SPACE file_space,
                int h_samp, int v_samp, bool progressive, int restart_rows, int quality = 90) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  FILE* f = std::fopen(path.c_str(), "wb");
  jpeg_stdio_dest(&c, f);
  c.image_width = kW;
  c.image_height = kH;
  c.input_components = components;
  c.in_color_space = in_space;
  jpeg_set_defaults(&c);
  jpeg_set_colorspace(&c, file_space);
  jpeg_set_quality(&c, quality, TRUE);
  if (components >= 3) {
    c.comp_info[0].h_samp_factor = h_samp;
    c.comp_info[0].v_samp_factor = v_samp;
    for (int k = 1; k < c.num_components; ++k) c.comp_info[k].h_samp_factor = c.comp_info[k].v_samp_factor = 1;
  }
  if (progressive) jpeg_simple_progression(&c);
  c.restart_in_rows = restart_rows;
  jpeg_start_compress(&c, TRUE);
  std::vector<uint8_t> row(static_cast<size_t>(kW) * components);
  while (c.next_scanline < c.image_height) {
    int y = static_cast<int>(c.next_scanline);
    for (int x = 0; x < kW; ++x)
      for (int k = 0; k < components; ++k) row[static_cast<size_t>(x) * components + k] = pattern(x, y, k);
    JSAMPROW r = row.data();
    jpeg_write_scanlines(&c, &r, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::fclose(f);
}

// color_type and bit_depth as PNG names them; samples are scaled from the 8-bit pattern.
void write_png(const std::string& path, int color_type, int bit_depth, bool interlaced, bool with_trns = false,
               bool with_gamma = false) {
  FILE* f = std::fopen(path.c_str(), "wb");
  png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(p);
  png_init_io(p, f);
  png_set_IHDR(p, info, kW, kH, bit_depth, color_type, interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  const int levels = (1 << std::min(bit_depth, 8)) - 1;
  if (color_type == PNG_COLOR_TYPE_PALETTE) {
    std::vector<png_color> pal(static_cast<size_t>(levels) + 1);
    for (int i = 0; i <= levels; ++i)
      pal[i] = {static_cast<png_byte>(i * 255 / levels), static_cast<png_byte>(255 - i * 255 / levels),
                static_cast<png_byte>((i * 97) & 255)};
    png_set_PLTE(p, info, pal.data(), levels + 1);
    if (with_trns) {
      std::vector<png_byte> alpha(static_cast<size_t>(levels) + 1);
      for (int i = 0; i <= levels; ++i) alpha[i] = static_cast<png_byte>(i * 37);
      png_set_tRNS(p, info, alpha.data(), levels + 1, nullptr);
    }
  } else if (with_trns) {
    png_color_16 t{};
    t.red = t.green = t.blue = t.gray = static_cast<png_uint_16>(levels / 2);
    png_set_tRNS(p, info, nullptr, 0, &t);
  }
  if (with_gamma) png_set_gAMA(p, info, 0.8);  // a decoder that applied it would change every pixel
  png_write_info(p, info);
  if (bit_depth == 16) png_set_swap(p);  // rows below are built little-endian
  const int channels = color_type == PNG_COLOR_TYPE_GRAY ? 1
                       : color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
                       : color_type == PNG_COLOR_TYPE_RGB ? 3
                       : color_type == PNG_COLOR_TYPE_RGB_ALPHA ? 4 : 1;
  std::vector<std::vector<uint8_t>> rows(kH);
  for (int y = 0; y < kH; ++y) {
    std::vector<uint8_t>& r = rows[y];
    if (bit_depth < 8) {
      r.assign((static_cast<size_t>(kW) * bit_depth + 7) / 8, 0);
      for (int x = 0; x < kW; ++x) {
        int v = pattern(x, y, 0) * levels / 255;
        int bit = x * bit_depth;
        r[bit / 8] |= static_cast<uint8_t>(v << (8 - bit_depth - bit % 8));
      }
    } else {
      for (int x = 0; x < kW; ++x)
        for (int k = 0; k < channels; ++k) {
          int v = pattern(x, y, k);
          if (color_type == PNG_COLOR_TYPE_PALETTE) v = v % (levels + 1);
          if (bit_depth == 16) {
            int wide = v * 257 + ((x * 31 + y * 7 + k) % 200);  // low byte not a copy of the high one
            wide = std::min(wide, 65535);
            r.push_back(static_cast<uint8_t>(wide & 255));
            r.push_back(static_cast<uint8_t>(wide >> 8));
          } else {
            r.push_back(static_cast<uint8_t>(v));
          }
        }
    }
  }
  std::vector<png_bytep> ptrs;
  for (auto& r : rows) ptrs.push_back(r.data());
  png_write_image(p, ptrs.data());
  png_write_end(p, nullptr);
  png_destroy_write_struct(&p, &info);
  std::fclose(f);
}

void write_all(const std::string& dir) {
  std::filesystem::create_directories(dir);
  auto d = [&](const char* name) { return dir + "/" + name; };
  write_jpeg(d("rgb_420.jpg"), 3, JCS_RGB, JCS_YCbCr, 2, 2, false, 0);
  write_jpeg(d("rgb_422.jpg"), 3, JCS_RGB, JCS_YCbCr, 2, 1, false, 0);
  write_jpeg(d("rgb_440.jpg"), 3, JCS_RGB, JCS_YCbCr, 1, 2, false, 0);
  write_jpeg(d("rgb_444.jpg"), 3, JCS_RGB, JCS_YCbCr, 1, 1, false, 0);
  write_jpeg(d("rgb_420_q50.jpg"), 3, JCS_RGB, JCS_YCbCr, 2, 2, false, 0, 50);
  write_jpeg(d("rgb_420_progressive.jpg"), 3, JCS_RGB, JCS_YCbCr, 2, 2, true, 0);
  write_jpeg(d("rgb_420_restart.jpg"), 3, JCS_RGB, JCS_YCbCr, 2, 2, false, 1);
  write_jpeg(d("grey.jpg"), 1, JCS_GRAYSCALE, JCS_GRAYSCALE, 1, 1, false, 0);
  write_jpeg(d("grey_progressive.jpg"), 1, JCS_GRAYSCALE, JCS_GRAYSCALE, 1, 1, true, 0);
  write_jpeg(d("cmyk.jpg"), 4, JCS_CMYK, JCS_CMYK, 1, 1, false, 0);
  write_jpeg(d("ycck.jpg"), 4, JCS_CMYK, JCS_YCCK, 1, 1, false, 0);
  write_png(d("rgb8.png"), PNG_COLOR_TYPE_RGB, 8, false);
  write_png(d("rgb8_interlaced.png"), PNG_COLOR_TYPE_RGB, 8, true);
  write_png(d("rgb8_gamma_trns.png"), PNG_COLOR_TYPE_RGB, 8, false, true, true);
  write_png(d("rgba8.png"), PNG_COLOR_TYPE_RGB_ALPHA, 8, false);
  write_png(d("rgb16.png"), PNG_COLOR_TYPE_RGB, 16, false);
  write_png(d("rgba16_interlaced.png"), PNG_COLOR_TYPE_RGB_ALPHA, 16, true);
  write_png(d("grey8.png"), PNG_COLOR_TYPE_GRAY, 8, false);
  write_png(d("grey8_trns.png"), PNG_COLOR_TYPE_GRAY, 8, false, true);
  write_png(d("grey16.png"), PNG_COLOR_TYPE_GRAY, 16, false);
  write_png(d("grey1.png"), PNG_COLOR_TYPE_GRAY, 1, false);
  write_png(d("grey2.png"), PNG_COLOR_TYPE_GRAY, 2, true);
  write_png(d("grey4.png"), PNG_COLOR_TYPE_GRAY, 4, false);
  write_png(d("grey_alpha8.png"), PNG_COLOR_TYPE_GRAY_ALPHA, 8, false);
  write_png(d("palette8.png"), PNG_COLOR_TYPE_PALETTE, 8, false);
  write_png(d("palette8_trns.png"), PNG_COLOR_TYPE_PALETTE, 8, true, true);
  write_png(d("palette4.png"), PNG_COLOR_TYPE_PALETTE, 4, false);
  write_png(d("palette1.png"), PNG_COLOR_TYPE_PALETTE, 1, false);
}

void decode_all(const std::string& dir) {
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string name = e.path().string();
    if (!hc::is_image_name(name)) continue;
    hc::Image img = hc::decode_image(hc::read_file_bytes(name), name);
    std::string out = e.path().parent_path() / (e.path().filename().string() + ".ppm");
    FILE* f = std::fopen(out.c_str(), "wb");
    std::fprintf(f, "P6\n%d %d\n255\n", img.width, img.height);
    std::fwrite(img.rgb.data(), 1, img.rgb.size(), f);
    std::fclose(f);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "write") && std::strcmp(argv[1], "decode"))) {
    std::fprintf(stderr, "usage: image_fixtures write|decode DIR\n");
    return 2;
  }
  if (!std::strcmp(argv[1], "write")) write_all(argv[2]);
  else decode_all(argv[2]);
  return 0;
}
