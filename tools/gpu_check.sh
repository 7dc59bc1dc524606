#!/usr/bin/env bash
# The whole GPU check in one command, for a lent GPU machine (docs/cuda.md): build there with the
# packed headers (.devdeps from tools/device_deps.sh, carried with the tree), then
#   1. the CUDA test cases, printing every CUDA-vs-CPU comparison      -> $OUT/cuda_tests.log
#   2. the whole doctest suite (the CUDA cases included, nothing skips) -> $OUT/tests.log
#   3. train/eval on the GPU for a few steps, fp32 and bf16            -> $OUT/train_cuda.log
#   4. make bench-gpu: engine fp32/bf16 against PyTorch eager and torch.compile -> $OUT/bench_gpu.log
# cuDNN and cuBLAS are taken from the CUDA toolkit if it has them, else from PyTorch's nvidia-*
# wheels. Each stage has its own time limit (STAGE_LIMIT seconds) and the script goes on after a
# failure, so one broken stage still leaves the others' logs. Exit status: the number of failed stages.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build-gpu/logs}
BUILD=${BUILD:-build-gpu}
STAGE_LIMIT=${STAGE_LIMIT:-240}
JOBS=${JOBS:-$(nproc)}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu_check.log") 2>&1
t_start=$(date +%s)
stamp() { echo "[gpu_check +$(( $(date +%s) - t_start ))s] $*"; }

stamp "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
NVCC=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
[ -n "$NVCC" ] || { echo "gpu_check: nvcc not found"; exit 9; }
CUDA_HOME=$(dirname "$(dirname "$(readlink -f "$NVCC")")")
"$NVCC" --version | tail -1
[ -d .devdeps ] || { echo "gpu_check: .devdeps missing: run tools/device_deps.sh here and carry .devdeps"; exit 9; }

# Folders holding a library: the toolkit first, then the system, then PyTorch's nvidia-* wheels.
wheel_libs=$(python3 -c "import nvidia, os; print(' '.join(os.path.join(p, x, 'lib') for p in nvidia.__path__ for x in sorted(os.listdir(p))))" 2>/dev/null)
find_home() {  # $1: file name glob; prints the folder above the lib folder holding it
  for d in "$CUDA_HOME/lib64" "$CUDA_HOME/lib" /usr/lib/x86_64-linux-gnu $wheel_libs; do
    if compgen -G "$d/$1" >/dev/null; then dirname "$d"; return 0; fi
  done
  return 1
}
CUDNN_HOME=$(find_home 'libcudnn.so*') || { echo "gpu_check: cuDNN not found"; exit 9; }
CUBLAS_HOME=$(find_home 'libcublas.so*') || { echo "gpu_check: cuBLAS not found"; exit 9; }
[ -e "$CUDNN_HOME/include/cudnn.h" ] || [ -e /usr/include/cudnn.h ] || echo "gpu_check: warning: no cudnn.h beside $CUDNN_HOME"
cudnn_lib=$(ls -d "$CUDNN_HOME"/lib64 "$CUDNN_HOME"/lib 2>/dev/null | head -1)
cublas_lib=$(ls -d "$CUBLAS_HOME"/lib64 "$CUBLAS_HOME"/lib 2>/dev/null | head -1)
if [ -e "$cudnn_lib/libcudnn.so" ]; then CUDA_LIBS="-lcudnn -lcudart -ldl"; else CUDA_LIBS="-l:$(basename "$(ls "$cudnn_lib"/libcudnn.so.* | head -1)") -lcudart -ldl"; fi
# cuDNN opens its engine libraries and the backend opens cuBLAS at run time.
export LD_LIBRARY_PATH="$cudnn_lib:$cublas_lib:$CUDA_HOME/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
stamp "CUDA_HOME=$CUDA_HOME CUDNN_HOME=$CUDNN_HOME CUBLAS_HOME=$CUBLAS_HOME CUDA_LIBS=$CUDA_LIBS"
MAKEVARS=(BUILD="$BUILD" DEPS=.devdeps CUDA=1 NVCC="$NVCC" CUDA_HOME="$CUDA_HOME" CUDNN_HOME="$CUDNN_HOME"
          CUBLAS_HOME="$CUBLAS_HOME" CUDA_LIBS="$CUDA_LIBS")

failed=0
stage() {  # $1: name, $2: log file, rest: command
  local name=$1 log=$2; shift 2
  stamp "$name: $*"
  timeout "$STAGE_LIMIT" "$@" > "$OUT/$log" 2>&1
  local rc=$?
  tail -n 25 "$OUT/$log"
  if [ $rc -ne 0 ]; then failed=$((failed + 1)); stamp "$name FAILED (exit $rc; 124 = over ${STAGE_LIMIT}s)"; else stamp "$name ok"; fi
  return $rc
}

stage build build.log make -j"$JOBS" "${MAKEVARS[@]}" all "$BUILD/test_hyperclip" || { stamp "build failed: nothing else can run"; exit 9; }
"$BUILD/hyperclip" info || true
stage cuda-tests cuda_tests.log env OMP_NUM_THREADS=2 HYPERCLIP_BIN="./$BUILD/hyperclip" "./$BUILD/test_hyperclip" -tc='cuda*' -s
stage all-tests tests.log env OMP_NUM_THREADS=2 HYPERCLIP_BIN="./$BUILD/hyperclip" "./$BUILD/test_hyperclip"
stage train-cuda train_cuda.log bash -c "
  set -e
  for p in fp32 bf16; do
    ./$BUILD/hyperclip train --image convnet-nano --text text-nano --hyper hyper-nano --mode hyper --data synthetic \
      --eval-data synthetic --steps 60 --batch 64 --lr 3e-3 --device cuda --precision \$p --log-every 10 \
      --eval-every 60 --out $BUILD/runs/convnet-\$p
    ./$BUILD/hyperclip eval --ckpt $BUILD/runs/convnet-\$p/last.safetensors --data synthetic --device cuda
  done"
stage bench-gpu bench_gpu.log make "${MAKEVARS[@]}" bench-gpu TORCH_PYTHON=python3
stamp "done: $failed failed stage(s)"
exit $failed
