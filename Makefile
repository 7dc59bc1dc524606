# hyperclip build.
#   make             static library build/libhyperclip.a and the CLI build/hyperclip
#   make test        builds and runs the doctest suite (build/test_hyperclip)
#   make asan-test   the suite under AddressSanitizer + UBSan (build/asan/)
#   make fuzz        libFuzzer harnesses (tests/fuzz/) built with clang in build/fuzz/; make fuzz-run
# The CUDA backend is compiled whenever nvcc and cuDNN's header are found (NVCC=... to point elsewhere, CUDA=0
# to skip); the first lines of every make say what was found.
# cuBLAS and cuDNN are taken from CUDA_HOME unless CUBLAS_HOME / CUDNN_HOME point elsewhere (e.g. the
# nvidia-cublas / nvidia-cudnn Python wheels' folders, which hold include/ and lib/).

BUILD    ?= build
CXX      ?= g++
CUDA_HOME ?= /usr/local/cuda
NVCC     ?= $(shell command -v nvcc 2>/dev/null || ( [ -x $(CUDA_HOME)/bin/nvcc ] && echo $(CUDA_HOME)/bin/nvcc ))
CUBLAS_HOME ?= $(CUDA_HOME)
CUDNN_HOME  ?= $(CUDA_HOME)
# The CUDA backend needs nvcc and cuDNN's header; with nvcc but no cuDNN it is left out (said below).
CUDNN_H  := $(firstword $(wildcard $(CUDNN_HOME)/include/cudnn.h $(DEPS)/include/cudnn.h))
CUDA     ?= $(if $(and $(NVCC),$(CUDNN_H)),1,0)
# sm_90 (Hopper) code plus PTX that later GPUs can JIT-compile.
CUDA_ARCH ?= -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90

OPT      ?= -O3 -march=native
EIGEN_INC ?= /usr/include/eigen3
CXXFLAGS += -std=c++17 $(OPT) -fopenmp -Wall -Wextra -Wno-unused-parameter -I. -isystem $(EIGEN_INC) -MMD -MP
LDFLAGS  += -fopenmp
# DEPS=DIR: headers and libraries from DIR/include and DIR/lib before the system's, for a machine
# without the Debian packages (the bare GPU machine: tools/device_deps.sh packs them, tools/gpu_check.sh
# builds with them).
ifneq ($(DEPS),)
  EIGEN_INC := $(DEPS)/include/eigen3
  CXXFLAGS  += -isystem $(DEPS)/include
  LDFLAGS   += -L$(DEPS)/lib
endif
# Image decoding (data/image_decode.cpp): Debian's libjpeg62-turbo-dev and libpng-dev; before -lz,
# which libpng needs when it is linked statically (DEPS).
LDLIBS   += -ljpeg -lpng16
LDLIBS   += -lpthread -lz

# BLAS=openblas: float32 matrix products through OpenBLAS's sgemm (Debian's libopenblas0-pthread,
# which tools/setup.sh installs); BLAS=eigen keeps every product in Eigen. Default: OpenBLAS when
# its library is present.
OPENBLAS_LIB ?= /usr/lib/x86_64-linux-gnu/libopenblas.so.0
BLAS ?= $(if $(wildcard $(OPENBLAS_LIB)),openblas,eigen)
ifeq ($(BLAS),openblas)
  CXXFLAGS += -DHC_OPENBLAS
  LDLIBS   += $(OPENBLAS_LIB)
endif

ifeq ($(SANITIZE),1)
  OPT := -O1 -g -fno-omit-frame-pointer
  CXXFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDFLAGS  += -fsanitize=address,undefined
endif

# FUZZ=1 (set by `make fuzz`): the library with clang, coverage for libFuzzer, ASan and UBSan.
FUZZ_CXX ?= clang++-14
ifeq ($(FUZZ),1)
  CXX := $(FUZZ_CXX)
  OPT := -O1 -g -fno-omit-frame-pointer
  CXXFLAGS += -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
  LDFLAGS  += -fsanitize=address,undefined
endif

LIB_SRC  := $(wildcard core/*.cpp ops/*.cpp ops/cpu/*.cpp models/*.cpp train/*.cpp infer/*.cpp data/*.cpp)
CLI_SRC  := $(wildcard cli/*.cpp)
TEST_SRC := $(wildcard tests/*.cpp)
BENCH_SRC := $(wildcard bench/*.cpp)
CU_SRC   :=
ifeq ($(CUDA),1)
  CU_SRC   := $(wildcard core/*.cu ops/cuda/*.cu)
  # cuBLAS is not linked: the backend dlopens libcublas.so.<major> on first use (ops/cuda/cublas_api.h),
  # found through the rpath below. A wheel may ship only libcudnn.so.9: CUDA_LIBS="-l:libcudnn.so.9 -lcudart -ldl"
  CUDA_LIBS   ?= -lcudnn -lcudart -ldl
  CUBLAS_LIB  ?= $(firstword $(wildcard $(CUBLAS_HOME)/lib64 $(CUBLAS_HOME)/lib) $(CUBLAS_HOME)/lib64)
  CUDNN_LIB   ?= $(firstword $(wildcard $(CUDNN_HOME)/lib64 $(CUDNN_HOME)/lib) $(CUDNN_HOME)/lib64)
  CUDA_INC := $(addprefix -isystem ,$(sort $(CUDA_HOME)/include $(CUBLAS_HOME)/include $(CUDNN_HOME)/include))
  CXXFLAGS += -DHC_CUDA $(CUDA_INC)
  NVCCFLAGS ?= -std=c++17 -O3 $(CUDA_ARCH) -I. -DHC_CUDA $(CUDA_INC) -Xcompiler -fopenmp -MMD -MP
  NVCCFLAGS += $(if $(DEPS),-isystem $(DEPS)/include -isystem $(EIGEN_INC))
  LDLIBS   += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 \
              -L$(CUBLAS_LIB) -Wl,-rpath,$(CUBLAS_LIB) -L$(CUDNN_LIB) -Wl,-rpath,$(CUDNN_LIB) \
              $(CUDA_LIBS)
endif

# ---- MPI and NCCL: training across processes (docs/distributed.md) -----------------------------
# MPI=1 when Open MPI's compiler wrapper (mpicxx) or pkg-config's ompi-cxx is found (Debian's
# libopenmpi-dev, which tools/setup.sh installs); MPI=0 builds without it, and such a binary refuses to
# run as one of several ranks under mpirun. NCCL=1 when CUDA is built and nccl.h and libnccl.so.2 are
# found under NCCL_HOME (default CUDA_HOME; on a GPU machine PyTorch's nvidia-nccl-cu* wheel folder,
# .../site-packages/nvidia/nccl, which holds include/ and lib/). Neither is needed for one process.
MPICXX ?= mpicxx
MPI_FOUND := $(if $(shell command -v $(MPICXX) 2>/dev/null),mpicxx,$(if $(shell pkg-config --exists ompi-cxx 2>/dev/null && echo y),pkg-config,))
MPI ?= $(if $(MPI_FOUND),1,0)
COMM_SRC := comm/world.cpp
ifeq ($(MPI),1)
  ifeq ($(MPI_FOUND),mpicxx)
    MPI_CFLAGS := $(shell $(MPICXX) --showme:compile)
    MPI_LIBS   := $(shell $(MPICXX) --showme:link)
  else
    MPI_CFLAGS := $(shell pkg-config --cflags ompi-cxx)
    MPI_LIBS   := $(shell pkg-config --libs ompi-cxx)
  endif
  # OMPI_SKIP_MPICXX: the C API only (the C++ bindings are deprecated and unused).
  CXXFLAGS += -DHC_MPI -DOMPI_SKIP_MPICXX $(filter-out -I%,$(MPI_CFLAGS)) $(patsubst -I%,-isystem %,$(filter -I%,$(MPI_CFLAGS)))
  LDLIBS   += $(MPI_LIBS)
  COMM_SRC += comm/mpi_communicator.cpp
  MPI_STATUS := ✓ MPI ($(MPI_FOUND): $(MPI_LIBS))
else
  MPI_STATUS := ✗ MPI (multi-process training off: install libopenmpi-dev, tools/setup.sh)
endif
NCCL_HOME ?= $(CUDA_HOME)
NCCL_LIBDIR := $(dir $(firstword $(wildcard $(NCCL_HOME)/lib64/libnccl.so.2 $(NCCL_HOME)/lib/libnccl.so.2)))
NCCL ?= $(if $(and $(filter 1,$(CUDA)),$(wildcard $(NCCL_HOME)/include/nccl.h),$(NCCL_LIBDIR)),1,0)
ifeq ($(NCCL),1)
  CXXFLAGS += -DHC_NCCL -isystem $(NCCL_HOME)/include
  LDLIBS   += -L$(NCCL_LIBDIR) -Wl,-rpath,$(NCCL_LIBDIR) -l:libnccl.so.2
  COMM_SRC += comm/nccl_communicator.cpp
  NCCL_STATUS := ✓ NCCL ($(NCCL_HOME)/include/nccl.h, $(NCCL_LIBDIR)libnccl.so.2)
else
  NCCL_STATUS := ✗ NCCL (CUDA ranks need it; not needed on the CPU: NCCL_HOME=DIR with include/nccl.h and lib/libnccl.so.2)
endif
LIB_SRC += $(COMM_SRC)
# ------------------------------------------------------------------------------------------------
# What this build found, printed once per top-level make (✓ used, ✗ left out, and why).
ifeq ($(MAKELEVEL),0)
ifneq ($(filter-out clean,$(or $(MAKECMDGOALS),all)),)
  $(info hyperclip build: $(if $(filter openblas,$(BLAS)),✓ OpenBLAS (float32 products),✗ OpenBLAS (products through Eigen; tools/setup.sh installs libopenblas0-pthread)))
  $(info hyperclip build: $(if $(NVCC),✓ nvcc $(NVCC),✗ nvcc (CPU only)))
  $(if $(NVCC),$(info hyperclip build: $(if $(CUDNN_H),✓ cuDNN $(CUDNN_H),✗ cuDNN (no cudnn.h under $(CUDNN_HOME)/include: the CUDA backend is left out))))
  $(info hyperclip build: $(if $(filter 1,$(CUDA)),✓ CUDA backend,✗ CUDA backend))
  $(info hyperclip build: $(MPI_STATUS))
  $(info hyperclip build: $(NCCL_STATUS))
endif
endif

LIB_OBJ  := $(LIB_SRC:%.cpp=$(BUILD)/obj/%.o) $(CU_SRC:%.cu=$(BUILD)/obj/%.cu.o)
CLI_OBJ  := $(CLI_SRC:%.cpp=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.cpp=$(BUILD)/obj/%.o)
BENCH_BIN := $(BENCH_SRC:bench/%.cpp=$(BUILD)/%)

.PHONY: all test asan-test clean bench-classify
all: $(BUILD)/libhyperclip.a $(BUILD)/hyperclip $(BENCH_BIN)

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/obj/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@

$(BUILD)/libhyperclip.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/hyperclip: $(CLI_OBJ) $(BUILD)/libhyperclip.a
	$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench_%: $(BUILD)/obj/bench/bench_%.o $(BUILD)/libhyperclip.a
	$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Test objects link directly so that their static op-case registrations are kept.
$(BUILD)/test_hyperclip: $(TEST_OBJ) $(BUILD)/libhyperclip.a
	$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# OMP_NUM_THREADS fixed so that results do not depend on the machine's core count. The Markdown is
# checked too: line lengths and links (tools/check_docs.py), and that the figures in docs/results.md
# and README.md are those under results/ (tools/results_report.py).
# The emoji dataset's split and caption rules are tested with node (no npm packages, no network),
# when node is present (tools/setup_data.sh; CI installs it).
test: $(BUILD)/test_hyperclip $(BUILD)/hyperclip
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} HYPERCLIP_BIN=./$(BUILD)/hyperclip ./$(BUILD)/test_hyperclip $(TEST_ARGS)
	@/usr/bin/python3 tools/check_docs.py
	@/usr/bin/python3 tools/results_report.py --check && echo "results_report: docs/results.md and README.md's figures match results/"
	@if command -v node >/dev/null; then \
	  node --test data/emoji/test_rules.js > $(BUILD)/test_emoji_rules.log 2>&1 || { cat $(BUILD)/test_emoji_rules.log; exit 1; }; \
	  grep -E '^# (pass|fail)' $(BUILD)/test_emoji_rules.log | tr '\n' ' ' | sed 's/^/emoji dataset rules (node --test): /'; echo; \
	else echo "emoji dataset rules: SKIPPED (node not found; bash tools/setup_data.sh installs it)"; fi

asan-test:
	$(MAKE) BUILD=build/asan SANITIZE=1 CUDA=0 test

clean:
	rm -rf build

# Hostile input (issue 24, docs/untrusted-input.md): one libFuzzer harness per parser in
# tests/fuzz/fuzz_*.cpp, built with clang against a clang build of the library in build/fuzz/, and
# their seed corpora (build/fuzz/seeds/, written by tests/fuzz/make_seeds.cpp). `make fuzz-run`
# runs each for FUZZ_SECONDS, one after the other, and fails on any finding; FUZZ_JSONL=FILE
# appends a JSON line per harness (executions, findings) there.
FUZZ_BUILD   := build/fuzz
FUZZ_SECONDS ?= 20
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.cpp,%,$(wildcard tests/fuzz/fuzz_*.cpp))
.PHONY: fuzz fuzz-build fuzz-run
fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) FUZZ=1 CUDA=0 fuzz-build
fuzz-build: $(addprefix $(BUILD)/fuzz_,$(FUZZ_NAMES)) $(BUILD)/make_seeds
	rm -rf $(BUILD)/seeds && ./$(BUILD)/make_seeds $(BUILD)/seeds
$(BUILD)/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/libhyperclip.a
	$(CXX) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)
$(BUILD)/make_seeds: $(BUILD)/obj/tests/fuzz/make_seeds.o $(BUILD)/libhyperclip.a
	$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)
fuzz-run: fuzz
	bash tools/fuzz_run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_JSONL)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# comm/world.cpp is compiled differently with and without MPI and NCCL: rebuilt when they change.
COMM_STAMP := $(BUILD)/obj/comm/.mpi$(MPI)-nccl$(NCCL)
$(COMM_STAMP):
	@mkdir -p $(dir $@)
	@rm -f $(BUILD)/obj/comm/.mpi*
	@touch $@
$(BUILD)/obj/comm/world.o: $(COMM_STAMP)

# The main job: HyperCLIP against the baseline on the built-in synthetic data (tools/demo.sh).
.PHONY: demo
demo: $(BUILD)/hyperclip
	bash tools/demo.sh

# Exported-classifier inference against PyTorch eval mode, same thread count, one run (JSON lines).
# PyTorch runs without the machine's OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE pins (they slow it).
BENCH_THREADS ?= 2
bench-classify: $(BUILD)/bench_classifier
	OMP_NUM_THREADS=$(BENCH_THREADS) ./$(BUILD)/bench_classifier --threads $(BENCH_THREADS)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=$(BENCH_THREADS) /usr/bin/python3 bench/torch_classifier.py --threads $(BENCH_THREADS)

# Per-op timing, the op registry's perf mode (tests/op_registry.h): every large case forward and
# backward in float32 on each backend present, one JSON line per case and backend.
.PHONY: bench-ops
bench-ops: $(BUILD)/test_hyperclip
	@OMP_NUM_THREADS=$(BENCH_THREADS) ./$(BUILD)/test_hyperclip --no-skip -tc='*perf: time per backend*' \
	  | grep '^{'

# Training throughput against PyTorch (SPEC §4 CPU configurations, same thread count, one run):
# every configuration in BENCH_CONFIGS and mode in BENCH_MODES, with random tokens and with the
# real captions of BENCH_CAPTIONS (a dataset spec; the engine writes the batch's tokens for PyTorch,
# which pads them to the context as open_clip does), each in fp32 and bf16 (the engine's
# --precision bf16; PyTorch under torch.autocast("cpu", torch.bfloat16)). Each run is its own process
# (each measures its own peak memory and both matrix-product peaks, fp32 and bf16); JSON lines go
# into $(BUILD)/bench.jsonl, then bench/bench_summary.py prints the table and the ratios. Both sides
# run without the OPENBLAS_* pins (PyTorch's float32 products and the engine's go to OpenBLAS's own
# kernels for this CPU). Both run with OMP_WAIT_POLICY=passive: on this shared 2-core machine a
# spinning OpenMP thread takes the core its descheduled partner needs, and both sides measured 2-4x
# faster passive than spinning (BENCH_WAIT=active to compare).
BENCH_STEPS ?= 10
BENCH_WAIT ?= passive
BENCH_MODES ?= hyper
BENCH_CONFIGS ?= cpu-convnet cpu-vit cpu-mci
BENCH_CAPTIONS ?= synthetic
BENCH_PRECISIONS ?= fp32 bf16
BENCH_ENV = env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=$(BENCH_WAIT) OMP_NUM_THREADS=$(BENCH_THREADS)
.PHONY: bench
bench: $(BUILD)/hyperclip
	@rm -f $(BUILD)/bench.jsonl
	@for mode in $(BENCH_MODES); do for cfg in $(BENCH_CONFIGS); do for cap in random $(BENCH_CAPTIONS); do \
	  eng=""; tor=""; \
	  if [ "$$cap" != random ]; then eng="--captions $$cap --tokens-out $(BUILD)/bench_tokens.json"; \
	    tor="--tokens $(BUILD)/bench_tokens.json"; fi; \
	  for prec in $(BENCH_PRECISIONS); do \
	    $(BENCH_ENV) ./$(BUILD)/hyperclip bench --config $$cfg --mode $$mode --precision $$prec $$eng \
	      --steps $(BENCH_STEPS) --threads $(BENCH_THREADS) | tee -a $(BUILD)/bench.jsonl || exit 1; \
	    $(BENCH_ENV) /usr/bin/python3 bench/torch_bench.py --config $$cfg --mode $$mode --precision $$prec $$tor \
	      --steps $(BENCH_STEPS) --threads $(BENCH_THREADS) | tee -a $(BUILD)/bench.jsonl || exit 1; \
	  done; done; done; done
	@/usr/bin/python3 bench/bench_summary.py $(BUILD)/bench.jsonl

# Training across processes (docs/distributed.md): per configuration, one process with
# BENCH_DIST_RANKS threads, then mpirun -np BENCH_DIST_RANKS with one thread per rank, the same global
# batch and steps, one after the other in one run: JSON lines with images_per_s and, for the ranks,
# comm_share (the share of the step spent in collectives). MPIRUN_FLAGS for the launch (the defaults
# allow root, as CI runs, and leave binding to the OS on a shared machine).
BENCH_DIST_CONFIGS ?= cpu-vit cpu-convnet
BENCH_DIST_RANKS   ?= 2
MPIRUN_FLAGS ?= --oversubscribe --bind-to none --allow-run-as-root
.PHONY: bench-dist
bench-dist: $(BUILD)/hyperclip
	@rm -f $(BUILD)/bench-dist.jsonl
	@for cfg in $(BENCH_DIST_CONFIGS); do \
	  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=$(BENCH_WAIT) OMP_NUM_THREADS=$(BENCH_DIST_RANKS) \
	    ./$(BUILD)/hyperclip bench --config $$cfg --steps $(BENCH_STEPS) --threads $(BENCH_DIST_RANKS) \
	    | tee -a $(BUILD)/bench-dist.jsonl || exit 1; \
	  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=$(BENCH_WAIT) OMP_NUM_THREADS=1 \
	    mpirun $(MPIRUN_FLAGS) -np $(BENCH_DIST_RANKS) ./$(BUILD)/hyperclip bench --config $$cfg \
	    --steps $(BENCH_STEPS) --threads 1 | tee -a $(BUILD)/bench-dist.jsonl || exit 1; \
	done

# The multi-style emoji dataset (data/emoji/README.md): pinned npm packages -> PNGs, train TSV and
# held-out test folders under EMOJI_DATA. EMOJI_HOLDOUT picks the test family, EMOJI_TONES=train adds
# skin-tone variants to the training side, EMOJI_SIZE the render size.
EMOJI_DATA    ?= datasets/emoji
EMOJI_HOLDOUT ?= twemoji
EMOJI_TONES   ?= none
EMOJI_SIZE    ?= 64
.PHONY: data-emoji bench-emoji
data/emoji/node_modules/.package-lock.json: data/emoji/package-lock.json data/emoji/package.json
	bash tools/setup_data.sh
	cd data/emoji && npm ci --ignore-scripts --no-audit --no-fund
data-emoji: data/emoji/node_modules/.package-lock.json
	node data/emoji/build.js --out $(EMOJI_DATA) --holdout $(EMOJI_HOLDOUT) --tones $(EMOJI_TONES) --size $(EMOJI_SIZE)

# HyperCLIP, the baseline and the token control on the emoji benchmark and CIFAR-10 (tools/bench_emoji.py);
# budget through STEPS / EPOCHS / SEEDS / IMAGE_SIZE / THREADS (see tools/bench_emoji.py).
bench-emoji: $(BUILD)/hyperclip
	DATA=$(EMOJI_DATA) /usr/bin/python3 tools/bench_emoji.py

# Multi-modal reinforced training on the emoji benchmark (tools/bench_reinforced.py, docs/reinforced.md):
# teachers, `hyperclip reinforce`, students plain and distilled; budget through STEPS / TEACHER_STEPS /
# AUGMENTATIONS / WEIGHTS / JOBS / THREADS (see tools/bench_reinforced.py) -> results/reinforced/.
.PHONY: bench-reinforced
bench-reinforced: $(BUILD)/hyperclip
	DATA=$(EMOJI_DATA) /usr/bin/python3 tools/bench_reinforced.py

# GPU training throughput, SPEC §4 gpu-convnet and gpu-vit (needs a GPU): the engine in fp32 and
# bf16, then PyTorch eager and torch.compile on the same GPU in the same run, JSON lines with
# images/s and MFU. PEAK_TFLOPS=X overrides the GPU's peak from bench/gpu_peak.h; TORCH_PYTHON
# names a Python whose PyTorch has CUDA (Debian's python3-torch has none).
PEAK_TFLOPS  ?= 0
TORCH_PYTHON ?= python3
.PHONY: bench-gpu
bench-gpu: $(BUILD)/hyperclip
	@for c in gpu-convnet gpu-vit; do for p in fp32 bf16; do \
	  ./$(BUILD)/hyperclip bench --config $$c --device cuda --precision $$p --peak-tflops $(PEAK_TFLOPS) || exit 1; \
	done; done
	$(TORCH_PYTHON) bench/torch_gpu_bench.py --peak-tflops $(PEAK_TFLOPS)
