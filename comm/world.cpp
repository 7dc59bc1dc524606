#include "comm/world.h"

#include <cstdio>
#include <cstdlib>
#include <memory>

#ifdef HC_MPI
#include "comm/mpi_communicator.h"
#endif
#ifdef HC_NCCL
#include "comm/nccl_communicator.h"
#endif

namespace hc {

bool built_with_mpi() {
#ifdef HC_MPI
  return true;
#else
  return false;
#endif
}

bool built_with_nccl() {
#ifdef HC_NCCL
  return true;
#else
  return false;
#endif
}

static bool env_int(const char* name, int& out) {
  const char* s = std::getenv(name);
  if (!s || !*s) return false;
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  HC_CHECK(*end == '\0' && v >= 0 && v < (1 << 24), "environment variable ", name, "='", s, "' is not a rank or size");
  out = static_cast<int>(v);
  return true;
}

LaunchInfo detect_launch() {
  LaunchInfo li;
  if (env_int("OMPI_COMM_WORLD_SIZE", li.size)) {
    li.launcher = "mpirun (Open MPI)";
    env_int("OMPI_COMM_WORLD_RANK", li.rank);
    env_int("OMPI_COMM_WORLD_LOCAL_RANK", li.local_rank);
  } else if (env_int("PMI_SIZE", li.size)) {
    li.launcher = "an MPI launcher (PMI_SIZE)";
    env_int("PMI_RANK", li.rank);
    if (!env_int("MPI_LOCALRANKID", li.local_rank)) li.local_rank = li.rank;
  } else if (env_int("PMIX_RANK", li.rank)) {
    li.launcher = "a PMIx launcher (PMIX_RANK)";
    li.size_known = false;  // MPI_Init tells
    li.size = li.rank + 1;
    li.local_rank = li.rank;
  } else if (env_int("HC_WORLD_SIZE", li.size)) {
    li.launcher = "HC_WORLD_SIZE";
    HC_CHECK(env_int("HC_RANK", li.rank), "HC_WORLD_SIZE is set but HC_RANK is not");
    if (!env_int("HC_LOCAL_RANK", li.local_rank)) li.local_rank = li.rank;
  }
  HC_CHECK(li.size >= 1 && li.rank < li.size, "launch environment: rank ", li.rank, " of ", li.size, " processes");
  return li;
}

namespace {
struct World {
  std::unique_ptr<Communicator> cpu, cuda;
  bool parallel = false;
};
World& world() {
  static World w;
  return w;
}

bool mpi_launch(const LaunchInfo& li) { return !li.launcher.empty() && li.launcher != "HC_WORLD_SIZE"; }

#ifndef HC_MPI
std::string no_mpi_message(const LaunchInfo& li) {
  return cat("this process is rank ", li.rank, li.size_known ? cat(" of ", li.size) : std::string(), " under ",
             li.launcher, ", but this hyperclip was built without MPI (make MPI=0, or libopenmpi-dev was not found "
             "at build time), so it cannot join the other processes: multi-process runs need an MPI build "
             "(tools/setup.sh installs libopenmpi-dev and openmpi-bin; then make)");
}
#endif
}  // namespace

Communicator& world_communicator(Device device) {
  World& w = world();
  std::unique_ptr<Communicator>& slot = device == Device::CPU ? w.cpu : w.cuda;
  if (slot) return *slot;
  LaunchInfo li = detect_launch();
  if (li.size == 1 && li.size_known) {
    slot = std::make_unique<SingleProcessCommunicator>(device);  // no MPI call at all
    return *slot;
  }
  bool mpi = mpi_launch(li);
#ifndef HC_MPI
  HC_CHECK(!mpi, no_mpi_message(li));
#endif
  if (device == Device::CPU) {
    HC_CHECK(mpi, "CPU ranks exchange tensors over MPI: start them with mpirun (HC_WORLD_SIZE and HC_RANK are for "
                  "CUDA ranks with NCCL)");
#ifdef HC_MPI
    auto comm = std::make_unique<MpiCommunicator>();
    HC_CHECK(!li.size_known || comm->size() == li.size, "MPI reports ", comm->size(), " processes, the launcher ",
             li.size);
    slot = std::move(comm);
    w.parallel = slot->size() > 1;
#endif
    return *slot;
  }
#ifdef HC_NCCL
  MpiCommunicator* boot = nullptr;
  int rank = li.rank, size = li.size, local_rank = li.local_rank;
#ifdef HC_MPI
  if (mpi) {
    boot = static_cast<MpiCommunicator*>(&world_communicator(Device::CPU));
    rank = boot->rank();
    size = boot->size();
    local_rank = boot->local_rank();
  }
#endif
  select_gpu_for_local_rank(local_rank);  // before anything creates the CUDA backend
  const char* id_file = std::getenv("HC_NCCL_ID_FILE");
  slot = std::make_unique<NcclCommunicator>(rank, size, boot, id_file ? id_file : "");
  w.parallel = w.parallel || size > 1;
  return *slot;
#else
  throw Error(cat("this process is rank ", li.rank, " of a multi-process CUDA job, but this hyperclip was built "
                  "without NCCL (nccl.h and libnccl.so.2 were not found: NCCL_HOME=DIR make); CUDA ranks exchange "
                  "tensors over NCCL"));
#endif
}

bool job_is_parallel() { return world().parallel; }

void end_job_on_error(const std::string& message, int exit_code) {
  World& w = world();
  if (!w.parallel) return;
  Communicator& c = w.cuda && w.cuda->size() > 1 ? *w.cuda : *w.cpu;
  c.abort(cat(message, " [rank ", c.rank(), " of ", c.size(), "; ending every rank]"), exit_code);
}

void finish_job() {
  World& w = world();
  w.cuda.reset();
  w.cpu.reset();  // MPI_Finalize
  w.parallel = false;
}

}  // namespace hc
