#include "train/data_parallel.h"

#include <cstring>

#include "core/backend.h"
#include "core/grad_mode.h"

namespace hc {

DataParallel::DataParallel(Communicator& comm, const DataParallelOptions& opt) : comm_(comm), opt_(opt) {
  HC_CHECK(opt.bucket_mb > 0, "--bucket-mb must be positive, got ", opt.bucket_mb);
}

ParallelForward DataParallel::forward_options() const {
  ParallelForward p;
  p.comm = &comm_;
  p.siglip = opt_.siglip;
  p.global_set = opt_.global_set;
  p.set_size = opt_.set_size;
  return p;
}

int DataParallel::attach(HyperClip& model) const { return model.sync_batch_norms(opt_.sync_bn ? &comm_ : nullptr); }

void DataParallel::broadcast_state(const HyperClip& model) const {
  NoGradGuard no_grad;
  for (auto& [name, t] : model.state_dict()) {
    Tensor x = t;
    comm_.broadcast(x, 0);
  }
}

static size_t bytes_of(const Tensor& t) { return static_cast<size_t>(t.numel()) * dtype_size(t.dtype()); }

void DataParallel::all_reduce_gradients(const std::vector<Tensor>& params) {
  NoGradGuard no_grad;
  // The plan: which parameters have gradients, and in which buckets. Rebuilt (and checked against
  // the other ranks) only when that set changes, normally once.
  std::vector<const TensorImpl*> layout;
  std::vector<Tensor> grads;
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    layout.push_back(p.impl());
    grads.push_back(g);
  }
  // Every rank must reduce the same gradients in the same buckets, or the sums would mix unrelated
  // values: compare a signature of the gradients' sizes (one small exchange per step).
  uint64_t signature = 1469598103934665603ull;
  for (const Tensor& g : grads) signature = (signature ^ static_cast<uint64_t>(g.numel())) * 1099511628211ull;
  std::vector<int64_t> all = comm_.gather(static_cast<int64_t>(signature));
  for (int r = 1; r < size(); ++r)
    HC_CHECK(all[r] == all[0], "rank ", r, " holds gradients for other parameters than rank 0 (rank ", rank(),
             " has ", grads.size(), "); the ranks' steps differ");
  if (layout != layout_) {
    buckets_.clear();
    const size_t limit = static_cast<size_t>(opt_.bucket_mb * 1048576.0);
    Bucket cur;
    size_t cur_bytes = 0;
    auto close = [&] {
      if (cur.grads.empty()) return;
      if (cur.grads.size() > 1) {
        int64_t n = 0;
        for (const Tensor& g : cur.grads) n += g.numel();
        cur.flat = Tensor::empty_on(cur.grads[0].backend(), {n}, cur.grads[0].dtype());
      }
      buckets_.push_back(std::move(cur));
      cur = Bucket();
      cur_bytes = 0;
    };
    for (const Tensor& g : grads) {
      bool fits = cur.grads.empty() ||
                  (cur_bytes + bytes_of(g) <= limit && g.dtype() == cur.grads[0].dtype() && g.device() == cur.grads[0].device());
      if (!fits) close();
      cur.grads.push_back(g);
      cur_bytes += bytes_of(g);
    }
    close();
    layout_ = layout;
  } else {
    // The same parameters with this step's gradient tensors (each backward pass makes its own).
    size_t k = 0;
    for (Bucket& b : buckets_)
      for (Tensor& g : b.grads) g = grads[k++];
  }
  for (Bucket& b : buckets_) {
    if (!b.flat.defined()) {
      comm_.all_reduce(b.grads[0]);
      continue;
    }
    Backend& be = b.flat.backend();
    char* flat = static_cast<char*>(b.flat.raw_data());
    size_t at = 0;
    for (const Tensor& g : b.grads) {
      be.copy_on_device(flat + at, g.raw_data(), bytes_of(g));
      at += bytes_of(g);
    }
    comm_.all_reduce(b.flat);
    at = 0;
    for (const Tensor& g : b.grads) {
      be.copy_on_device(g.raw_data(), flat + at, bytes_of(g));
      at += bytes_of(g);
    }
  }
}

static bool is_running_statistic(const std::string& name) {
  auto ends = [&](const char* s) {
    size_t n = std::strlen(s);
    return name.size() >= n && name.compare(name.size() - n, n, s) == 0;
  };
  return ends("running_mean") || ends("running_var");
}

void DataParallel::average_buffers(const HyperClip& model) const {
  if (opt_.sync_bn || size() == 1) return;  // synchronised statistics are equal everywhere already
  NoGradGuard no_grad;
  for (auto& [name, b] : model.named_buffers()) {
    if (!is_running_statistic(name)) continue;
    Tensor x = b;
    comm_.all_reduce(x);
    x.backend().unary(UnaryOp::Scale, x, 1.0 / size(), x);
  }
}

// FNV-1a over the bytes of every parameter.
static uint64_t parameter_hash(const HyperClip& model) {
  uint64_t h = 1469598103934665603ull;
  for (const Tensor& p : model.parameters()) {
    Tensor host = p.device() == Device::CPU ? p : p.to(Device::CPU);
    const unsigned char* c = static_cast<const unsigned char*>(host.raw_data());
    for (size_t i = 0, n = bytes_of(host); i < n; ++i) h = (h ^ c[i]) * 1099511628211ull;
  }
  return h;
}

void DataParallel::check_replicas(const HyperClip& model) const {
  if (size() == 1) return;
  uint64_t h = parameter_hash(model);
  std::vector<int64_t> all = comm_.gather(static_cast<int64_t>(h));
  for (int r = 1; r < size(); ++r)
    HC_CHECK(all[r] == all[0], "the ranks' copies of the model differ (rank ", r, " against rank 0): an exchange "
             "went wrong; the run cannot continue");
}

}  // namespace hc
