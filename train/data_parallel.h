// Data-parallel training across processes (SPEC §6, docs/distributed.md): what one rank adds to a
// training step. Every rank holds the whole model; each computes its slice of the global batch, then
//  - the loss is the global SigLIP loss (siglip_loss_distributed), each rank holding its share;
//  - after the backward pass the gradients are summed over ranks (all-reduce, in buckets), so each
//    rank holds the gradient of the global loss; clipping and AdamW then run identically everywhere;
//  - the hypernetwork's set is each rank's own captions, or (global_set) all B of them;
//  - batch norm takes statistics over each rank's images, or (sync_bn) over all of them.
#pragma once
#include <string>
#include <vector>

#include "core/communicator.h"
#include "models/hyperclip.h"

namespace hc {

struct DataParallelOptions {
  SiglipDist siglip = SiglipDist::Gather;
  bool global_set = false;  // --hyper-set global
  bool sync_bn = false;     // --sync-bn
  int64_t set_size = 0;     // local sets of this many of the rank's captions (0: all of them)
  double bucket_mb = 25;    // gradient all-reduce bucket size (PyTorch DDP's default)
};

class DataParallel {
 public:
  DataParallel(Communicator& comm, const DataParallelOptions& opt);
  Communicator& comm() const { return comm_; }
  int rank() const { return comm_.rank(); }
  int size() const { return comm_.size(); }
  const DataParallelOptions& options() const { return opt_; }

  // What HyperClip::forward needs for this rank's pass.
  ParallelForward forward_options() const;
  // Attaches --sync-bn to the model's batch norms; returns how many there are.
  int attach(HyperClip& model) const;
  // Rank 0's parameters and buffers on every rank (after initialisation or loading).
  void broadcast_state(const HyperClip& model) const;
  // Sums the gradients of `params` over ranks, in place, in buckets of about bucket_mb (one
  // all-reduce per bucket; a parameter larger than a bucket is reduced in place). Every rank must hold
  // gradients for the same parameters (their sizes are compared across ranks first).
  void all_reduce_gradients(const std::vector<Tensor>& params);
  // The mean over ranks of the batch-norm running statistics, on every rank (without --sync-bn each
  // rank's differ; before a checkpoint or an evaluation, so that what rank 0 writes reflects all).
  void average_buffers(const HyperClip& model) const;
  // Throws unless every rank holds bit-identical parameters (a hash of each rank's, compared).
  void check_replicas(const HyperClip& model) const;

 private:
  struct Bucket {
    std::vector<Tensor> grads;  // the gradients packed into `flat`, in order
    Tensor flat;                // their concatenation (undefined for a single gradient: reduced in place)
  };
  Communicator& comm_;
  DataParallelOptions opt_;
  std::vector<Bucket> buckets_;
  std::vector<const TensorImpl*> layout_;  // the gradients' parameters the buckets were planned for
};

}  // namespace hc
