#include "data/safetensors.h"

#include "data/atomic_file.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

namespace hc {

using json = nlohmann::json;

bool SafeTensors::has(const std::string& name) const {
  for (auto& t : tensors)
    if (t.first == name) return true;
  return false;
}

const Tensor& SafeTensors::get(const std::string& name) const {
  for (auto& t : tensors)
    if (t.first == name) return t.second;
  throw Error(cat(path, ": no tensor named '", name, "'"));
}

float half_to_float(uint16_t h) {
  uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float v;
  if (exp == 0) v = std::ldexp(static_cast<float>(mant), -24);
  else if (exp == 31) v = mant ? NAN : INFINITY;
  else v = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  return sign ? -v : v;
}

static float bf16_to_float(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

SafeTensors read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  HC_CHECK(in, path, ": cannot open (", std::strerror(errno), ")");
  in.seekg(0, std::ios::end);
  uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  HC_CHECK(file_size >= 8, path, ": not a safetensors file (", file_size, " bytes, too short for a header)");
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  HC_CHECK(header_len <= file_size - 8, path, ": header length ", header_len,
           " runs past the end of the file (", file_size, " bytes): truncated or not safetensors");
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  json h;
  try {
    h = json::parse(header);
  } catch (const std::exception& e) {
    throw Error(cat(path, ": header is not valid JSON (", e.what(), ")"));
  }
  HC_CHECK(h.is_object(), path, ": header is not a JSON object");
  uint64_t data_start = 8 + header_len, data_size = file_size - data_start;

  SafeTensors st;
  st.path = path;
  struct Entry {
    std::string name, dtype;
    Shape shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (auto it = h.begin(); it != h.end(); ++it) {
    if (it.key() == "__metadata__") {
      HC_CHECK(it.value().is_object(), path, ": __metadata__ is not an object");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        HC_CHECK(m.value().is_string(), path, ": metadata '", m.key(), "' is not a string");
        st.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const json& t = it.value();
    HC_CHECK(t.is_object() && t.contains("dtype") && t.contains("shape") && t.contains("data_offsets"),
             path, ": tensor '", it.key(), "' lacks dtype, shape or data_offsets");
    Entry e;
    e.name = it.key();
    try {
      e.dtype = t["dtype"].get<std::string>();
      for (auto& d : t["shape"]) e.shape.push_back(d.get<int64_t>());
      e.begin = t["data_offsets"].at(0).get<uint64_t>();
      e.end = t["data_offsets"].at(1).get<uint64_t>();
    } catch (const std::exception& ex) {
      throw Error(cat(path, ": tensor '", it.key(), "' has a malformed entry (", ex.what(), ")"));
    }
    entries.push_back(e);
  }
  // File order, so that callers see tensors as written.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  for (const Entry& e : entries) {
    size_t esize;
    if (e.dtype == "F32" || e.dtype == "I32") esize = 4;
    else if (e.dtype == "F64") esize = 8;
    else if (e.dtype == "F16" || e.dtype == "BF16") esize = 2;
    else throw Error(cat(path, ": tensor '", e.name, "' has unsupported dtype ", e.dtype));
    for (int64_t d : e.shape) HC_CHECK(d >= 0, path, ": tensor '", e.name, "' has a negative dimension");
    uint64_t bytes = static_cast<uint64_t>(numel(e.shape)) * esize;
    HC_CHECK(e.begin <= e.end && e.end <= data_size, path, ": tensor '", e.name, "' lies at bytes [",
             e.begin, ", ", e.end, ") outside the data section of ", data_size,
             " bytes: the file is truncated or corrupt");
    HC_CHECK(e.end - e.begin == bytes, path, ": tensor '", e.name, "' holds ", e.end - e.begin,
             " bytes but shape ", shape_str(e.shape), " of ", e.dtype, " needs ", bytes);
    std::vector<char> raw(bytes);
    in.seekg(static_cast<std::streamoff>(data_start + e.begin));
    in.read(raw.data(), static_cast<std::streamsize>(bytes));
    HC_CHECK(static_cast<uint64_t>(in.gcount()) == bytes, path, ": short read of tensor '", e.name, "'");
    Tensor t;
    if (e.dtype == "F16" || e.dtype == "BF16") {
      t = Tensor::empty(e.shape, DType::F32);
      float* p = t.data<float>();
      for (int64_t i = 0; i < t.numel(); ++i) {
        uint16_t v;
        std::memcpy(&v, raw.data() + 2 * i, 2);
        p[i] = e.dtype == "F16" ? half_to_float(v) : bf16_to_float(v);
      }
    } else {
      DType dt = e.dtype == "F32" ? DType::F32 : e.dtype == "F64" ? DType::F64 : DType::I32;
      t = Tensor::empty(e.shape, dt);
      if (bytes) std::memcpy(t.raw_data(), raw.data(), bytes);
    }
    st.tensors.emplace_back(e.name, t);
  }
  return st;
}

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const uint32_t a = x & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00;  // NaN (quiet)
  // 65520 (0x477ff000) is halfway between 65504 and 2^16; ties go to the even neighbour, 2^16,
  // which half precision cannot hold: infinity from there up.
  if (a >= 0x477ff000u) return sign | 0x7c00;
  if (a < 0x38800000u) {
    // Below 2^-14, the smallest normal half: a subnormal, mantissa = round(|f| · 2^24). The
    // product is exact (a power of two) and below 1024; nearbyint rounds ties to even. 1024 is
    // the smallest normal's encoding, so rounding up into the normals comes out right.
    float v;
    std::memcpy(&v, &a, 4);
    return sign | static_cast<uint16_t>(std::nearbyint(v * 16777216.0f));
  }
  // Normal: rebias the exponent (127 -> 15), keep 10 of the 23 mantissa bits, round to nearest
  // even on the 13 dropped; a carry out of the mantissa correctly bumps the exponent.
  uint32_t h = ((a >> 23) - 127 + 15) << 10 | ((a >> 13) & 0x3ff);
  const uint32_t rest = a & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;
  return sign | static_cast<uint16_t>(h);
}

static const char* st_dtype(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I32: return "I32";
  }
  return "?";
}

// The writer behind write_safetensors and write_safetensors_f16.
static void write_tensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                          const std::map<std::string, std::string>& metadata, bool floats_as_f16) {
  auto as_f16 = [&](const Tensor& t) { return floats_as_f16 && t.dtype() != DType::I32; };
  // nlohmann's ordered_json keeps the header in the order given, so the file reads back in order.
  nlohmann::ordered_json h;
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (auto& [k, v] : metadata) m[k] = v;
    h["__metadata__"] = m;
  }
  uint64_t offset = 0;
  for (auto& [name, t] : tensors) {
    HC_CHECK(name != "__metadata__", "a tensor cannot be named __metadata__");
    HC_CHECK(!h.contains(name), path, ": duplicate tensor name '", name, "'");
    uint64_t bytes = static_cast<uint64_t>(t.numel()) * (as_f16(t) ? 2 : dtype_size(t.dtype()));
    h[name] = {{"dtype", as_f16(t) ? "F16" : st_dtype(t.dtype())}, {"shape", t.shape()},
               {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string header = h.dump();
  header.append((8 - header.size() % 8) % 8, ' ');  // keep the data 8-byte aligned

  AtomicFile out(path);
  unsigned char len_bytes[8];
  uint64_t len = header.size();
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(len >> (8 * i));
  out.write(len_bytes, 8);
  out.write(header);
  for (auto& [name, t] : tensors) {
    Tensor host = t.to(Device::CPU);
    if (as_f16(t)) {
      std::vector<double> values = host.to_vector();
      std::vector<uint16_t> half(values.size());
      for (size_t i = 0; i < values.size(); ++i) half[i] = float_to_half(static_cast<float>(values[i]));
      out.write(half.data(), half.size() * 2);
      continue;
    }
    out.write(host.raw_data(), static_cast<size_t>(host.numel()) * dtype_size(host.dtype()));
  }
  out.commit();
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_tensors(path, tensors, metadata, false);
}

void write_safetensors_f16(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                           const std::map<std::string, std::string>& metadata) {
  write_tensors(path, tensors, metadata, true);
}

}  // namespace hc
