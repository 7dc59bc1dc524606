// Task-shaped sets for the hypernetwork (train --set-size S --set-sampling group, SPEC 1.4,
// docs/hypernetwork.md). At zero-shot time the hypernetwork sees a task's class names, a set whose
// members share a domain; a random batch of captions has nearly the same statistics every step.
// Group sampling fills each set of S samples from one group of the data (a TSV column, a class
// folder's parent, clusters of caption embeddings), and a batch of B from B/S sets of different
// groups, so that the SigLIP negatives of a batch stay mixed.
//
// The order of an epoch depends on (seed, epoch) and the grouping alone, never on threads:
//  1. each group's samples are shuffled (seed, epoch, group) and cut into whole sets of S;
//  2. the leftovers of every group (its size mod S) are pooled, shuffled (seed, epoch) and cut into
//     mixed sets of S ("pooled" sets, group -1); fewer than S left over are dropped this epoch;
//  3. batches are dealt, each of a batch's B/S slots taking the next set of one group: first every
//     group with as many sets left as batches left (it must be in every remaining batch, or it
//     would later have to share a batch with itself), then groups not yet in the batch drawn with
//     probability proportional to their sets left (pooled sets count as one more group that may
//     fill several slots of a batch); only when every group left is in the batch already does a
//     group fill a second slot. So no batch holds two sets of one group unless a group holds
//     more than its share, 1/(B/S), of the sets (then its extra sets share batches, at the end);
//  4. the sets left when fewer than B/S remain are dropped (as the random order drops a partial
//     batch).
// So each sample appears at most once per epoch, and fewer than B samples are left out of an epoch
// (under S pooled leftovers plus under B/S sets): the same bound as the random order's.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hc {

class GroupSetSampler {
 public:
  // group_of_sample[i]: sample i's group id in [0, num_groups).
  GroupSetSampler(std::vector<int32_t> group_of_sample, int64_t num_groups, int64_t set_size, int64_t batch,
                  uint64_t seed);

  struct Plan {
    std::vector<size_t> order;      // [batches * B] sample indices: batch b is order[b*B, (b+1)*B),
                                    // its set j order[b*B + j*S, b*B + (j+1)*S)
    std::vector<int32_t> set_group;  // [batches * B/S] each set's group, -1 for a pooled set
    int64_t pooled = 0;              // samples in the pooled sets dealt (leftovers of their groups)
    int64_t dropped = 0;             // samples left out of this epoch
  };
  Plan plan(int64_t epoch) const;
  std::vector<size_t> epoch_order(int64_t epoch) const { return plan(epoch).order; }
  // The same for every epoch: the counts of whole and pooled sets do not depend on the shuffle.
  int64_t batches_per_epoch() const { return batches_; }
  int64_t num_groups() const { return static_cast<int64_t>(members_.size()); }
  int64_t sets_per_epoch() const { return whole_sets_ + pooled_sets_; }
  int64_t pooled_sets_per_epoch() const { return pooled_sets_; }
  // "8 groups (smallest 312, largest 3044 samples); 1662 sets of 32 per epoch, 7 of them pooled
  // from the groups' leftovers; 415 batches of 4 sets"
  std::string describe() const;

 private:
  std::vector<std::vector<size_t>> members_;  // per group, ascending sample indices
  int64_t S_, B_, k_;                          // set size, batch, sets per batch
  uint64_t seed_;
  int64_t whole_sets_ = 0, pooled_sets_ = 0, batches_ = 0;
};

}  // namespace hc
