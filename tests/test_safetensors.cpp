// safetensors: round trip, atomic writes, and clear errors for damaged files.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

#include "data/safetensors.h"

using namespace hc;

static std::string temp_path(const std::string& name) {
  return "/tmp/hyperclip_test_" + std::to_string(::getpid()) + "_" + name;
}

TEST_CASE("safetensors: round trip of every dtype, metadata kept") {
  std::string path = temp_path("roundtrip.safetensors");
  Tensor a = Tensor::from_vector({1.5, -2, 3.25, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_vector({1e-300, 2}, {2}, DType::F64);
  Tensor c = Tensor::from_ints({7, -8, 9}, {3});
  Tensor s = Tensor::scalar(2.5);
  write_safetensors(path, {{"a", a}, {"b", b}, {"c", c}, {"scalar", s}}, {{"format", "test"}});
  SafeTensors st = read_safetensors(path);
  REQUIRE(st.tensors.size() == 4);
  CHECK(st.tensors[0].first == "a");  // file order
  CHECK(st.get("a").shape() == Shape{2, 3});
  CHECK(st.get("a").to_vector() == a.to_vector());
  CHECK(st.get("b").dtype() == DType::F64);
  CHECK(st.get("b").to_vector() == b.to_vector());
  CHECK(st.get("c").to_ints() == std::vector<int32_t>{7, -8, 9});
  CHECK(st.get("scalar").dim() == 0);
  CHECK(st.metadata.at("format") == "test");
  CHECK_THROWS_WITH_AS(st.get("missing"), doctest::Contains("no tensor named 'missing'"), Error);
  std::remove(path.c_str());
}

TEST_CASE("safetensors: truncated, corrupt and missing files are clear errors") {
  std::string path = temp_path("damaged.safetensors");
  write_safetensors(path, {{"w", Tensor::ones({64})}});
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto write = [&](const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  };
  write(bytes.substr(0, bytes.size() - 10));
  CHECK_THROWS_WITH_AS(read_safetensors(path), doctest::Contains("truncated"), Error);
  write(bytes.substr(0, 5));
  CHECK_THROWS_WITH_AS(read_safetensors(path), doctest::Contains("too short"), Error);
  std::string bad = bytes;
  bad[9] = '#';  // inside the JSON header
  write(bad);
  CHECK_THROWS_WITH_AS(read_safetensors(path), doctest::Contains("not valid JSON"), Error);
  std::string huge = bytes;
  huge[7] = 0x7f;  // header length far beyond the file
  write(huge);
  CHECK_THROWS_WITH_AS(read_safetensors(path), doctest::Contains("runs past the end"), Error);
  std::remove(path.c_str());
  CHECK_THROWS_WITH_AS(read_safetensors(path), doctest::Contains(path.c_str()), Error);
}

TEST_CASE("safetensors: a failed write leaves the old file intact") {
  std::string path = temp_path("atomic.safetensors");
  write_safetensors(path, {{"w", Tensor::full({4}, 3.0)}});
  // The target directory does not exist: the write fails and names the path.
  CHECK_THROWS_AS(write_safetensors("/nonexistent_dir_hyperclip/x.safetensors", {{"w", Tensor::ones({1})}}), Error);
  // Overwrite with new content: readers see either the old or the new file, never a mix.
  write_safetensors(path, {{"w", Tensor::full({4}, 5.0)}});
  CHECK(read_safetensors(path).get("w").to_vector() == std::vector<double>{5, 5, 5, 5});
  CHECK(access((path + ".tmp." + std::to_string(::getpid())).c_str(), F_OK) != 0);  // no temp left
  std::remove(path.c_str());
}
