// Helpers for the image and dataset tests and the fuzz seeds: a unique temp directory, file
// writing, a minimal PNG encoder (zlib's compress() for the IDAT stream, crc32() for the chunk
// checksums), tar members, IDX files and gzip. No doctest here: tests/fuzz/make_seeds.cpp uses it.
#pragma once
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>
#include <unistd.h>

#include "data/image.h"

namespace hc_test {

// A fresh directory /tmp/hyperclip_data_test_<pid>_<name>, removed with its contents at scope exit.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name) {
    path = "/tmp/hyperclip_data_test_" + std::to_string(::getpid()) + "_" + name;
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& rel) const { return (path / rel).string(); }
};

inline void write_file(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  write_file(path, std::string(bytes.begin(), bytes.end()));
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

// Encodes interleaved 8-bit pixels with 1 (grey), 3 (RGB) or 4 (RGBA) channels as a PNG.
inline std::vector<uint8_t> encode_png(int w, int h, int channels, const std::vector<uint8_t>& px) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  auto chunk = [&](const char* type, const std::vector<uint8_t>& data) {
    put_be32(png, static_cast<uint32_t>(data.size()));
    size_t start = png.size();
    png.insert(png.end(), type, type + 4);
    png.insert(png.end(), data.begin(), data.end());
    uLong crc = crc32(0L, png.data() + start, static_cast<uInt>(png.size() - start));
    put_be32(png, static_cast<uint32_t>(crc));
  };
  std::vector<uint8_t> ihdr;
  put_be32(ihdr, static_cast<uint32_t>(w));
  put_be32(ihdr, static_cast<uint32_t>(h));
  uint8_t colour_type = channels == 1 ? 0 : channels == 3 ? 2 : 6;
  ihdr.insert(ihdr.end(), {8, colour_type, 0, 0, 0});
  chunk("IHDR", ihdr);
  // Every scanline starts with filter type 0 (none).
  std::vector<uint8_t> raw;
  for (int y = 0; y < h; ++y) {
    raw.push_back(0);
    raw.insert(raw.end(), px.begin() + static_cast<size_t>(y) * w * channels,
               px.begin() + static_cast<size_t>(y + 1) * w * channels);
  }
  uLongf zlen = compressBound(static_cast<uLong>(raw.size()));
  std::vector<uint8_t> z(zlen);
  compress(z.data(), &zlen, raw.data(), static_cast<uLong>(raw.size()));
  z.resize(zlen);
  chunk("IDAT", z);
  chunk("IEND", {});
  return png;
}

inline std::vector<uint8_t> encode_png(const hc::Image& img) {
  return encode_png(img.width, img.height, 3, img.rgb);
}

// An image whose pixel (x, y) channel c is a distinct function of all three, seeded by `k`.
inline hc::Image pattern_image(int w, int h, int k = 0) {
  hc::Image img;
  img.width = w;
  img.height = h;
  img.rgb.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        img.rgb[(static_cast<size_t>(y) * w + x) * 3 + c] =
            static_cast<uint8_t>((x * 37 + y * 11 + c * 71 + k * 13) & 0xff);
  return img;
}

// ---- archive and binary dataset files, for the dataset tests and the fuzz seeds (tests/fuzz) --------

// One ustar member: a 512-byte header (with the "prefix" field used for names over 100 bytes)
// followed by the data padded to 512. type '0' is a file, 'x' a pax header, 'L' a GNU long name.
inline void tar_member(std::string& tar, const std::string& path, const std::string& data, char type = '0') {
  char h[512];
  std::memset(h, 0, sizeof h);
  std::string name = path, prefix;
  if (name.size() > 100) {
    size_t cut = name.rfind('/', 155);
    if (cut == std::string::npos) throw std::runtime_error("tar_member: name too long for ustar: " + path);
    prefix = name.substr(0, cut);
    name = name.substr(cut + 1);
  }
  std::memcpy(h, name.data(), name.size());
  std::snprintf(h + 100, 8, "%07o", 0644);
  std::snprintf(h + 108, 8, "%07o", 0);
  std::snprintf(h + 116, 8, "%07o", 0);
  std::snprintf(h + 124, 12, "%011o", static_cast<unsigned>(data.size()));
  std::snprintf(h + 136, 12, "%011o", 0);
  h[156] = type;
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memcpy(h + 345, prefix.data(), prefix.size());
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);  // six digits, NUL, then the space already there
  tar.append(h, 512);
  tar += data;
  tar.append((512 - data.size() % 512) % 512, '\0');
}

inline std::string tar_end() { return std::string(1024, '\0'); }

inline std::string png_string(const hc::Image& img) {
  std::vector<uint8_t> p = encode_png(img);
  return std::string(p.begin(), p.end());
}

// A big-endian IDX header followed by bytes.
inline std::string idx_file(uint32_t magic, const std::vector<uint32_t>& dims,
                     const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out;
  put_be32(out, magic);
  for (uint32_t d : dims) put_be32(out, d);
  out.insert(out.end(), data.begin(), data.end());
  return std::string(out.begin(), out.end());
}

inline void write_gz(const std::string& path, const std::string& bytes) {
  gzFile gz = gzopen(path.c_str(), "wb");
  if (!gz) throw std::runtime_error("write_gz: cannot write " + path);
  gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(gz);
}

inline hc::Image solid_image(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  hc::Image img;
  img.width = w;
  img.height = h;
  for (int i = 0; i < w * h; ++i) img.rgb.insert(img.rgb.end(), {r, g, b});
  return img;
}

}  // namespace hc_test
