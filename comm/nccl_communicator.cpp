// NcclCommunicator (comm/nccl_communicator.h). Compiled and linked where nccl.h and libnccl.so.2
// are found; not run on a machine without a GPU.
#include "comm/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "core/backend.h"
#ifdef HC_MPI
#include "comm/mpi_communicator.h"
#endif

namespace hc {

// ncclCheck / cudaRtCheck: the library's error string, the call and the place in an hc::Error.
static void nccl_check(ncclResult_t r, const char* call, const char* file, int line) {
  if (r == ncclSuccess) return;
  throw Error(cat("NCCL error in ", call, " (", file, ":", line, "): ", ncclGetErrorString(r)));
}
static void cuda_rt_check(cudaError_t e, const char* call, const char* file, int line) {
  if (e == cudaSuccess) return;
  throw Error(cat("CUDA error in ", call, " (", file, ":", line, "): ", cudaGetErrorString(e)));
}
#define ncclCheck(call) nccl_check((call), #call, __FILE__, __LINE__)
#define cudaRtCheck(call) cuda_rt_check((call), #call, __FILE__, __LINE__)

struct NcclCommunicator::Impl {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
};

static ncclDataType_t nccl_type(const Tensor& t) {
  switch (t.dtype()) {
    case DType::F32: return ncclFloat32;
    case DType::F64: return ncclFloat64;
    case DType::I32: return ncclInt32;
  }
  throw Error("NCCL: unsupported dtype");
}

static int64_t bytes_of(const Tensor& t) { return t.numel() * static_cast<int64_t>(dtype_size(t.dtype())); }

static void pause_ms(long ms) {
  timespec t{ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&t, nullptr);
}

void select_gpu_for_local_rank(int local_rank) {
  int count = 0;
  cudaRtCheck(cudaGetDeviceCount(&count));
  HC_CHECK(count > 0, "no GPU for this rank");
  cudaRtCheck(cudaSetDevice(local_rank % count));
}

// Rank 0's unique id, written atomically (a temporary file renamed over the path).
static void write_id_file(const std::string& path, const ncclUniqueId& id) {
  std::string tmp = cat(path, ".tmp.", ::getpid());
  {
    std::ofstream f(tmp, std::ios::binary);
    f.write(id.internal, sizeof id.internal);
    HC_CHECK(f.good(), tmp, ": cannot write NCCL's unique id");
  }
  HC_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, path, ": cannot rename ", tmp, " over it");
}

static ncclUniqueId read_id_file(const std::string& path, int rank) {
  ncclUniqueId id;
  auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && st.st_size == static_cast<off_t>(sizeof id.internal)) {
      std::ifstream f(path, std::ios::binary);
      f.read(id.internal, sizeof id.internal);
      if (f.gcount() == static_cast<std::streamsize>(sizeof id.internal)) return id;
    }
    double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    HC_CHECK(waited < 300, "rank ", rank, ": waited 300 s for NCCL's unique id in ", path,
             " (rank 0 writes it when it starts)");
    pause_ms(50);
  }
}

NcclCommunicator::NcclCommunicator(int rank, int size, MpiCommunicator* mpi, const std::string& id_file)
    : rank_(rank), size_(size), mpi_(mpi), id_file_(id_file), impl_(std::make_unique<Impl>()) {
  // The stream every CUDA kernel of this process runs on (the backend binds to the device that
  // select_gpu_for_local_rank chose).
  impl_->stream = static_cast<cudaStream_t>(backend_for(Device::CUDA).native_stream());
  HC_CHECK(impl_->stream != nullptr, "NCCL: the CUDA backend has no stream");
  ncclUniqueId id;
  if (rank_ == 0) ncclCheck(ncclGetUniqueId(&id));
  if (mpi_) {
#ifdef HC_MPI
    mpi_->broadcast_bytes(id.internal, sizeof id.internal, 0);
#endif
  } else {
    HC_CHECK(!id_file_.empty(), "NCCL without MPI needs HC_NCCL_ID_FILE: a path every rank can read");
    if (rank_ == 0) write_id_file(id_file_, id);
    else id = read_id_file(id_file_, rank_);
  }
  ncclCheck(ncclCommInitRank(&impl_->comm, size_, id, rank_));
  if (!mpi_) watchdog_ = std::thread([this] { watch_abort_file(); });
}

NcclCommunicator::~NcclCommunicator() {
  stop_watchdog_ = true;
  if (watchdog_.joinable()) watchdog_.join();
  if (impl_->comm) ncclCommDestroy(impl_->comm);
}

// Without MPI nothing else would end a rank that waits in a collective for a rank that failed.
void NcclCommunicator::watch_abort_file() {
  std::string path = id_file_ + ".abort";
  while (!stop_watchdog_) {
    std::ifstream f(path);
    if (f) {
      std::string message((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      std::fprintf(stderr, "rank %d: ending, another rank failed: %s\n", rank_, message.c_str());
      std::fflush(stderr);
      ncclCommAbort(impl_->comm);  // frees this rank if it is stuck in a collective
      std::_Exit(1);
    }
    pause_ms(200);
  }
}

// With synchronous timing (benchmarks) every collective is waited for, so that its time is known;
// otherwise it is only queued on the stream and the stats count the bytes.
struct NcclTimer {
  CommStats& s;
  cudaStream_t stream;
  bool sync;
  std::chrono::steady_clock::time_point t0;
  NcclTimer(CommStats& stats, int64_t bytes, cudaStream_t st, bool synchronous) : s(stats), stream(st), sync(synchronous) {
    s.bytes += bytes;
    ++s.calls;
    if (sync) cudaRtCheck(cudaStreamSynchronize(stream));
    t0 = std::chrono::steady_clock::now();
  }
  ~NcclTimer() {
    if (sync) cudaStreamSynchronize(stream);
    s.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
};

void NcclCommunicator::all_reduce(Tensor& x) {
  check_tensor("all_reduce", x);
  NcclTimer t(stats_, bytes_of(x), impl_->stream, synchronous_timing_);
  ncclCheck(ncclAllReduce(x.raw_data(), x.raw_data(), static_cast<size_t>(x.numel()), nccl_type(x), ncclSum,
                          impl_->comm, impl_->stream));
}

void NcclCommunicator::all_gather(const Tensor& x, Tensor& out) {
  check_tensor("all_gather", x);
  check_blocks("all_gather", x, out, size_);
  NcclTimer t(stats_, bytes_of(x), impl_->stream, synchronous_timing_);
  ncclCheck(ncclAllGather(x.raw_data(), out.raw_data(), static_cast<size_t>(x.numel()), nccl_type(x), impl_->comm,
                          impl_->stream));
}

void NcclCommunicator::reduce_scatter(const Tensor& x, Tensor& out) {
  check_tensor("reduce_scatter", x);
  check_blocks("reduce_scatter", out, x, size_);
  NcclTimer t(stats_, bytes_of(x), impl_->stream, synchronous_timing_);
  ncclCheck(ncclReduceScatter(x.raw_data(), out.raw_data(), static_cast<size_t>(out.numel()), nccl_type(x), ncclSum,
                              impl_->comm, impl_->stream));
}

void NcclCommunicator::broadcast(Tensor& x, int root) {
  check_tensor("broadcast", x);
  HC_CHECK(root >= 0 && root < size_, "broadcast: root ", root, " of ", size_, " ranks");
  NcclTimer t(stats_, bytes_of(x), impl_->stream, synchronous_timing_);
  ncclCheck(ncclBroadcast(x.raw_data(), x.raw_data(), static_cast<size_t>(x.numel()), nccl_type(x), root, impl_->comm,
                          impl_->stream));
}

void NcclCommunicator::send_recv(const Tensor& send, int to, Tensor& recv, int from) {
  check_tensor("send_recv", send);
  check_tensor("send_recv", recv);
  HC_CHECK(send.shape() == recv.shape() && send.dtype() == recv.dtype(), "send_recv: ", send.desc(), " into ",
           recv.desc());
  NcclTimer t(stats_, bytes_of(send), impl_->stream, synchronous_timing_);
  size_t n = static_cast<size_t>(send.numel());
  ncclCheck(ncclGroupStart());
  ncclCheck(ncclSend(send.raw_data(), n, nccl_type(send), to, impl_->comm, impl_->stream));
  ncclCheck(ncclRecv(recv.raw_data(), n, nccl_type(recv), from, impl_->comm, impl_->stream));
  ncclCheck(ncclGroupEnd());
}

void NcclCommunicator::wait_for_stream() {
  for (;;) {
    cudaError_t e = cudaStreamQuery(impl_->stream);
    if (e == cudaSuccess) return;
    if (e != cudaErrorNotReady) cudaRtCheck(e);
    ncclResult_t async = ncclSuccess;
    ncclCheck(ncclCommGetAsyncError(impl_->comm, &async));
    ncclCheck(async);
    pause_ms(1);
  }
}

void NcclCommunicator::barrier() {
  Tensor one = Tensor::from_ints({1}, {1}, Device::CUDA);
  all_reduce(one);
  wait_for_stream();
}

void NcclCommunicator::abort(const std::string& message, int exit_code) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::fflush(stderr);
  if (mpi_) {
#ifdef HC_MPI
    mpi_abort_if_initialised(exit_code);  // ends every rank, whatever NCCL is doing
#endif
  } else {
    std::ofstream(id_file_ + ".abort") << message;  // the other ranks' watchdogs end them
  }
  if (impl_->comm) ncclCommAbort(impl_->comm);
  std::_Exit(exit_code);
}

}  // namespace hc
