#include "comm/mpi_communicator.h"

#include <mpi.h>
#include <time.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>

namespace hc {

// mpiCheck(call): MPI's error string, the call and the place in an hc::Error. MPI_COMM_WORLD
// returns errors (MPI_ERRORS_RETURN) instead of its default of ending the job silently.
static void mpi_check(int code, const char* call, const char* file, int line) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  throw Error(cat("MPI error in ", call, " (", file, ":", line, "): ", std::string(text, len)));
}
#define mpiCheck(call) mpi_check((call), #call, __FILE__, __LINE__)

static MPI_Datatype mpi_type(const Tensor& t) {
  switch (t.dtype()) {
    case DType::F32: return MPI_FLOAT;
    case DType::F64: return MPI_DOUBLE;
    case DType::I32: return MPI_INT32_T;
  }
  throw Error("MPI: unsupported dtype");
}

static int mpi_count(const char* op, int64_t n) {
  HC_CHECK(n <= INT_MAX, op, ": ", n, " elements in one MPI call (at most ", INT_MAX, ")");
  return static_cast<int>(n);
}

// Times one collective into the communicator's statistics.
struct CallTimer {
  CommStats& s;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  CallTimer(CommStats& stats, int64_t bytes) : s(stats) {
    s.bytes += bytes;
    ++s.calls;
  }
  ~CallTimer() { s.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
};

static int64_t bytes_of(const Tensor& t) { return t.numel() * static_cast<int64_t>(dtype_size(t.dtype())); }

MpiCommunicator::MpiCommunicator() {
  int initialised = 0;
  mpiCheck(MPI_Initialized(&initialised));
  if (!initialised) {
    int provided = 0;
    // Only the main thread calls MPI; the loader's decoding threads never do.
    mpiCheck(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
    HC_CHECK(provided >= MPI_THREAD_FUNNELED, "MPI: the library offers no MPI_THREAD_FUNNELED support");
  }
  mpiCheck(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  mpiCheck(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  mpiCheck(MPI_Comm_size(MPI_COMM_WORLD, &size_));
  MPI_Comm node;
  mpiCheck(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
  mpiCheck(MPI_Comm_rank(node, &local_rank_));
  mpiCheck(MPI_Comm_free(&node));
}

MpiCommunicator::~MpiCommunicator() {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (!finalised) MPI_Finalize();
}

void MpiCommunicator::all_reduce(Tensor& x) {
  check_tensor("all_reduce", x);
  CallTimer t(stats_, bytes_of(x));
  mpiCheck(MPI_Allreduce(MPI_IN_PLACE, x.raw_data(), mpi_count("all_reduce", x.numel()), mpi_type(x), MPI_SUM,
                         MPI_COMM_WORLD));
}

void MpiCommunicator::all_gather(const Tensor& x, Tensor& out) {
  check_tensor("all_gather", x);
  check_blocks("all_gather", x, out, size_);
  CallTimer t(stats_, bytes_of(x));
  int n = mpi_count("all_gather", x.numel());
  mpiCheck(MPI_Allgather(x.raw_data(), n, mpi_type(x), out.raw_data(), n, mpi_type(x), MPI_COMM_WORLD));
}

void MpiCommunicator::reduce_scatter(const Tensor& x, Tensor& out) {
  check_tensor("reduce_scatter", x);
  check_blocks("reduce_scatter", out, x, size_);
  CallTimer t(stats_, bytes_of(x));
  mpiCheck(MPI_Reduce_scatter_block(x.raw_data(), out.raw_data(), mpi_count("reduce_scatter", out.numel()),
                                    mpi_type(x), MPI_SUM, MPI_COMM_WORLD));
}

void MpiCommunicator::broadcast(Tensor& x, int root) {
  check_tensor("broadcast", x);
  HC_CHECK(root >= 0 && root < size_, "broadcast: root ", root, " of ", size_, " ranks");
  CallTimer t(stats_, bytes_of(x));
  mpiCheck(MPI_Bcast(x.raw_data(), mpi_count("broadcast", x.numel()), mpi_type(x), root, MPI_COMM_WORLD));
}

void MpiCommunicator::send_recv(const Tensor& send, int to, Tensor& recv, int from) {
  check_tensor("send_recv", send);
  check_tensor("send_recv", recv);
  HC_CHECK(send.shape() == recv.shape() && send.dtype() == recv.dtype(), "send_recv: ", send.desc(), " into ",
           recv.desc());
  CallTimer t(stats_, bytes_of(send));
  int n = mpi_count("send_recv", send.numel());
  mpiCheck(MPI_Sendrecv(send.raw_data(), n, mpi_type(send), to, 0, recv.raw_data(), n, mpi_type(recv), from, 0,
                        MPI_COMM_WORLD, MPI_STATUS_IGNORE));
}

void MpiCommunicator::barrier() {
  CallTimer t(stats_, 0);
  MPI_Request req;
  mpiCheck(MPI_Ibarrier(MPI_COMM_WORLD, &req));
  int done = 0;
  for (;;) {
    mpiCheck(MPI_Test(&req, &done, MPI_STATUS_IGNORE));
    if (done) return;
    timespec pause{0, 1000000};  // 1 ms: MPI's own wait would spin a core for as long as rank 0 evaluates
    nanosleep(&pause, nullptr);
  }
}

void MpiCommunicator::broadcast_bytes(void* data, size_t bytes, int root) {
  mpiCheck(MPI_Bcast(data, mpi_count("broadcast", static_cast<int64_t>(bytes)), MPI_BYTE, root, MPI_COMM_WORLD));
}

void MpiCommunicator::abort(const std::string& message, int exit_code) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);  // MPI_Abort does not return; this only satisfies [[noreturn]]
}

void mpi_abort_if_initialised(int exit_code) {
  int initialised = 0, finalised = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  if (initialised && !finalised) MPI_Abort(MPI_COMM_WORLD, exit_code);
}

}  // namespace hc
