// The CPU backend's caching allocator (ops/cpu/backend_cpu.h): after a training step's first run,
// the next steps take every tensor from the cache (no call to the system allocator), also when its
// size classes peak at different moments, and batches of changing shapes cannot grow the cache past
// twice the most tensor memory ever live.
#include <doctest/doctest.h>

#include "ops/cpu/backend_cpu.h"
#include "tests/model_fixture.h"
#include "train/step.h"

using namespace hc;

TEST_CASE("CPU allocator: no system allocation inside a training step after the first") {
  if (!CpuBackend::caches_blocks()) return;  // AddressSanitizer build: nothing is cached
  for (MathMode mode : {MathMode::FP32, MathMode::BF16}) {
    INFO(std::string(math_mode_name(mode)));
    const int64_t vocab = 64, n = 8, T = 16;
    HyperClip m(test::tiny_config("convnet-nano", vocab, 32, T, 16, 32));
    m.init_parameters(1);
    AdamWConfig ac;
    AdamW opt(m.named_parameters(), ac);
    Generator g(2);
    Tensor images = Tensor::empty({n, 3, 32, 32});
    fill_normal(images, g, 1.0);
    std::vector<int32_t> tok(n * T, 0), pos(n);
    for (int64_t i = 0; i < n; ++i) {
      pos[i] = static_cast<int32_t>(3 + i);
      for (int64_t j = 0; j <= pos[i]; ++j) tok[i * T + j] = static_cast<int32_t>(1 + (i * 7 + j) % (vocab - 1));
    }
    Tensor tokens = Tensor::from_ints(tok, {n, T}), eot = Tensor::from_ints(pos, {n});
    CpuBackend& cpu = cpu_backend();
    cpu.set_math_mode(mode);
    train_step(m, opt, images, tokens, eot, 1e-3, 1.0);  // first step: fills the cache
    int64_t before = cpu.memory_stats().device_allocations;
    for (int s = 0; s < 3; ++s) train_step(m, opt, images, tokens, eot, 1e-3, 1.0);
    MemoryStats after = cpu.memory_stats();
    cpu.set_math_mode(MathMode::FP32);
    MESSAGE(math_mode_name(mode), ": ", after.bytes_cached, " bytes cached after the steps, ", after.device_frees, " blocks handed back so far");
    CHECK(after.device_allocations == before);
    CHECK(before > 0);
  }
}

TEST_CASE("CPU allocator: a step whose size classes peak at different moments allocates only in its first run") {
  if (!CpuBackend::caches_blocks()) return;  // AddressSanitizer build: nothing is cached
  CpuBackend cpu;
  // A "forward" holding four blocks of one class, then a "backward" holding three of another: the
  // most live at once is 3 x 163840 = 491520 bytes, but the step needs 4 x 106496 + 3 x 163840 =
  // 917504 bytes of blocks (1.87x) to run again without the system allocator.
  auto step = [&cpu] {
    void* f[4];
    for (void*& p : f) p = cpu.allocate(101000);
    for (void* p : f) cpu.deallocate(p, 101000);
    void* b[3];
    for (void*& p : b) p = cpu.allocate(150000);
    for (void* p : b) cpu.deallocate(p, 150000);
  };
  step();
  CHECK(cpu.memory_stats().device_allocations == 7);
  for (int s = 0; s < 3; ++s) step();
  CHECK(cpu.memory_stats().device_allocations == 7);
  CHECK(cpu.memory_stats().device_frees == 0);
  CHECK(cpu.memory_stats().bytes_cached == 917504);
}

TEST_CASE("CPU allocator: blocks are reused by size class; the cache holds at most twice the most memory ever live") {
  if (!CpuBackend::caches_blocks()) return;  // AddressSanitizer build: nothing is cached
  CpuBackend cpu;  // a fresh instance: its own cache and counters
  // 100 KB and 101 KB share a class (eight per power of two above 64 KiB); 150 KB does not.
  void* a = cpu.allocate(100000);
  cpu.deallocate(a, 100000);
  void* b = cpu.allocate(101000);
  CHECK(b == a);
  CHECK(cpu.memory_stats().device_allocations == 1);
  // Three blocks live at once, then freed: all three are cached.
  const int64_t cls101 = 106496, cls300 = 327680;  // 101000 and 300000 rounded up to their classes
  void* p[3] = {b, cpu.allocate(101000), cpu.allocate(101000)};
  for (void* q : p) cpu.deallocate(q, 101000);
  MemoryStats s = cpu.memory_stats();
  CHECK(s.bytes_in_use == 0);
  CHECK(s.bytes_cached == 3 * cls101);
  CHECK(s.device_allocations == 3);
  // Requests of another class miss. The most held at once is now 2 x 327680 = 655360 bytes and the
  // cap twice that: both classes' blocks stay cached (974848 bytes).
  void* c[2] = {cpu.allocate(300000), cpu.allocate(300000)};
  CHECK(cpu.memory_stats().device_allocations == 5);
  for (void* q : c) cpu.deallocate(q, 300000);
  s = cpu.memory_stats();
  CHECK(s.device_frees == 0);
  CHECK(s.bytes_cached == 3 * cls101 + 2 * cls300);
  void* d[3] = {cpu.allocate(300000), cpu.allocate(300000), cpu.allocate(300000)};  // most held: 983040
  CHECK(cpu.memory_stats().device_allocations == 6);
  for (void* q : d) cpu.deallocate(q, 300000);  // cap 1966080: 1302528 bytes fit
  s = cpu.memory_stats();
  CHECK(s.device_frees == 0);
  CHECK(s.bytes_cached == 3 * cls101 + 3 * cls300);
  void* again = cpu.allocate(300000);  // from the cache: the most recently freed
  CHECK(again == d[2]);
  cpu.deallocate(again, 300000);
  CHECK(cpu.memory_stats().device_allocations == 6);
  // Batches of ever-changing shapes: the cache never holds more than twice the most ever live, and
  // the least recently freed blocks are the ones handed back.
  int64_t most = 3 * cls300;
  for (size_t size = 70000; size < 4000000; size = size * 5 / 4) {
    void* x = cpu.allocate(size);
    void* y = cpu.allocate(size / 2);
    cpu.deallocate(x, size);
    cpu.deallocate(y, size / 2);
    s = cpu.memory_stats();
    most = std::max<int64_t>(most, static_cast<int64_t>(size + size / 2));
    CHECK(s.bytes_cached <= 2 * (most * 9 / 8 + 2 * 8192));  // classes round up by at most 1/8 (+ one step)
  }
  CHECK(cpu.memory_stats().device_frees > 0);
  cpu.empty_cache();
  CHECK(cpu.memory_stats().bytes_cached == 0);
}
