#include "data/npy.h"

#include "data/atomic_file.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <unistd.h>

namespace hc {

void write_npy(const std::string& path, const Tensor& t) {
  HC_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::I32, path, ": .npy output supports float32 and int32, got ",
           t.desc());
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i) shape += std::to_string(t.shape()[i]) + (t.dim() == 1 ? "," : (i + 1 < t.shape().size() ? ", " : ""));
  shape += ")";
  std::string header = std::string("{'descr': '") + (t.dtype() == DType::F32 ? "<f4" : "<i4") +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Magic (6) + version (2) + length (2) + header + '\n', padded with spaces to a multiple of 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  AtomicFile out(path);
  out.write("\x93NUMPY\x01\x00", 8);
  uint16_t len = static_cast<uint16_t>(header.size());
  unsigned char lb[2] = {static_cast<unsigned char>(len & 0xff), static_cast<unsigned char>(len >> 8)};
  out.write(lb, 2);
  out.write(header);
  Tensor host = t.to(Device::CPU);
  out.write(host.raw_data(), static_cast<size_t>(host.numel()) * 4);
  out.commit();
}

Tensor read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  HC_CHECK(in, path, ": cannot open");
  char magic[10];
  in.read(magic, 10);
  HC_CHECK(in && std::memcmp(magic, "\x93NUMPY", 6) == 0 && magic[6] == 1, path, ": not a version-1 .npy file");
  size_t len = static_cast<unsigned char>(magic[8]) | (static_cast<unsigned char>(magic[9]) << 8);
  std::string header(len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(len));
  HC_CHECK(in, path, ": truncated header");
  DType dt;
  if (header.find("'<f4'") != std::string::npos) dt = DType::F32;
  else if (header.find("'<i4'") != std::string::npos) dt = DType::I32;
  else throw Error(cat(path, ": only little-endian float32 and int32 arrays are supported"));
  HC_CHECK(header.find("'fortran_order': False") != std::string::npos, path, ": Fortran-order arrays are not supported");
  size_t open = header.find("'shape': ("), close = header.find(')', open);
  HC_CHECK(open != std::string::npos && close != std::string::npos, path, ": no shape in the header");
  Shape shape;
  std::string dims = header.substr(open + 10, close - open - 10);
  size_t at = 0;
  while (at < dims.size()) {
    size_t comma = dims.find(',', at);
    std::string d = dims.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (d.find_first_not_of(' ') != std::string::npos) shape.push_back(std::stoll(d));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  Tensor t = Tensor::empty(shape, dt);
  in.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(t.numel() * 4));
  HC_CHECK(in.gcount() == t.numel() * 4, path, ": truncated data (", in.gcount(), " of ", t.numel() * 4, " bytes)");
  return t;
}

}  // namespace hc
