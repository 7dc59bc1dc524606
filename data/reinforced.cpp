// Reinforced datasets: the sample list of a base dataset, the index, the shards and the in-memory
// dataset for training (data/reinforced.h; the format: docs/reinforced.md).
#include "data/reinforced.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "core/hash.h"
#include "data/atomic_file.h"
#include "data/dataset_readers.h"
#include "data/file_read.h"
#include "data/loader.h"
#include "data/safetensors.h"
#include "infer/templates.h"

namespace hc {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

// ---- the base dataset --------------------------------------------------------------------------

ReinforcedSamples reinforced_samples(const Dataset& base, const std::vector<std::string>& templates) {
  ReinforcedSamples s;
  std::map<std::string, uint32_t> caption_ids;
  auto intern = [&](const std::string& c) {
    auto [it, added] = caption_ids.emplace(c, static_cast<uint32_t>(s.captions.size()));
    if (added) s.captions.push_back(c);
    return it->second;
  };
  const size_t rows = base.size();
  HC_CHECK(rows > 0, base.describe(), ": no samples to reinforce");
  HC_CHECK(rows < static_cast<size_t>(kMaxReinforcedSamples), base.describe(), ": more than ",
           kMaxReinforcedSamples, " samples");
  if (base.labelled()) {
    HC_CHECK(!templates.empty(), base.describe(), ": a labelled dataset needs templates to caption its samples");
    const std::vector<std::string>& names = base.class_names();
    // Every row is its own image; its captions are the templates filled with its class name. The
    // label needs the sample itself (no dataset reports it without decoding).
    std::vector<std::vector<uint32_t>> class_captions(names.size());
    s.caption_offset.push_back(0);
    for (size_t i = 0; i < rows; ++i) {
      Sample smp = base.get(i);
      HC_CHECK(smp.label >= 0 && static_cast<size_t>(smp.label) < names.size(), smp.source, ": label ", smp.label,
               " is not one of the ", names.size(), " classes");
      std::vector<uint32_t>& ids = class_captions[smp.label];
      if (ids.empty())
        for (const std::string& t : templates) ids.push_back(intern(fill_template(t, names[smp.label])));
      s.base_row.push_back(i);
      s.source.push_back(smp.source);
      s.caption_id.insert(s.caption_id.end(), ids.begin(), ids.end());
      s.caption_offset.push_back(static_cast<uint32_t>(s.caption_id.size()));
    }
    return s;
  }
  // Caption data: rows grouped by source, in order of first appearance.
  std::map<std::string, size_t> sample_of;
  std::vector<std::vector<uint32_t>> ids;
  for (size_t i = 0; i < rows; ++i) {
    std::string src = base.source(i);
    auto [it, added] = sample_of.emplace(src, s.base_row.size());
    if (added) {
      s.base_row.push_back(i);
      s.source.push_back(src);
      ids.emplace_back();
    }
    ids[it->second].push_back(intern(base.caption(i)));
  }
  s.caption_offset.push_back(0);
  for (const std::vector<uint32_t>& v : ids) {
    s.caption_id.insert(s.caption_id.end(), v.begin(), v.end());
    s.caption_offset.push_back(static_cast<uint32_t>(s.caption_id.size()));
  }
  return s;
}

std::string base_identity(const Dataset& base, const std::vector<std::string>& templates) {
  Fnv1a64 h;
  h.add(std::string("hyperclip-reinforced-base-v1"));
  h.add_u64(base.size());
  h.add_u64(base.labelled() ? 1 : 0);
  if (base.labelled()) {
    h.add_u64(base.class_names().size());
    for (const std::string& n : base.class_names()) h.add(n);
    h.add_u64(templates.size());
    for (const std::string& t : templates) h.add(t);
  } else {
    for (size_t i = 0; i < base.size(); ++i) h.add(base.caption(i));
  }
  return h.hex();
}

ReinforcedDraw reinforced_draw(const ReinforcedSamples& samples, int64_t augmentations, uint64_t seed, int64_t epoch,
                               size_t sample) {
  const uint64_t stream = mix_seed(seed, static_cast<uint64_t>(epoch), sample);
  const uint32_t C = samples.caption_count(sample);
  ReinforcedDraw d;
  Generator g(stream);  // the loader's stream: its first draw picks a labelled sample's template
  uint32_t real = static_cast<uint32_t>(g.next_u64() % C);
  Generator v(mix_seed(stream, 0x51E3));
  d.view = static_cast<int64_t>(v.next_u64() % static_cast<uint64_t>(augmentations));
  Generator x(mix_seed(stream, 0xE7A));
  uint32_t extra = C > 1 ? (real + 1 + static_cast<uint32_t>(x.next_u64() % (C - 1))) % C : real;
  d.real = samples.caption(sample, real);
  d.extra = samples.caption(sample, extra);
  return d;
}

// ---- JSON files ------------------------------------------------------------------------------------

namespace {

// A file's bytes, refused beyond `limit` before any is read.
std::string read_bounded(const std::string& path, uint64_t limit) {
  struct stat st;
  HC_CHECK(::stat(path.c_str(), &st) == 0, path, ": cannot open (missing: is this a reinforced dataset folder?)");
  HC_CHECK(S_ISREG(st.st_mode), path, ": not a regular file");
  HC_CHECK(static_cast<uint64_t>(st.st_size) <= limit, path, ": ", st.st_size, " bytes, more than the ", limit,
           " this file may have");
  return read_file_text(path, "reinforced dataset file", limit);
}

json parse_json(const std::string& path, uint64_t limit) {
  std::string text = read_bounded(path, limit);
  try {
    return json::parse(text);
  } catch (const std::exception& e) {
    throw Error(cat(path, ": not valid JSON (", e.what(), "): truncated or damaged"));
  }
}

void write_json_atomically(const std::string& path, const ojson& j) {
  AtomicFile out(path);
  out.write(j.dump(1) + "\n");
  out.commit();
}

// Typed field access with errors that name the file and the field.
template <class T>
T field(const json& j, const char* name, const std::string& path) {
  HC_CHECK(j.is_object() && j.contains(name), path, ": missing field '", name, "'");
  try {
    return j.at(name).get<T>();
  } catch (const std::exception& e) {
    throw Error(cat(path, ": field '", name, "' has the wrong type (", e.what(), ")"));
  }
}

int64_t bounded(const json& j, const char* name, const std::string& path, int64_t lo, int64_t hi) {
  int64_t v = field<int64_t>(j, name, path);
  HC_CHECK(v >= lo && v <= hi, path, ": field '", name, "' is ", v, ", outside [", lo, ", ", hi, "]");
  return v;
}

ojson shards_json(const std::vector<ReinforcedShard>& shards) {
  ojson a = ojson::array();
  for (const ReinforcedShard& s : shards) a.push_back({{"file", s.file}, {"first", s.first}, {"count", s.count}});
  return a;
}

std::vector<ReinforcedShard> shards_from(const json& j, const char* name, const std::string& path) {
  HC_CHECK(j.contains(name) && j.at(name).is_array(), path, ": '", name, "' must be an array");
  std::vector<ReinforcedShard> out;
  for (const json& s : j.at(name)) {
    ReinforcedShard r;
    r.file = field<std::string>(s, "file", path);
    r.first = bounded(s, "first", path, 0, kMaxReinforcedSamples);
    r.count = bounded(s, "count", path, 1, kMaxReinforcedSamples);
    out.push_back(r);
  }
  return out;
}

}  // namespace

std::vector<int64_t> ReinforcedIndex::teacher_dims() const {
  std::vector<int64_t> d;
  for (const ReinforcedTeacher& t : teachers) d.push_back(t.embed);
  return d;
}

std::vector<ReinforcedShard> plan_shards(const std::string& prefix, int64_t n, int64_t shard_size) {
  HC_CHECK(shard_size > 0, "shard size must be positive");
  std::vector<ReinforcedShard> out;
  for (int64_t first = 0; first < n; first += shard_size) {
    char name[64];
    std::snprintf(name, sizeof name, "%s-%05lld.safetensors", prefix.c_str(), (long long)(first / shard_size));
    out.push_back({name, first, std::min(shard_size, n - first)});
  }
  return out;
}

void write_reinforced_index(const std::string& dir, const ReinforcedIndex& x) {
  ojson teachers = ojson::array();
  for (const ReinforcedTeacher& t : x.teachers)
    teachers.push_back({{"checkpoint", t.checkpoint}, {"file_hash", t.file_hash}, {"step", t.step},
                        {"embed", t.embed}, {"image_size", t.image_size}, {"mode", t.mode},
                        {"hyper_set", t.hyper_set}, {"config", ojson::parse(t.config_json)}});
  ojson j = {{"format", ReinforcedIndex::kFormat},
             {"version", ReinforcedIndex::kVersion},
             {"complete", x.complete},
             {"base", {{"data", x.base_data}, {"describe", x.base_describe}, {"identity", x.identity},
                       {"rows", x.base_rows}, {"labelled", x.labelled}, {"templates", x.templates}}},
             {"samples", x.samples},
             {"captions", x.captions},
             {"augmentation", {{"kind", x.augment}, {"crop_scale_min", x.crop_scale_min},
                               {"count", x.augmentations}, {"seed", x.seed}}},
             {"teachers", teachers},
             {"dim", x.dim},
             {"shard_size", x.shard_size},
             {"image_shards", shards_json(x.image_shards)},
             {"text_shards", shards_json(x.text_shards)}};
  write_json_atomically(dir + "/index.json", j);
}

ReinforcedIndex read_reinforced_index(const std::string& dir) {
  const std::string path = dir + "/index.json";
  json j = parse_json(path, 64ull << 20);
  HC_CHECK(j.is_object(), path, ": not a JSON object");
  std::string format = field<std::string>(j, "format", path);
  HC_CHECK(format == ReinforcedIndex::kFormat, path, ": format '", format, "', expected '",
           ReinforcedIndex::kFormat, "'");
  int64_t version = field<int64_t>(j, "version", path);
  HC_CHECK(version == ReinforcedIndex::kVersion, path, ": format version ", version, "; this build reads version ",
           ReinforcedIndex::kVersion);
  ReinforcedIndex x;
  x.complete = field<bool>(j, "complete", path);
  HC_CHECK(j.contains("base") && j["base"].is_object(), path, ": missing object 'base'");
  const json& b = j["base"];
  x.base_data = field<std::string>(b, "data", path);
  x.base_describe = field<std::string>(b, "describe", path);
  x.identity = field<std::string>(b, "identity", path);
  x.base_rows = bounded(b, "rows", path, 1, kMaxReinforcedSamples);
  x.labelled = field<bool>(b, "labelled", path);
  x.templates = field<std::vector<std::string>>(b, "templates", path);
  HC_CHECK(!x.labelled || !x.templates.empty(), path, ": a labelled base dataset without templates");
  x.samples = bounded(j, "samples", path, 1, x.base_rows);
  x.captions = bounded(j, "captions", path, 1, kMaxReinforcedSamples);
  HC_CHECK(j.contains("augmentation") && j["augmentation"].is_object(), path, ": missing object 'augmentation'");
  const json& a = j["augmentation"];
  x.augment = field<std::string>(a, "kind", path);
  HC_CHECK(x.augment == "none" || x.augment == "crop" || x.augment == "crop-flip", path, ": augmentation '",
           x.augment, "' is not none, crop or crop-flip");
  x.crop_scale_min = field<double>(a, "crop_scale_min", path);
  HC_CHECK(x.crop_scale_min > 0 && x.crop_scale_min <= 1, path, ": crop_scale_min ", x.crop_scale_min,
           " is not in (0, 1]");
  x.augmentations = bounded(a, "count", path, 1, kMaxAugmentations);
  x.seed = field<uint64_t>(a, "seed", path);
  HC_CHECK(j.contains("teachers") && j["teachers"].is_array(), path, ": 'teachers' must be an array");
  HC_CHECK(!j["teachers"].empty() && j["teachers"].size() <= 64, path, ": ", j["teachers"].size(),
           " teachers (1 to 64 allowed)");
  int64_t dim = 0;
  for (const json& t : j["teachers"]) {
    ReinforcedTeacher r;
    r.checkpoint = field<std::string>(t, "checkpoint", path);
    r.file_hash = field<std::string>(t, "file_hash", path);
    r.step = bounded(t, "step", path, 0, INT64_MAX);
    r.embed = bounded(t, "embed", path, 1, kMaxTeacherDim);
    r.image_size = bounded(t, "image_size", path, 1, 1 << 14);
    r.mode = field<std::string>(t, "mode", path);
    r.hyper_set = field<std::string>(t, "hyper_set", path);
    HC_CHECK(t.contains("config") && t["config"].is_object(), path, ": a teacher without its 'config'");
    r.config_json = t["config"].dump();
    dim += r.embed;
    x.teachers.push_back(r);
  }
  x.dim = bounded(j, "dim", path, 1, kMaxTeacherDim * 64);
  HC_CHECK(x.dim == dim, path, ": dim ", x.dim, " is not the teachers' widths summed (", dim, ")");
  x.shard_size = bounded(j, "shard_size", path, 1, 1 << 24);
  x.image_shards = shards_from(j, "image_shards", path);
  x.text_shards = shards_from(j, "text_shards", path);
  // The shard lists must be exactly the plan for these counts: names, ranges, nothing missing. Their
  // lengths first, so that declared counts the file does not list are never planned (a few bytes
  // claiming 2^31 samples in shards of 1 would otherwise build 2^31 entries).
  auto planned = [](int64_t n, int64_t size) { return static_cast<size_t>((n + size - 1) / size); };
  HC_CHECK(x.image_shards.size() == planned(x.samples, x.shard_size), path, ": ", x.image_shards.size(),
           " image_shards listed for ", x.samples, " samples in shards of ", x.shard_size);
  HC_CHECK(x.text_shards.size() == planned(x.captions, x.shard_size), path, ": ", x.text_shards.size(),
           " text_shards listed for ", x.captions, " captions in shards of ", x.shard_size);
  auto same = [](const std::vector<ReinforcedShard>& p, const std::vector<ReinforcedShard>& q) {
    if (p.size() != q.size()) return false;
    for (size_t i = 0; i < p.size(); ++i)
      if (p[i].file != q[i].file || p[i].first != q[i].first || p[i].count != q[i].count) return false;
    return true;
  };
  HC_CHECK(same(x.image_shards, plan_shards("images", x.samples, x.shard_size)), path,
           ": image_shards do not cover the ", x.samples, " samples in shards of ", x.shard_size);
  HC_CHECK(same(x.text_shards, plan_shards("texts", x.captions, x.shard_size)), path,
           ": text_shards do not cover the ", x.captions, " captions in shards of ", x.shard_size);
  return x;
}

void write_reinforced_samples(const std::string& dir, const ReinforcedSamples& s) {
  ojson j = {{"base_row", s.base_row}, {"source", s.source}, {"caption_offset", s.caption_offset},
             {"caption_id", s.caption_id}, {"captions", s.captions}};
  AtomicFile out(dir + "/samples.json");
  out.write(j.dump() + "\n");
  out.commit();
}

ReinforcedSamples read_reinforced_samples(const std::string& dir, const ReinforcedIndex& index) {
  const std::string path = dir + "/samples.json";
  // At most 8 KiB of JSON per sample and caption the index declares (a path, a caption, a few
  // numbers each; the emoji set has about 60 bytes), so that a small index cannot make a huge file parse.
  const uint64_t per_item = 8 << 10, items = static_cast<uint64_t>(index.samples + index.captions);
  json j = parse_json(path, std::min<uint64_t>(1ull << 30, (1ull << 20) + per_item * items));
  HC_CHECK(j.is_object(), path, ": not a JSON object");
  ReinforcedSamples s;
  s.base_row = field<std::vector<uint64_t>>(j, "base_row", path);
  s.source = field<std::vector<std::string>>(j, "source", path);
  s.caption_offset = field<std::vector<uint32_t>>(j, "caption_offset", path);
  s.caption_id = field<std::vector<uint32_t>>(j, "caption_id", path);
  s.captions = field<std::vector<std::string>>(j, "captions", path);
  const size_t n = static_cast<size_t>(index.samples);
  HC_CHECK(s.base_row.size() == n && s.source.size() == n && s.caption_offset.size() == n + 1, path, ": ",
           s.base_row.size(), " samples, ", s.source.size(), " sources and ", s.caption_offset.size(),
           " caption offsets for the index's ", n, " samples");
  HC_CHECK(s.captions.size() == static_cast<size_t>(index.captions), path, ": ", s.captions.size(),
           " captions, the index says ", index.captions);
  HC_CHECK(s.caption_offset[0] == 0 && s.caption_offset[n] == s.caption_id.size(), path,
           ": caption offsets do not span the ", s.caption_id.size(), " caption ids");
  for (size_t i = 0; i < n; ++i) {
    HC_CHECK(s.caption_offset[i + 1] > s.caption_offset[i], path, ": sample ", i, " has no caption");
    HC_CHECK(s.base_row[i] < static_cast<uint64_t>(index.base_rows) && (i == 0 || s.base_row[i] > s.base_row[i - 1]),
             path, ": base row ", s.base_row[i], " of sample ", i, " is out of order or beyond the base's ",
             index.base_rows, " rows");
  }
  for (uint32_t id : s.caption_id)
    HC_CHECK(id < s.captions.size(), path, ": caption id ", id, " beyond the ", s.captions.size(), " captions");
  return s;
}

// ---- shards ---------------------------------------------------------------------------------------

namespace {

std::map<std::string, std::string> shard_metadata(const ReinforcedIndex& index, const ReinforcedShard& shard,
                                                  const char* kind) {
  return {{"format", "hyperclip-reinforced-shard"}, {"kind", kind}, {"first", std::to_string(shard.first)},
          {"count", std::to_string(shard.count)}, {"identity", index.identity}};
}

// The tensor `name` of a shard, with exactly this shape.
const Tensor& shard_tensor(const SafeTensors& st, const std::string& name, const Shape& shape) {
  HC_CHECK(st.has(name), st.path, ": no tensor '", name, "': not a complete reinforced shard");
  const Tensor& t = st.get(name);
  HC_CHECK(t.shape() == shape, st.path, ": tensor '", name, "' is ", shape_str(t.shape()), ", expected ",
           shape_str(shape));
  return t;
}

void check_shard_metadata(const SafeTensors& st, const ReinforcedIndex& index, const ReinforcedShard& shard,
                          const char* kind) {
  for (auto& [k, v] : shard_metadata(index, shard, kind)) {
    auto it = st.metadata.find(k);
    HC_CHECK(it != st.metadata.end() && it->second == v, st.path, ": metadata '", k, "' is '",
             it == st.metadata.end() ? std::string("(missing)") : it->second, "', expected '", v,
             "': a shard of another reinforced dataset or another place in this one");
  }
}

// Rows of D values: finite, each teacher's block of unit norm within fp16 rounding.
void check_unit_blocks(const std::vector<float>& x, const ReinforcedIndex& index, const std::string& path,
                       const char* what) {
  const size_t D = static_cast<size_t>(index.dim), rows = x.size() / D;
  for (size_t r = 0; r < rows; ++r) {
    size_t at = 0;
    for (size_t k = 0; k < index.teachers.size(); ++k) {
      double ss = 0;
      for (int64_t c = 0; c < index.teachers[k].embed; ++c) ss += double(x[r * D + at + c]) * x[r * D + at + c];
      // fp16 keeps 11 significant bits: each value within 2^-11 relative, the norm as well.
      HC_CHECK(std::isfinite(ss) && std::fabs(std::sqrt(ss) - 1.0) < 4e-3, path, ": ", what, " row ", r,
               ", teacher ", k, ": norm ", std::sqrt(ss), " where the stored embeddings have norm 1: the file is damaged");
      at += static_cast<size_t>(index.teachers[k].embed);
    }
  }
}

std::vector<float> as_floats(const Tensor& t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  const float* p = t.data<float>();
  std::copy(p, p + out.size(), out.begin());
  return out;
}

}  // namespace

void write_image_shard(const std::string& dir, const ReinforcedIndex& index, const ReinforcedShard& shard,
                       const ReinforcedImageShard& data) {
  const int64_t n = shard.count, R = index.augmentations, D = index.dim;
  HC_CHECK(static_cast<int64_t>(data.augment.size()) == n * R && static_cast<int64_t>(data.image.size()) == n * R * D,
           shard.file, ": ", data.augment.size(), " augmentations and ", data.image.size(), " values for ", n,
           " samples of ", R, " views of ", D);
  std::vector<int32_t> box, flip;
  for (const AugmentParams& a : data.augment) {
    box.insert(box.end(), {a.box.left, a.box.top, a.box.width, a.box.height});
    flip.push_back(a.flip ? 1 : 0);
  }
  Tensor image = Tensor::empty({n, R, D}, DType::F32);
  std::copy(data.image.begin(), data.image.end(), image.data<float>());
  write_safetensors_f16(dir + "/" + shard.file,
                        {{"augment.box", Tensor::from_ints(box, {n, R, 4})}, {"augment.flip", Tensor::from_ints(flip, {n, R})},
                         {"image", image}},
                        shard_metadata(index, shard, "images"));
}

ReinforcedImageShard read_image_shard(const std::string& dir, const ReinforcedIndex& index,
                                      const ReinforcedShard& shard) {
  const std::string path = dir + "/" + shard.file;
  SafeTensors st = read_safetensors(path);
  check_shard_metadata(st, index, shard, "images");
  const int64_t n = shard.count, R = index.augmentations, D = index.dim;
  const Tensor& box = shard_tensor(st, "augment.box", {n, R, 4});
  const Tensor& flip = shard_tensor(st, "augment.flip", {n, R});
  const Tensor& image = shard_tensor(st, "image", {n, R, D});
  HC_CHECK(box.dtype() == DType::I32 && flip.dtype() == DType::I32 && image.dtype() == DType::F32, path,
           ": augment.box and augment.flip must be I32, image F16 (or F32)");
  ReinforcedImageShard out;
  const int32_t* b = box.data<int32_t>();
  const int32_t* f = flip.data<int32_t>();
  for (int64_t i = 0; i < n * R; ++i) {
    AugmentParams a;
    a.box = {b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]};
    HC_CHECK(a.box.left >= 0 && a.box.top >= 0 && a.box.width > 0 && a.box.height > 0 && (f[i] == 0 || f[i] == 1),
             path, ": sample ", shard.first + i / R, ", view ", i % R, ": crop box (", a.box.left, ", ", a.box.top, ", ",
             a.box.width, "x", a.box.height, ") or flip ", f[i], " is not valid: the file is damaged");
    a.flip = f[i] == 1;
    out.augment.push_back(a);
  }
  out.image = as_floats(image);
  check_unit_blocks(out.image, index, path, "image embedding");
  return out;
}

void write_text_shard(const std::string& dir, const ReinforcedIndex& index, const ReinforcedShard& shard,
                      const std::vector<float>& text) {
  HC_CHECK(static_cast<int64_t>(text.size()) == shard.count * index.dim, shard.file, ": ", text.size(),
           " values for ", shard.count, " captions of ", index.dim);
  Tensor t = Tensor::empty({shard.count, index.dim}, DType::F32);
  std::copy(text.begin(), text.end(), t.data<float>());
  write_safetensors_f16(dir + "/" + shard.file, {{"text", t}}, shard_metadata(index, shard, "texts"));
}

std::vector<float> read_text_shard(const std::string& dir, const ReinforcedIndex& index,
                                   const ReinforcedShard& shard) {
  const std::string path = dir + "/" + shard.file;
  SafeTensors st = read_safetensors(path);
  check_shard_metadata(st, index, shard, "texts");
  const Tensor& t = shard_tensor(st, "text", {shard.count, index.dim});
  HC_CHECK(t.dtype() == DType::F32, path, ": text must be F16 (or F32)");
  std::vector<float> out = as_floats(t);
  check_unit_blocks(out, index, path, "text embedding");
  return out;
}

// ---- the dataset in memory ------------------------------------------------------------------------

ReinforcedData::ReinforcedData(const std::string& dir, const Dataset& base, const std::vector<std::string>& templates)
    : dir_(dir), index_(read_reinforced_index(dir)) {
  HC_CHECK(index_.complete, dir, ": incomplete (the reinforce run that writes it was interrupted): run the same ",
           "hyperclip reinforce command again to finish it");
  std::string identity = base_identity(base, templates);
  HC_CHECK(identity == index_.identity && static_cast<int64_t>(base.size()) == index_.base_rows, dir,
           ": built from another base dataset: it was reinforced from ", index_.base_describe, " (", index_.base_rows,
           " rows, identity ", index_.identity, "), the training data is ", base.describe(), " (", base.size(),
           " rows, identity ", identity, "). The identity covers the rows' captions, or the class names and ",
           "templates of labelled data: train on the data (and --templates) it was built from");
  samples_ = read_reinforced_samples(dir, index_);
  for (const ReinforcedShard& s : index_.image_shards) {
    ReinforcedImageShard shard = read_image_shard(dir, index_, s);
    augment_.insert(augment_.end(), shard.augment.begin(), shard.augment.end());
    image_.insert(image_.end(), shard.image.begin(), shard.image.end());
  }
  for (const ReinforcedShard& s : index_.text_shards) {
    std::vector<float> t = read_text_shard(dir, index_, s);
    text_.insert(text_.end(), t.begin(), t.end());
  }
}

}  // namespace hc
