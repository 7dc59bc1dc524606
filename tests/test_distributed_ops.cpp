// The ops that work across processes (SPEC §6) against their one-process definitions, for 1, 2 and
// 3 ranks on threads (tests/thread_communicator.h), and their gradients by finite differences in
// the op registry (one rank). The same checks run under real mpirun in test_distributed_train.cpp.
#include <doctest/doctest.h>

#include <mutex>

#include "data/loader.h"
#include "tests/distributed_checks.h"
#include "tests/thread_communicator.h"

using namespace hc;
using namespace hc::test;
using hc_test::run_ranks;

namespace {

// A single-process communicator outlives every registry case that captures it.
Communicator& one_rank() {
  static SingleProcessCommunicator comm;
  return comm;
}

// The worst of each rank's error.
double worst_over_ranks(int ranks, const std::function<double(Communicator&)>& check) {
  std::mutex mu;
  double worst = 0;
  run_ranks(ranks, [&](Communicator& comm) {
    double e = check(comm);
    std::lock_guard<std::mutex> lock(mu);
    worst = std::max(worst, e);
  });
  return worst;
}

}  // namespace

static std::vector<OpCase> distributed_op_cases() {
  std::vector<OpCase> cases;
  for (SiglipDist how : {SiglipDist::Gather, SiglipDist::Ring})
    cases.push_back({how == SiglipDist::Gather ? "siglip_loss_distributed/gather_one_rank"
                                               : "siglip_loss_distributed/ring_one_rank",
                     {param({5, 4}, 860), param({5, 4}, 861), param({1}, 862, 0.5), param({1}, 863)},
                     [how](const std::vector<Tensor>& in) {
                       return siglip_loss_distributed(l2_normalize(in[0]), l2_normalize(in[1]), in[2], in[3],
                                                      one_rank(), how);
                     }});
  cases.push_back({"all_gather/one_rank", {param({3, 2}, 864)},
                   [](const std::vector<Tensor>& in) { return all_gather(in[0], one_rank()); }});
  // Running statistics are buffers: fresh ones per call, so that every evaluation sees the same.
  cases.push_back({"sync_batch_norm/one_rank",
                   {param({3, 2, 3, 2}, 865), param({2}, 866, 0.5), param({2}, 867)},
                   [](const std::vector<Tensor>& in) {
                     Tensor rm = as_like(Tensor::zeros({2}, DType::F64), in[0]);
                     Tensor rv = as_like(Tensor::ones({2}, DType::F64), in[0]);
                     return sync_batch_norm(in[0], in[1], in[2], rm, rv, one_rank());
                   }});
  cases.push_back({"sync_batch_norm/two_sets",
                   {param({4, 3, 2, 2}, 868), param({2, 3}, 869, 0.5), param({2, 3}, 870)},
                   [](const std::vector<Tensor>& in) {
                     Tensor rm = as_like(Tensor::zeros({3}, DType::F64), in[0]);
                     Tensor rv = as_like(Tensor::ones({3}, DType::F64), in[0]);
                     Tensor sets = as_like(Tensor::from_ints({0, 1, 1, 0}, {4}), in[0]);
                     return sync_batch_norm(in[0], in[1], in[2], rm, rv, one_rank(), 0.1, 1e-5, sets);
                   }});
  return cases;
}
HC_REGISTER_OP_CASES(distributed_op_cases);

TEST_CASE("communicator: the collectives' contract on 1, 2 and 3 ranks (threads)") {
  for (int ranks : {1, 2, 3}) {
    std::mutex mu;
    std::vector<std::string> failures;
    run_ranks(ranks, [&](Communicator& comm) {
      std::string f = hc_test::collectives_failure(comm);
      std::lock_guard<std::mutex> lock(mu);
      if (!f.empty()) failures.push_back(f);
    });
    INFO("ranks ", ranks);
    CHECK(failures.empty());
    for (const std::string& f : failures) MESSAGE(f);
  }
  // The single-process communicator itself (what a one-process run uses).
  CHECK(hc_test::collectives_failure(one_rank()).empty());
  Tensor out = Tensor::empty({4, 2});
  CHECK_THROWS_AS(one_rank().all_gather(Tensor::zeros({3, 2}), out), Error);
}

TEST_CASE("siglip_loss_distributed: loss and gradients equal siglip_loss on the global batch") {
  // float64: to rounding; float32: to float32 summation-order differences.
  for (SiglipDist how : {SiglipDist::Gather, SiglipDist::Ring})
    for (int ranks : {1, 2, 3}) {
      INFO((how == SiglipDist::Gather ? "gather" : "ring"), ", ", ranks, " ranks");
      double e64 = worst_over_ranks(ranks, [&](Communicator& c) {
        return hc_test::siglip_distributed_error(c, how, DType::F64, 4, 5, 40 + ranks);
      });
      CHECK(e64 < 1e-13);
      double e32 = worst_over_ranks(ranks, [&](Communicator& c) {
        return hc_test::siglip_distributed_error(c, how, DType::F32, 6, 8, 50 + ranks);
      });
      CHECK(e32 < 2e-6);
    }
  // At one rank both variants compute exactly the one-process loss (the same kernel call).
  Tensor v = l2_normalize(randn({5, 3}, 1)).to(DType::F32), e = l2_normalize(randn({5, 3}, 2)).to(DType::F32);
  Tensor tp = Tensor::scalar(2.3), b = Tensor::scalar(-10);
  for (SiglipDist how : {SiglipDist::Gather, SiglipDist::Ring})
    CHECK(siglip_loss_distributed(v, e, tp, b, one_rank(), how).item() == siglip_loss(v, e, tp, b).item());
  CHECK(parse_siglip_dist("ring") == SiglipDist::Ring);
  CHECK_THROWS_AS(parse_siglip_dist("tree"), Error);
}

TEST_CASE("all_gather: forward concatenates the ranks, backward returns each block's summed gradient") {
  for (int ranks : {1, 2, 3}) {
    INFO(ranks, " ranks");
    CHECK(worst_over_ranks(ranks, [&](Communicator& c) { return hc_test::all_gather_error(c, 70); }) < 1e-15);
  }
}

TEST_CASE("sync_batch_norm: equals batch_norm on the ranks' samples together") {
  for (bool per_set : {false, true})
    for (int ranks : {1, 2, 3}) {
      INFO(ranks, " ranks, ", per_set ? "a scale and shift per rank" : "one scale and shift");
      CHECK(worst_over_ranks(ranks, [&](Communicator& c) {
              return hc_test::sync_batch_norm_error(c, DType::F64, per_set, 80 + ranks);
            }) < 1e-12);
      CHECK(worst_over_ranks(ranks, [&](Communicator& c) {
              return hc_test::sync_batch_norm_error(c, DType::F32, per_set, 90 + ranks);
            }) < 1e-5);
    }
}

TEST_CASE("loader: the ranks' slices of each batch are one process's batch, augmentation draws included") {
  DatasetOptions d;
  d.synthetic_train_size = 60;
  std::unique_ptr<Dataset> data = open_dataset("synthetic", d);
  LoaderOptions lo;
  lo.batch = 12;
  lo.image_size = 24;
  lo.seed = 3;
  lo.augment = Augment::CropFlip;
  lo.workers = 1;
  auto batches = [&](const LoaderOptions& o) {
    Loader loader(*data, o);
    loader.start(1, 1);  // epoch 1 from its second batch: a resumed run's first batches
    std::vector<Batch> out(2);
    for (Batch& b : out) REQUIRE(loader.next(b));
    return out;
  };
  std::vector<Batch> one = batches(lo);
  for (int ranks : {2, 3}) {
    INFO(ranks, " ranks");
    std::vector<std::vector<Batch>> parts;
    for (int r = 0; r < ranks; ++r) {
      LoaderOptions o = lo;
      o.rank = r;
      o.ranks = ranks;
      parts.push_back(batches(o));
    }
    for (size_t k = 0; k < one.size(); ++k) {
      std::vector<std::string> sources, captions;
      std::vector<double> pixels;
      for (int r = 0; r < ranks; ++r) {
        const Batch& b = parts[r][k];
        CHECK(b.images.size(0) == lo.batch / ranks);
        sources.insert(sources.end(), b.sources.begin(), b.sources.end());
        captions.insert(captions.end(), b.captions.begin(), b.captions.end());
        std::vector<double> p = b.images.to_vector();
        pixels.insert(pixels.end(), p.begin(), p.end());
      }
      CHECK(sources == one[k].sources);
      CHECK(captions == one[k].captions);
      CHECK(pixels == one[k].images.to_vector());  // the same crops and flips, bit for bit
    }
  }
  LoaderOptions bad = lo;
  bad.ranks = 5;
  CHECK_THROWS_WITH_AS(Loader(*data, bad), doctest::Contains("not divisible by 5"), Error);
}
