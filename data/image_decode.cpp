// Image decoding: JPEG through libjpeg-turbo, PNG through libpng (Debian's libjpeg62-turbo and
// libpng16, both maintained and fuzzed upstream for hostile input; issue 24 replaced stb_image,
// whose bookworm version has an out-of-bounds write in its JPEG Huffman table builder).
//
// Both libraries report errors by calling a function that must not return; the C++ way (throwing)
// would unwind through C frames built without unwind tables, so they longjmp back instead. The
// functions that call setjmp (decode_jpeg_c, decode_png_c) hold no C++ object with a destructor:
// the output vectors belong to the caller, and the error text goes into a plain char buffer.
//
// Pixels are kept as stb_image 2.27 produced them (tests/test_image_decoders.cpp): PNG bit for bit
// (16-bit samples truncated to their high byte, alpha dropped, grey replicated, no gamma, tRNS
// ignored), JPEG within the rounding of the IDCT, upsampling and colour conversion (measured in
// docs/untrusted-input.md), CMYK and YCCK converted with stb's formula.
#include <csetjmp>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <new>

#include <jpeglib.h>
#include <jerror.h>  // after jpeglib.h: the JWRN_ message codes
#include <png.h>
#include <sys/stat.h>

#include "core/error.h"
#include "data/file_read.h"
#include "data/image.h"

namespace hc {

namespace {

constexpr size_t kWhyLength = 256;

// stb_image's 8-bit product with rounding, x * y / 255, for CMYK to RGB.
inline uint8_t mul255(uint8_t x, uint8_t y) {
  unsigned t = static_cast<unsigned>(x) * y + 128;
  return static_cast<uint8_t>((t + (t >> 8)) >> 8);
}

// ---- JPEG ---------------------------------------------------------------------------------------

struct JpegError {
  jpeg_error_mgr mgr;  // first, so that the library's pointer to it is a pointer to this
  jmp_buf jump;
  char why[kWhyLength];
};

[[noreturn]] void jpeg_fail(j_common_ptr cinfo) {
  JpegError* e = reinterpret_cast<JpegError*>(cinfo->err);
  char text[JMSG_LENGTH_MAX];
  cinfo->err->format_message(cinfo, text);
  std::snprintf(e->why, kWhyLength, "%s", text);
  std::longjmp(e->jump, 1);
}

// Warnings (level -1) about missing or corrupt entropy-coded data mean that the library would fill
// the rest of the image with grey or garbage: a silent wrong result, so they end the decode. The
// others (extraneous bytes between markers, an unknown JFIF revision, ...) leave the pixels intact.
void jpeg_message(j_common_ptr cinfo, int level) {
  if (level != -1) return;  // trace messages
  switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC:
      jpeg_fail(cinfo);
    default:
      ++cinfo->err->num_warnings;
  }
}

// One decompressor per thread, made once: creating one per image cost about a fifth of the time
// of a 32x32 image. Between images (and after an error) jpeg_abort_decompress returns it to idle,
// keeping only its permanent allocations.
struct JpegDecoder {
  jpeg_decompress_struct cinfo;
  JpegError err;
  JpegDecoder() {
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_fail;
    err.mgr.emit_message = jpeg_message;
    jpeg_create_decompress(&cinfo);
  }
  ~JpegDecoder() { jpeg_destroy_decompress(&cinfo); }
  JpegDecoder(const JpegDecoder&) = delete;
  JpegDecoder& operator=(const JpegDecoder&) = delete;
};

// Returns false with `why` set on any failure. rgb receives width * height * 3 bytes; row is scratch.
bool decode_jpeg_c(JpegDecoder& dec, const uint8_t* data, size_t size, int64_t max_pixels, std::vector<uint8_t>& rgb,
                   std::vector<uint8_t>& row, int* width, int* height, char* why) {
  jpeg_decompress_struct& cinfo = dec.cinfo;
  JpegError& err = dec.err;
  err.why[0] = '\0';
  err.mgr.num_warnings = 0;
  if (setjmp(err.jump)) {
    jpeg_abort_decompress(&cinfo);
    std::snprintf(why, kWhyLength, "%s", err.why);
    return false;
  }
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  const int64_t pixels = static_cast<int64_t>(cinfo.image_width) * cinfo.image_height;
  if (pixels > max_pixels) {
    std::snprintf(why, kWhyLength, "%ux%u pixels, more than the limit of %lld", cinfo.image_width,
                  cinfo.image_height, static_cast<long long>(max_pixels));
    jpeg_abort_decompress(&cinfo);
    return false;
  }
  // Huffman coding spends at least one bit on every 8x8 block of the first component, so a
  // complete file holds at least pixels / 512 bytes. A header that claims more is a truncated or
  // hostile file, refused before the library allocates the image (a progressive image's
  // coefficients are held whole: 100 bytes could otherwise ask for hundreds of MB).
  if (!cinfo.arith_code && pixels / 512 > static_cast<int64_t>(size)) {
    std::snprintf(why, kWhyLength, "%ux%u pixels cannot be coded in a file of %zu bytes (truncated)",
                  cinfo.image_width, cinfo.image_height, size);
    jpeg_abort_decompress(&cinfo);
    return false;
  }
  // Four components: CMYK, or YCCK when an Adobe marker says so, come out as CMYK and are turned
  // into RGB as stb_image did; without an Adobe marker stb read them as YCbCr and ignored the
  // fourth, which the library gives as 255 - R, 255 - G, 255 - B when told the file is YCCK.
  const bool four = cinfo.num_components == 4;
  const bool ycc_ignore_k = four && !cinfo.saw_Adobe_marker;
  if (ycc_ignore_k) cinfo.jpeg_color_space = JCS_YCCK;
  cinfo.out_color_space = four ? JCS_CMYK : JCS_RGB;
  // The library's defaults (accurate integer IDCT, fancy upsampling) come closest to stb_image: on
  // the 60 000 CIFAR-10 JPEGs no byte differs by more than 4 and the mean difference is 0.092; the
  // fast integer IDCT gives up to 7 (mean 1.05), the float IDCT up to 4 (mean 0.112), and without
  // fancy upsampling up to 94 (docs/untrusted-input.md). Block smoothing only changes images with
  // missing progressive scans, which stb did not smooth.
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.do_fancy_upsampling = TRUE;
  cinfo.do_block_smoothing = FALSE;
  jpeg_start_decompress(&cinfo);
  const size_t w = cinfo.output_width, h = cinfo.output_height;
  const size_t channels = static_cast<size_t>(cinfo.output_components);
  if (channels != (four ? 4u : 3u)) {
    std::snprintf(why, kWhyLength, "unexpected %zu output components", channels);
    jpeg_abort_decompress(&cinfo);
    return false;
  }
  try {
    rgb.resize(w * h * 3);
    if (four) row.resize(w * 4);
  } catch (const std::bad_alloc&) {
    std::snprintf(why, kWhyLength, "out of memory for %zux%zu pixels", w, h);
    jpeg_abort_decompress(&cinfo);
    return false;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    uint8_t* out = rgb.data() + static_cast<size_t>(cinfo.output_scanline) * w * 3;
    JSAMPROW target = four ? row.data() : out;
    if (jpeg_read_scanlines(&cinfo, &target, 1) != 1) {
      std::snprintf(why, kWhyLength, "no data for row %u", cinfo.output_scanline);
      jpeg_abort_decompress(&cinfo);
      return false;
    }
    if (four) {
      for (size_t x = 0; x < w; ++x) {
        const uint8_t* cmyk = &row[x * 4];
        for (int c = 0; c < 3; ++c)
          out[x * 3 + c] = ycc_ignore_k ? static_cast<uint8_t>(255 - cmyk[c]) : mul255(cmyk[c], cmyk[3]);
      }
    }
  }
  // Not jpeg_finish_decompress: what follows the last scan (trailing bytes, a missing EOI) does not
  // change the pixels, and stb_image did not look at it either.
  jpeg_abort_decompress(&cinfo);
  *width = static_cast<int>(w);
  *height = static_cast<int>(h);
  return true;
}

// ---- PNG ----------------------------------------------------------------------------------------

struct PngContext {
  const uint8_t* data;
  size_t size, at;
  char why[kWhyLength];
};

[[noreturn]] void png_fail(png_structp p, png_const_charp message) {
  PngContext* ctx = static_cast<PngContext*>(png_get_error_ptr(p));
  std::snprintf(ctx->why, kWhyLength, "%s", message);
  png_longjmp(p, 1);
}

void png_warning_ignored(png_structp, png_const_charp) {}

void png_read_memory(png_structp p, png_bytep out, png_size_t n) {
  PngContext* ctx = static_cast<PngContext*>(png_get_io_ptr(p));
  if (n > ctx->size - ctx->at) png_error(p, "unexpected end of file (truncated)");
  std::memcpy(out, ctx->data + ctx->at, n);
  ctx->at += n;
}

// libpng allocates and clears a chunk's declared length before reading its data: a 59-byte file
// declaring a 1.3 GB text chunk took 1.3 GB and 12 s (found by tests/fuzz/fuzz_image.cpp). With the
// whole file in memory, every chunk whose header is complete must lie inside it.
bool png_chunks_inside(const uint8_t* data, size_t size, char* why) {
  size_t at = 8;
  while (size - at >= 8) {
    const uint32_t length = (uint32_t{data[at]} << 24) | (uint32_t{data[at + 1]} << 16) |
                            (uint32_t{data[at + 2]} << 8) | data[at + 3];
    const char type[5] = {static_cast<char>(data[at + 4]), static_cast<char>(data[at + 5]),
                          static_cast<char>(data[at + 6]), static_cast<char>(data[at + 7]), 0};
    if (length > size - at - 8 || size - at - 8 - length < 4) {
      std::snprintf(why, kWhyLength, "chunk at offset %zu declares %u bytes, past the end of the %zu-byte file "
                    "(truncated)", at, length, size);
      return false;
    }
    at += 12 + static_cast<size_t>(length);
    if (std::memcmp(type, "IEND", 4) == 0) break;
  }
  return true;
}

bool decode_png_c(const uint8_t* data, size_t size, int64_t max_pixels, std::vector<uint8_t>& rgb,
                  int* width, int* height, char* why) {
  if (!png_chunks_inside(data, size, why)) return false;
  PngContext ctx{data, size, 0, {0}};
  png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, png_fail, png_warning_ignored);
  png_infop info = p ? png_create_info_struct(p) : nullptr;
  if (!info) {
    png_destroy_read_struct(&p, nullptr, nullptr);
    std::snprintf(why, kWhyLength, "out of memory");
    return false;
  }
  if (setjmp(png_jmpbuf(p))) {
    png_destroy_read_struct(&p, &info, nullptr);
    std::snprintf(why, kWhyLength, "%s", ctx.why);
    return false;
  }
  png_set_read_fn(p, &ctx, png_read_memory);
  // Ancillary chunks (text, ICC profiles) are capped at 8 MB each; the image itself by max_pixels.
  png_set_chunk_malloc_max(p, 8u << 20);
  png_read_info(p, info);
  png_uint_32 w = 0, h = 0;
  int depth = 0, colour = 0, interlace = 0;
  png_get_IHDR(p, info, &w, &h, &depth, &colour, &interlace, nullptr, nullptr);
  if (static_cast<int64_t>(w) * h > max_pixels) {
    std::snprintf(why, kWhyLength, "%ux%u pixels, more than the limit of %lld", w, h,
                  static_cast<long long>(max_pixels));
    png_destroy_read_struct(&p, &info, nullptr);
    return false;
  }
  // Deflate expands at most 1032 times and a pixel takes at least one bit: a complete file of
  // `size` bytes holds at most 8 x 1032 x size pixels.
  if (static_cast<int64_t>(w) * h / 8256 > static_cast<int64_t>(size)) {
    std::snprintf(why, kWhyLength, "%ux%u pixels cannot be coded in a file of %zu bytes (truncated)", w, h, size);
    png_destroy_read_struct(&p, &info, nullptr);
    return false;
  }
  if (colour == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(p);
  if (colour == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(p);
  if (depth == 16) png_set_strip_16(p);  // the high byte, as stb_image kept
  // Palette expansion turns a tRNS chunk into an alpha channel; that goes too.
  if ((colour & PNG_COLOR_MASK_ALPHA) || png_get_valid(p, info, PNG_INFO_tRNS)) png_set_strip_alpha(p);
  if (colour == PNG_COLOR_TYPE_GRAY || colour == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(p);
  const int passes = png_set_interlace_handling(p);
  png_read_update_info(p, info);
  if (png_get_rowbytes(p, info) != static_cast<size_t>(w) * 3) {
    std::snprintf(why, kWhyLength, "unexpected row size %zu for width %u", png_get_rowbytes(p, info), w);
    png_destroy_read_struct(&p, &info, nullptr);
    return false;
  }
  try {
    rgb.resize(static_cast<size_t>(w) * h * 3);
  } catch (const std::bad_alloc&) {
    std::snprintf(why, kWhyLength, "out of memory for %ux%u pixels", w, h);
    png_destroy_read_struct(&p, &info, nullptr);
    return false;
  }
  // Interlaced images: each pass fills in more of every row, in place.
  for (int pass = 0; pass < passes; ++pass)
    for (png_uint_32 y = 0; y < h; ++y) png_read_row(p, rgb.data() + static_cast<size_t>(y) * w * 3, nullptr);
  // Not png_read_end: chunks after the image data do not change the pixels.
  png_destroy_read_struct(&p, &info, nullptr);
  *width = static_cast<int>(w);
  *height = static_cast<int>(h);
  return true;
}

JpegDecoder& jpeg_decoder() {
  thread_local JpegDecoder dec;
  return dec;
}

}  // namespace

bool is_image_name(const std::string& name) {
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto ends_with = [&](const char* ext) {
    size_t n = std::strlen(ext);
    return lower.size() > n && lower.compare(lower.size() - n, n, ext) == 0;
  };
  return ends_with(".png") || ends_with(".jpg") || ends_with(".jpeg");
}

std::string image_decoder_versions() {
  const int v = LIBJPEG_TURBO_VERSION_NUMBER;  // 2001005 for 2.1.5
  return cat("libjpeg-turbo ", v / 1000000, ".", v / 1000 % 1000, ".", v % 1000, ", libpng ",
             png_get_libpng_ver(nullptr));
}

Image decode_image(const std::vector<uint8_t>& bytes, const std::string& name, int64_t max_pixels) {
  HC_CHECK(!bytes.empty(), name, ": empty image file");
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  const bool png = bytes.size() >= 8 && std::memcmp(bytes.data(), kPng, 8) == 0;
  const bool jpeg = bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
  HC_CHECK(png || jpeg, name, ": not a PNG or JPEG image (it starts with neither signature)");
  Image img;
  std::vector<uint8_t> scratch;
  char why[kWhyLength] = {0};
  bool ok = png ? decode_png_c(bytes.data(), bytes.size(), max_pixels, img.rgb, &img.width, &img.height, why)
                : decode_jpeg_c(jpeg_decoder(), bytes.data(), bytes.size(), max_pixels, img.rgb, scratch, &img.width, &img.height,
                                why);
  HC_CHECK(ok, name, ": cannot decode ", png ? "PNG" : "JPEG", " image (", why, ")");
  HC_CHECK(img.width > 0 && img.height > 0, name, ": image of ", img.width, "x", img.height, " pixels");
  return img;
}

Image load_image(const std::string& path, int64_t max_pixels) {
  return decode_image(read_file_bytes(path, "image file", kMaxImageFileBytes), path, max_pixels);
}

}  // namespace hc
