#include "data/set_sampler.h"

#include <algorithm>

#include "core/error.h"
#include "core/random.h"
#include "data/loader.h"

namespace hc {

namespace {

// Stream tags, so that the shuffles of one epoch never share a random stream.
constexpr uint64_t kGroupShuffle = 0x5E75A11ull, kPoolShuffle = 0x5E7B001ull, kDeal = 0x5E7DEA1ull;

void shuffle(std::vector<size_t>& v, Generator& g) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[g.next_u64() % i]);  // Fisher-Yates
}

}  // namespace

GroupSetSampler::GroupSetSampler(std::vector<int32_t> group_of_sample, int64_t num_groups, int64_t set_size,
                                 int64_t batch, uint64_t seed)
    : S_(set_size), B_(batch), seed_(seed) {
  HC_CHECK(set_size > 0 && batch > 0 && batch % set_size == 0, "set sampling: the batch ", batch,
           " must be a positive multiple of the set size ", set_size);
  HC_CHECK(num_groups > 0, "set sampling: no groups");
  k_ = B_ / S_;
  members_.resize(static_cast<size_t>(num_groups));
  for (size_t i = 0; i < group_of_sample.size(); ++i) {
    int32_t g = group_of_sample[i];
    HC_CHECK(g >= 0 && g < num_groups, "set sampling: sample ", i, " has group ", g, ", outside 0..", num_groups - 1);
    members_[g].push_back(i);
  }
  int64_t leftovers = 0;
  for (const auto& m : members_) {
    whole_sets_ += static_cast<int64_t>(m.size()) / S_;
    leftovers += static_cast<int64_t>(m.size()) % S_;
  }
  pooled_sets_ = leftovers / S_;
  batches_ = (whole_sets_ + pooled_sets_) / k_;
  HC_CHECK(batches_ > 0, "set sampling: ", group_of_sample.size(), " samples in ", num_groups,
           " groups make ", whole_sets_ + pooled_sets_, " sets of ", S_, ", fewer than one batch of ", k_, " sets");
}

GroupSetSampler::Plan GroupSetSampler::plan(int64_t epoch) const {
  const size_t G = members_.size();
  // 1-2. Whole sets per group, in each group's shuffled order; the leftovers into the pool.
  std::vector<std::vector<size_t>> shuffled(G + 1);  // slot G: the pool
  for (size_t g = 0; g < G; ++g) {
    std::vector<size_t>& m = shuffled[g];
    m = members_[g];
    Generator gen(mix_seed(seed_, mix_seed(kGroupShuffle, static_cast<uint64_t>(epoch)), g));
    shuffle(m, gen);
    size_t whole = m.size() / S_ * S_;
    shuffled[G].insert(shuffled[G].end(), m.begin() + whole, m.end());
    m.resize(whole);
  }
  Plan p;
  Generator pool_gen(mix_seed(seed_, kPoolShuffle, static_cast<uint64_t>(epoch)));
  shuffle(shuffled[G], pool_gen);
  shuffled[G].resize(shuffled[G].size() / S_ * S_);

  // 3. Deal the sets into batches. A group with as many sets left as batches left must be in every
  // remaining batch, or it would have to share one with itself later: such groups take a slot first.
  // The other slots draw a group not yet in the batch with probability proportional to its sets
  // left (the pool, index G, may fill several slots); a group repeats only when no other is left.
  std::vector<int64_t> left(G + 1), next(G + 1, 0);
  for (size_t g = 0; g <= G; ++g) left[g] = static_cast<int64_t>(shuffled[g].size()) / S_;
  Generator deal(mix_seed(seed_, kDeal, static_cast<uint64_t>(epoch)));
  p.order.reserve(static_cast<size_t>(batches_ * B_));
  std::vector<char> in_batch(G + 1);
  // Draws a group among those `allowed`, with probability proportional to its sets left; G + 1 if none.
  auto draw = [&](auto allowed) {
    int64_t total = 0;
    for (size_t g = 0; g <= G; ++g) total += allowed(g) ? left[g] : 0;
    if (total == 0) return G + 1;
    int64_t r = static_cast<int64_t>(deal.next_u64() % static_cast<uint64_t>(total));
    for (size_t g = 0;; ++g) {
      int64_t w = allowed(g) ? left[g] : 0;
      if (r < w) return g;
      r -= w;
    }
  };
  for (int64_t b = 0; b < batches_; ++b) {
    const int64_t batches_left = batches_ - b;
    std::fill(in_batch.begin(), in_batch.end(), 0);
    for (int64_t slot = 0; slot < k_; ++slot) {
      size_t g = draw([&](size_t h) { return h < G && !in_batch[h] && left[h] >= batches_left; });  // urgent
      if (g > G) g = draw([&](size_t h) { return h == G || !in_batch[h]; });
      if (g > G) g = draw([&](size_t) { return true; });  // every group left is in this batch already
      HC_CHECK(g <= G, "set sampling: ran out of sets (internal error)");
      const std::vector<size_t>& src = shuffled[g];
      p.order.insert(p.order.end(), src.begin() + next[g] * S_, src.begin() + (next[g] + 1) * S_);
      p.set_group.push_back(g == G ? -1 : static_cast<int32_t>(g));
      ++next[g];
      --left[g];
      if (g != G) in_batch[g] = 1;  // pooled sets are mixed already: several may share a batch
    }
  }
  p.pooled = next[G] * S_;
  int64_t n = 0;
  for (const auto& m : members_) n += static_cast<int64_t>(m.size());
  p.dropped = n - static_cast<int64_t>(p.order.size());
  return p;
}

std::string GroupSetSampler::describe() const {
  size_t lo = SIZE_MAX, hi = 0;
  for (const auto& m : members_) {
    lo = std::min(lo, m.size());
    hi = std::max(hi, m.size());
  }
  return cat(members_.size(), " groups (smallest ", lo, ", largest ", hi, " samples); ", whole_sets_ + pooled_sets_,
             " sets of ", S_, " per epoch, ", pooled_sets_, " of them pooled from the groups' leftovers; ", batches_,
             " batches of ", k_, " sets");
}

}  // namespace hc
