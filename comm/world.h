// The processes of one job (SPEC §6): how this process was launched, the communicator of the job
// for a device, and how the job ends (normally, or all at once when one rank fails).
//
// Dependencies: comm/ implements core/communicator.h with MPI (comm/mpi_communicator.cpp, only in
// builds with MPI) and NCCL (comm/nccl_communicator.cpp, only in builds with CUDA and NCCL). It
// depends on core/ alone; ops, models and train reach it through the Communicator interface, and
// only the trainer, bench and main (which starts and ends the job) include this header.
#pragma once
#include <string>

#include "core/communicator.h"

namespace hc {

// How this process was started: rank `rank` of `size` (1 when not started by a parallel launcher).
struct LaunchInfo {
  int rank = 0, size = 1;
  int local_rank = 0;    // among the job's processes on this machine (picks the GPU)
  std::string launcher;  // "" for a plain start, else what set the environment
  bool size_known = true;  // false under a PMIx launcher that only says the rank (MPI tells the size)
};
// Read from the environment: Open MPI's mpirun (OMPI_COMM_WORLD_SIZE/RANK/LOCAL_RANK), MPICH-style
// launchers (PMI_SIZE/PMI_RANK), PMIx (PMIX_RANK), or, for NCCL without MPI, HC_WORLD_SIZE/HC_RANK
// (with HC_LOCAL_RANK and HC_NCCL_ID_FILE, docs/distributed.md).
LaunchInfo detect_launch();

bool built_with_mpi();
bool built_with_nccl();

// The communicator of this job for tensors on `device`, created on first use: a single-process one
// when the job has one process; MPI for CPU tensors and NCCL for CUDA tensors otherwise. The first
// multi-process call initialises MPI (and, for CUDA, picks this rank's GPU before anything else
// touches the GPU, so call it before the CUDA backend is first used). Throws, saying why, when the
// build lacks what the launch needs (an MPI=0 build under mpirun, CUDA ranks without NCCL).
Communicator& world_communicator(Device device);

// True once a communicator of more than one process exists.
bool job_is_parallel();

// A rank failed with `message`: in a job of several processes, prints it with this rank's number and
// ends every process (exit status `exit_code`); returns only in a single-process job.
void end_job_on_error(const std::string& message, int exit_code);

// A command finished on this rank (whatever its exit status): closes NCCL and MPI (MPI_Finalize,
// which waits for the other ranks to finish too).
void finish_job();

}  // namespace hc
