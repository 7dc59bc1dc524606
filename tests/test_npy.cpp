// .npy files for embeddings.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "data/npy.h"

using namespace hc;

TEST_CASE("npy: round trip of float32 and int32 arrays; a clear error for a bad file") {
  std::string path = "/tmp/hyperclip_npy_test_" + std::to_string(::getpid()) + ".npy";
  Tensor f = Tensor::from_vector({1.5, -2, 3, 4, 5, 6}, {2, 3});
  write_npy(path, f);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(bytes.substr(0, 6) == "\x93NUMPY");
  CHECK((bytes.size() - 24) % 64 == 0);  // header padded to 64 bytes, then 6 floats
  CHECK(bytes.find("'shape': (2, 3)") != std::string::npos);
  Tensor g = read_npy(path);
  CHECK(g.shape() == Shape{2, 3});
  CHECK(g.to_vector() == f.to_vector());
  write_npy(path, Tensor::from_ints({7, 8, 9}, {3}));
  Tensor h = read_npy(path);
  CHECK(h.dtype() == DType::I32);
  CHECK(h.shape() == Shape{3});
  CHECK(h.to_ints() == std::vector<int32_t>{7, 8, 9});
  std::ofstream(path) << "nope";
  CHECK_THROWS_WITH_AS(read_npy(path), doctest::Contains("not a version-1 .npy file"), Error);
  CHECK_THROWS_AS(write_npy(path, Tensor::zeros({2}, DType::F64)), Error);
  std::remove(path.c_str());
}
