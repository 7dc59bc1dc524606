// Image decode throughput (issue 24): every .jpg/.jpeg/.png under DIR is read into memory first
// (file reading is not timed), then decoded by hc::decode_image, the function every dataset calls,
// with each thread taking every T-th file; images/s in total and per thread, as one JSON line.
// The checksum (sum of all decoded bytes) lets two decoders' outputs be compared at a glance;
// --dump FILE writes every decoded image (width, height as two uint32, then RGB bytes) in file
// order, and --compare FILE decodes again and reports how far each byte is from that dump (how
// the switch from stb_image to libjpeg-turbo / libpng was measured: dump with one build, compare
// with the other).
//   build/bench_decode --dir DIR [--threads T] [--repeat R] [--dump FILE | --compare FILE]
// Used on the CIFAR-10 JPEGs (60 000 images of 32x32, 4:2:0): tar xzf cifar10-jpeg.tar.gz -C /tmp.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "data/file_read.h"
#include "data/image.h"

using namespace hc;
using Clock = std::chrono::steady_clock;

static void put_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }

// Writes the decoded images to `dump`, or compares them with the images in `compare`: the largest
// and mean absolute difference per byte and the share of bytes that differ, as one JSON line.
static int dump_or_compare(const std::vector<std::string>& paths, const std::vector<std::vector<uint8_t>>& files,
                           const std::string& dump, const std::string& compare) {
  std::string ref;
  if (!compare.empty()) {
    std::vector<uint8_t> r = read_file_bytes(compare);
    ref.assign(r.begin(), r.end());
  }
  std::string out;
  size_t at = 0, differing = 0, total = 0, max_file = 0;
  uint64_t abs_sum = 0;
  int max_diff = 0;
  std::vector<uint64_t> histogram(256, 0);
  for (size_t i = 0; i < files.size(); ++i) {
    Image img = decode_image(files[i], paths[i]);
    if (!dump.empty()) {
      put_u32(out, static_cast<uint32_t>(img.width));
      put_u32(out, static_cast<uint32_t>(img.height));
      out.append(img.rgb.begin(), img.rgb.end());
      continue;
    }
    uint32_t w = 0, h = 0;
    if (at + 8 > ref.size()) {
      std::fprintf(stderr, "bench_decode: %s ends before %s\n", compare.c_str(), paths[i].c_str());
      return 1;
    }
    std::memcpy(&w, ref.data() + at, 4);
    std::memcpy(&h, ref.data() + at + 4, 4);
    at += 8;
    if (w != static_cast<uint32_t>(img.width) || h != static_cast<uint32_t>(img.height) ||
        at + img.rgb.size() > ref.size()) {
      std::fprintf(stderr, "bench_decode: %s: size %dx%d differs from the dump's %ux%u\n", paths[i].c_str(),
                   img.width, img.height, w, h);
      return 1;
    }
    for (size_t k = 0; k < img.rgb.size(); ++k) {
      int d = std::abs(static_cast<int>(img.rgb[k]) - static_cast<uint8_t>(ref[at + k]));
      ++histogram[d];
      abs_sum += d;
      differing += d != 0;
      if (d > max_diff) max_diff = d, max_file = i;
    }
    total += img.rgb.size();
    at += img.rgb.size();
  }
  if (!dump.empty()) {
    FILE* f = std::fopen(dump.c_str(), "wb");
    if (!f || std::fwrite(out.data(), 1, out.size(), f) != out.size() || std::fclose(f) != 0) {
      std::fprintf(stderr, "bench_decode: cannot write %s\n", dump.c_str());
      return 1;
    }
    return 0;
  }
  std::string hist;
  for (int d = 0; d <= max_diff; ++d) hist += (d ? ", " : "") + std::to_string(histogram[d]);
  std::printf("{\"compare\": \"%s\", \"bytes\": %zu, \"max_abs_diff\": %d, \"max_diff_file\": \"%s\", "
              "\"mean_abs_diff\": %.5f, \"share_differing\": %.5f, \"histogram_by_abs_diff\": [%s]}\n",
              compare.c_str(), total, max_diff, paths[max_file].c_str(), static_cast<double>(abs_sum) / total,
              static_cast<double>(differing) / total, hist.c_str());
  return 0;
}

int main(int argc, char** argv) {
  std::string dir, dump, compare;
  int threads = 1, repeat = 1;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 < argc && !std::strcmp(argv[i], "--dir")) dir = argv[++i];
    else if (i + 1 < argc && !std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[++i]);
    else if (i + 1 < argc && !std::strcmp(argv[i], "--repeat")) repeat = std::atoi(argv[++i]);
    else if (i + 1 < argc && !std::strcmp(argv[i], "--dump")) dump = argv[++i];
    else if (i + 1 < argc && !std::strcmp(argv[i], "--compare")) compare = argv[++i];
    else dir.clear(), i = argc;
  }
  if (dir.empty() || threads < 1 || repeat < 1) {
    std::fprintf(stderr, "usage: bench_decode --dir DIR [--threads T] [--repeat R] [--dump FILE | --compare FILE]\n");
    return 2;
  }
  std::vector<std::string> paths;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file() && is_image_name(e.path().filename().string())) paths.push_back(e.path().string());
  std::sort(paths.begin(), paths.end());
  if (paths.empty()) {
    std::fprintf(stderr, "bench_decode: no images under %s\n", dir.c_str());
    return 2;
  }
  std::vector<std::vector<uint8_t>> files;
  size_t bytes = 0;
  for (const std::string& p : paths) {
    files.push_back(read_file_bytes(p));
    bytes += files.back().size();
  }

  std::atomic<uint64_t> checksum{0}, pixels{0};
  std::atomic<int> failures{0};
  auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      uint64_t sum = 0, px = 0;
      for (int r = 0; r < repeat; ++r)
        for (size_t i = static_cast<size_t>(t); i < files.size(); i += static_cast<size_t>(threads)) {
          try {
            Image img = decode_image(files[i], paths[i]);
            for (uint8_t v : img.rgb) sum += v;
            px += static_cast<uint64_t>(img.width) * img.height;
          } catch (const std::exception&) {
            ++failures;
          }
        }
      checksum += sum;
      pixels += px;
    });
  }
  for (auto& th : pool) th.join();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  double images = static_cast<double>(files.size()) * repeat;
  std::printf("{\"bench\": \"decode\", \"decoder\": \"%s\", \"dir\": \"%s\", \"files\": %zu, \"bytes\": %zu, "
              "\"repeat\": %d, \"threads\": %d, \"seconds\": %.3f, \"images_per_s\": %.0f, "
              "\"images_per_s_per_thread\": %.0f, \"megapixels_per_s\": %.2f, \"failures\": %d, "
              "\"checksum\": %llu}\n",
              image_decoder_versions().c_str(), dir.c_str(), files.size(), bytes, repeat, threads, secs,
              images / secs, images / secs / threads, pixels.load() / secs / 1e6, failures.load(),
              static_cast<unsigned long long>(checksum.load()));
  if (failures.load()) return 1;
  if (!dump.empty() || !compare.empty()) return dump_or_compare(paths, files, dump, compare);
  return 0;
}
