# hbpo - build, test and run.
#   make            examples into build/
#   make run        the main job: the tiny HBPO demo (HBPO and a cosine baseline from the
#                   committed base model models/tiny-base) into build/demo
#   make study      the paper's findings in miniature: every method x 3 seeds (360 steps at
#                   lr 1e-5) from the committed base; writes docs/study.md and its figures
#   make base       re-makes the committed base model models/tiny-base (SFT from scratch)
#   make test       every test suite (and the compile matrix of hbpo.h)
#   make sanitize   the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       every libFuzzer harness in fuzz/ for FUZZ_S seconds (default 60)
#   make fuzz-smoke the same for 10 s each (CI)
#   make bench      the benchmarks in bench/ (figures, not pass/fail)
#   make bench-busy the demo's training step idle and beside a busy loop
#   make cuda       the CUDA build: build/hbpo-cuda, build/tiny_hbpo-cuda, build/test_cuda,
#                   build/bench_cuda (skipped with a message without nvcc)
#   make test-cuda  every CUDA op against the CPU backend (needs a GPU; says so without one)
#   make test-cuda-emu  the same program with hbpo_cuda.cu run on a CPU emulator of the
#                   CUDA runtime, cuBLAS and CUB (no GPU, no nvcc; part of make test)
#   make clean
# Switches: BLAS=1/0 (default: 1 when pkg-config finds openblas), DNNL=1/0 (default: 1
# when oneDNN's dnnl.h and -ldnnl are found: bf16 products), OMP=1/0 (default 1
# when the compiler accepts -fopenmp), MPI=1/0 (default 1 when mpicc is found: builds
# build/hbpo_mpi, and `make test` runs tests/mpi.sh under mpirun), CC=gcc|clang,
# CUDA_ARCH=sm_90.
# `make run` and `make test` first run tools/deps.sh, which installs missing
# system packages when run as root (or prints the one line to run).

CC       ?= cc
CXX      ?= c++
NVCC     ?= nvcc
CUDA_ARCH ?= sm_90
BUILD    := build
WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
STD      := -std=c11

HAVE_OPENBLAS := $(shell pkg-config --exists openblas 2>/dev/null && echo 1 || echo 0)
BLAS ?= $(HAVE_OPENBLAS)
ifeq ($(BLAS),1)
  BLAS_CFLAGS := -DHBPO_USE_OPENBLAS $(shell pkg-config --cflags openblas 2>/dev/null)
  BLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null)
endif

# oneDNN: the bf16 precision's products as bf16 products on CPUs with
# AVX512-BF16 or AMX (HBPO_USE_DNNL; Debian: libdnnl-dev). Elsewhere the
# library emulates them, as it does without oneDNN.
HAVE_DNNL := $(shell printf '\043include <oneapi/dnnl/dnnl.h>\nint main(void){return dnnl_version() ? 0 : 1;}\n' | \
               $(CC) -x c - -ldnnl -o /dev/null 2>/dev/null && echo 1 || echo 0)
DNNL ?= $(HAVE_DNNL)
ifeq ($(DNNL),1)
  DNNL_CFLAGS := -DHBPO_USE_DNNL
  DNNL_LIBS   := -ldnnl
endif

HAVE_OPENMP := $(shell echo 'int main(void){return 0;}' | $(CC) -fopenmp -x c - -o /dev/null 2>/dev/null && echo 1 || echo 0)
OMP ?= $(HAVE_OPENMP)
ifeq ($(OMP),1)
  OMP_FLAGS := -fopenmp
endif

# MPI: Open MPI's wrapper compiler around $(CC) (OMPI_CC), for build/hbpo_mpi only;
# every other program is built without mpi.h.
MPICC    ?= mpicc
HAVE_MPI := $(shell command -v $(MPICC) >/dev/null 2>&1 && echo 1 || echo 0)
MPI ?= $(HAVE_MPI)
HAVE_MPIRUN := $(shell command -v mpirun >/dev/null 2>&1 && echo 1 || echo 0)

ALL_CFLAGS = $(STD) $(CFLAGS) $(WARN) $(BLAS_CFLAGS) $(DNNL_CFLAGS) $(OMP_FLAGS) -I.
LDLIBS     = $(BLAS_LIBS) $(DNNL_LIBS) $(OMP_FLAGS) -lm

HEADERS   := hbpo.h
EXAMPLES  := $(BUILD)/reward_curves $(BUILD)/hbpo $(BUILD)/tiny_hbpo $(BUILD)/study
ifeq ($(MPI),1)
  EXAMPLES += $(BUILD)/hbpo_mpi $(BUILD)/dp_train
endif
# the CPU benchmarks; bench/bench_cuda.c needs a GPU and is built by `make cuda`
BENCHES   := $(patsubst bench/%.c,$(BUILD)/%,$(filter-out bench/bench_cuda.c,$(wildcard bench/bench_*.c)))
TEST_SRC  := $(sort $(wildcard tests/*.c))
TEST_HDRS := tests/hbpo_test.h

.PHONY: all run study base _study _base test sanitize cuda _cuda test-cuda test-cuda-emu emu-gpu-check clean deps info compile-matrix bench bench-busy \
        _run _test _sanitize \
        fuzz fuzz-smoke fuzz-build

all: info $(EXAMPLES)

info:
	@echo "hbpo build: CC=$(CC) BLAS=$(BLAS) DNNL=$(DNNL) OMP=$(OMP)"
	@if [ "$(BLAS)" = 1 ]; then echo "  ✓ OpenBLAS (cblas_sgemm)"; else echo "  ✗ OpenBLAS: portable matrix loops"; fi
	@if [ "$(DNNL)" = 1 ]; then echo "  ✓ oneDNN: bf16 products on CPUs with AVX512-BF16 or AMX"; \
	 else echo "  ✗ oneDNN: bf16 products emulated (apt-get install libdnnl-dev)"; fi
	@if [ "$(OMP)" = 1 ]; then echo "  ✓ OpenMP"; else echo "  ✗ OpenMP: single thread"; fi
	@if [ "$(MPI)" = 1 ]; then echo "  ✓ MPI ($(MPICC)): build/hbpo_mpi"; else echo "  ✗ MPI: off (MPI=0, or no mpicc: apt-get install openmpi-bin libopenmpi-dev), no build/hbpo_mpi"; fi

deps:
	@sh tools/deps.sh

# the C programs' link libraries (tools/emu_mutations.sh links its mutants with them)
print-ldlibs:
	@echo $(LDLIBS)

$(BUILD):
	@mkdir -p $(BUILD)

$(BUILD)/%: examples/%.c $(HEADERS) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDLIBS)

# the CLI with the MPI communicator: mpirun -np N build/hbpo_mpi train|eval ...
$(BUILD)/hbpo_mpi: examples/hbpo.c $(HEADERS) | $(BUILD)
	OMPI_CC=$(CC) $(MPICC) $(ALL_CFLAGS) -DHBPO_USE_MPI -o $@ $< $(LDLIBS)

# data-parallel training steps on the 24.7M shape (bench/bench_dp.sh runs it)
$(BUILD)/dp_train: bench/dp_train.c $(HEADERS) | $(BUILD)
	OMPI_CC=$(CC) $(MPICC) $(ALL_CFLAGS) -DHBPO_USE_MPI -o $@ $< $(LDLIBS)

# compares the parameters of two model folders (tests/mpi.sh)
$(BUILD)/ckpt_close: tests/tools/ckpt_close.c $(HEADERS) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDLIBS)

$(BUILD)/bench_%: bench/bench_%.c bench/bench_common.h $(HEADERS) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDLIBS)

$(BUILD)/test_hbpo: $(TEST_SRC) $(TEST_HDRS) $(HEADERS) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $(TEST_SRC) $(LDLIBS)

# --- the main job ---------------------------------------------------------
run: deps
	@$(MAKE) --no-print-directory _run
_run: all
	@start=$$(date +%s); $(BUILD)/tiny_hbpo --base $(BASE_DIR) --out $(BUILD)/demo && \
	  echo "make run: total wall time $$(( $$(date +%s) - start )) s"

# --- the miniature of the paper ---------------------------------------------
# The base model is made once (SFT from scratch, the same bits on any thread count) and
# committed with its manifest; make run and make study start from it.
BASE_DIR    ?= models/tiny-base
BASE_STEPS  ?= 2000
STUDY_SEEDS ?= 3
STUDY_STEPS ?= 360
STUDY_LR    ?= 1e-5
STUDY_EVAL  ?= 100
STUDY_JOBS  ?= 2
base: deps
	@$(MAKE) --no-print-directory _base
_base: all
	$(BUILD)/study base --out $(BASE_DIR) --steps $(BASE_STEPS) --seed 1
study: deps
	@$(MAKE) --no-print-directory _study
_study: all
	$(BUILD)/study run --base $(BASE_DIR) --out $(BUILD)/study-runs --seeds $(STUDY_SEEDS) --steps $(STUDY_STEPS) \
	  --lr $(STUDY_LR) --eval-n $(STUDY_EVAL) --jobs $(STUDY_JOBS) --doc docs/study.md

# --- benchmarks (each prints its figures; `make bench` runs them all) -----------
bench: info $(BENCHES)
	@set -e; for b in $(BENCHES); do echo "== $$b"; $$b; done
	@echo "== build/bench_cuda: not run by make bench (GPU benchmarks: make cuda, then tools/gpu_check.sh)"
	@if [ "$(MPI)" = 1 ] && [ "$(HAVE_MPIRUN)" = 1 ]; then echo "== bench/bench_dp.sh"; sh bench/bench_dp.sh $(BUILD); \
	 else echo "== bench/bench_dp.sh: skipped (no MPI)"; fi
# the demo's step with 1 and 2 threads, idle and beside a busy loop
bench-busy: info $(BUILD)/bench_small
	@sh bench/busy.sh $(BUILD)

# --- tests ------------------------------------------------------------------
test: deps
	@$(MAKE) --no-print-directory _test
_test: info compile-matrix $(EXAMPLES) $(BUILD)/test_hbpo $(BUILD)/ckpt_close $(BUILD)/test_cuda_emu $(BUILD)/emu/hbpo
	@sh tests/cli.sh $(BUILD)
	@echo "== hbpo_cuda.cu on the CPU emulator (tests/gpu/emu/cuda_emu.h): its kernels, launches, memory spaces and products; not a GPU run"
	@$(BUILD)/test_cuda_emu
	@echo "== the same with blocks and threads run last to first (HBPO_EMU_ORDER=reverse: a race shows as a difference)"
	@HBPO_EMU_ORDER=reverse $(BUILD)/test_cuda_emu
	@if [ "$(MPI)" = 1 ] && [ "$(HAVE_MPIRUN)" = 1 ]; then sh tests/mpi.sh $(BUILD); \
	 else echo "  - MPI tests skipped: no mpicc or mpirun (apt-get install openmpi-bin libopenmpi-dev)"; fi
	@sh tests/blas_kernel.sh $(BUILD)
	@sh tests/bf16_path.sh $(BUILD)
	$(BUILD)/test_hbpo

# hbpo.h must compile warning-free as C11 and C++ with gcc and clang, with and
# without OpenBLAS, and with HBPO_STATIC. The implementation is C++20 (its
# backend tables use designated initializers, C++ only from C++20); the
# declarations alone stay C++11. Compiling only (no link) keeps this fast.
MATRIX_SRC := tests/compile/impl.c
MATRIX_DECL := tests/compile/decl.c
compile-matrix: | $(BUILD)
	@set -e; for cc in gcc clang; do \
	  if ! command -v $$cc >/dev/null 2>&1; then echo "  - $$cc not found: skipped"; continue; fi; \
	  for blas in 0 1; do \
	    flags=""; [ $$blas = 1 ] && { [ "$(HAVE_OPENBLAS)" = 1 ] || continue; flags="-DHBPO_USE_OPENBLAS $$(pkg-config --cflags openblas)"; }; \
	    $$cc -std=c11 -O2 $(WARN) -pedantic $$flags -I. -c $(MATRIX_SRC) -o $(BUILD)/matrix.o; \
	    cxx=g++; [ $$cc = clang ] && cxx=clang++; \
	    $$cxx -std=c++20 -O2 $(WARN) $$flags -I. -x c++ -c $(MATRIX_SRC) -o $(BUILD)/matrix.o; \
	    echo "  ✓ hbpo.h compiles: $$cc C11 and $$cxx C++20, BLAS=$$blas"; \
	  done; \
	  if [ "$(HAVE_DNNL)" = 1 ]; then \
	    $$cc -std=c11 -O2 $(WARN) -pedantic -DHBPO_USE_DNNL -I. -c $(MATRIX_SRC) -o $(BUILD)/matrix.o; \
	    $$cxx -std=c++20 -O2 $(WARN) -DHBPO_USE_DNNL -I. -x c++ -c $(MATRIX_SRC) -o $(BUILD)/matrix.o; \
	    echo "  ✓ hbpo.h compiles: $$cc C11 and $$cxx C++20 with HBPO_USE_DNNL"; \
	  fi; \
	  $$cc -std=c11 -O2 $(WARN) -pedantic -DHBPO_STATIC -I. -c $(MATRIX_SRC) -o $(BUILD)/matrix.o; \
	  echo "  ✓ hbpo.h compiles: $$cc C11 with HBPO_STATIC"; \
	  cxx=g++; [ $$cc = clang ] && cxx=clang++; \
	  $$cc -std=c11 -O2 $(WARN) -pedantic -I. -c $(MATRIX_DECL) -o $(BUILD)/matrix.o; \
	  $$cxx -std=c++11 -O2 $(WARN) -pedantic -I. -x c++ -c $(MATRIX_DECL) -o $(BUILD)/matrix.o; \
	  echo "  ✓ hbpo.h declarations compile: $$cc C11 and $$cxx C++11"; \
	  $$cc -std=c11 -O2 $(WARN) -pedantic -DHBPO_WITH_CUDA -I. -c $(MATRIX_SRC) -o $(BUILD)/matrix.o; \
	  echo "  ✓ hbpo.h compiles: $$cc C11 with HBPO_WITH_CUDA (hbpo_backend_named reaches hbpo_backend_cuda)"; \
	  if [ "$(MPI)" = 1 ]; then \
	    cxx=g++; [ $$cc = clang ] && cxx=clang++; \
	    OMPI_CC=$$cc $(MPICC) -std=c11 -O2 $(WARN) -DHBPO_USE_MPI -I. -c $(MATRIX_SRC) -o $(BUILD)/matrix.o; \
	    $$cxx -std=c++20 -O2 $(WARN) -DHBPO_USE_MPI $$($(MPICC) --showme:compile) -I. -x c++ -c $(MATRIX_SRC) -o $(BUILD)/matrix.o; \
	    echo "  ✓ hbpo.h compiles: $$cc C11 and $$cxx C++20 with HBPO_USE_MPI"; \
	  fi; \
	done

# --- sanitizers ---------------------------------------------------------------
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
sanitize: deps
	@$(MAKE) --no-print-directory _sanitize
_sanitize: | $(BUILD)
	$(CC) $(STD) -O1 -g $(WARN) $(SAN) $(BLAS_CFLAGS) -I. -Itests -o $(BUILD)/test_hbpo_san $(TEST_SRC) $(BLAS_LIBS) -lm
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD)/test_hbpo_san

# --- fuzzing -------------------------------------------------------------------
# libFuzzer harnesses (fuzz/fuzz_*.c) for every parser of outside input, built
# with clang -fsanitize=fuzzer,address,undefined; hbpo's implementation is
# compiled once (fuzz/fuzz_impl.c) and linked into each. Seed corpora are made
# at run time from tests/fixtures (fuzz/make_seeds.c); fuzz/run.sh runs each
# harness FUZZ_S seconds and prints executions per harness. Needs clang's
# libFuzzer runtime (Debian: libclang-rt-14-dev).
FUZZ_S      ?= 60
FUZZ_CC     ?= clang
FUZZ_DIR    := $(BUILD)/fuzz
FUZZERS     := json jsonl config safetensors index tokenizer_load encode decode dataset answer
FUZZ_CFLAGS := -std=c11 -g -O1 $(WARN) -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               -fno-omit-frame-pointer -I.
FUZZ_BINS   := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZERS))

$(FUZZ_DIR):
	@mkdir -p $(FUZZ_DIR)
$(FUZZ_DIR)/impl.o: fuzz/fuzz_impl.c $(HEADERS) | $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(FUZZ_DIR)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_common.h $(FUZZ_DIR)/impl.o
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_DIR)/impl.o -lm
$(FUZZ_DIR)/make_seeds: fuzz/make_seeds.c $(HEADERS) | $(FUZZ_DIR)
	$(CC) $(STD) -O1 $(WARN) -I. -o $@ $< -lm

fuzz-build: $(FUZZ_BINS) $(FUZZ_DIR)/make_seeds
fuzz: fuzz-build
	@sh fuzz/run.sh $(FUZZ_DIR) $(FUZZ_S) $(FUZZERS)
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_S=10

# --- CUDA (compile and link only where no GPU is present) ------------------------
# nvcc compiles hbpo_cuda.cu alone (C++20 for the table's designated
# initializers; -Werror for the host compiler and for nvcc's own warnings);
# every C program is compiled by $(CC) with -DHBPO_WITH_CUDA, which makes
# hbpo_backend_named("cuda") reach hbpo_backend_cuda, and linked by nvcc with
# build/cuda/hbpo_cuda.o, cuBLAS and (when nvcc finds nccl.h) NCCL. The CUDA
# runtime is linked statically (nvcc's default).
#   build/hbpo-cuda, build/tiny_hbpo-cuda  the CLI and the demo (--device cuda)
#   build/test_cuda                       make test-cuda: every op vs the CPU on a GPU
#   build/bench_cuda                      GPU benchmarks (bench/bench_cuda.c)
#   build/hbpo_cuda_check                 what the backend sees
#   build/hbpo_nccl_check (with MPI)      a 1-rank NCCL training step
# Nothing of this has run on a GPU in CI: there is none (tools/gpu_check.sh runs it where there is).
CUDA_ARCH_NUM = $(patsubst sm_%,%,$(CUDA_ARCH))
CUDA_DIR  := $(BUILD)/cuda
HAVE_NVCC := $(shell command -v $(NVCC) >/dev/null 2>&1 && echo 1 || echo 0)
# evaluated only by the cuda recipes (nvcc takes a second to start)
HAVE_NCCL  = $(shell printf '\043include <nccl.h>\n' | $(NVCC) -E -x cu - -o /dev/null 2>/dev/null && echo 1 || echo 0)
NCCL_DEF   = $(if $(filter 1,$(HAVE_NCCL)),-DHBPO_USE_NCCL)
NCCL_LIB   = $(if $(filter 1,$(HAVE_NCCL)),-lnccl)
NVFLAGS   := -std=c++20 -O2 -arch=$(CUDA_ARCH) -Xcompiler -Wall,-Wextra,-Werror -Werror all-warnings \
             -DHBPO__CUDA_ARCH_NUM=$(CUDA_ARCH_NUM) -I.
CUDA_LINK  = $(NVCC) -arch=$(CUDA_ARCH) $(if $(filter 1,$(OMP)),-Xcompiler -fopenmp)
CUDA_LIBS  = -lcublas $(NCCL_LIB) $(BLAS_LIBS) $(DNNL_LIBS) -lm
CUDA_BINS := $(BUILD)/hbpo_cuda_check $(BUILD)/test_cuda $(BUILD)/hbpo-cuda $(BUILD)/tiny_hbpo-cuda \
             $(BUILD)/bench_cuda

cuda: | $(BUILD)
	@if [ "$(HAVE_NVCC)" != 1 ]; then echo "make cuda: nvcc not found, skipping the CUDA backend build"; exit 0; fi; \
	$(MAKE) --no-print-directory _cuda
_cuda: $(CUDA_BINS)
	@if [ "$(HAVE_NCCL)" != 1 ]; then echo "make cuda: nccl.h not found: no NCCL communicator (install NCCL with the toolkit)"; \
	 elif [ "$(MPI)" = 1 ]; then $(MAKE) --no-print-directory $(BUILD)/hbpo_nccl_check; \
	 else echo "make cuda: no build/hbpo_nccl_check (it needs MPI, which carries NCCL's id, and NCCL)"; fi
	@echo "make cuda: built $(CUDA_BINS) for $(CUDA_ARCH) (compiled and linked; run make test-cuda on a GPU)"

$(CUDA_DIR):
	@mkdir -p $(CUDA_DIR)
$(CUDA_DIR)/hbpo_cuda.o: hbpo_cuda.cu $(HEADERS) | $(CUDA_DIR)
	$(NVCC) $(NVFLAGS) $(NCCL_DEF) -c -o $@ hbpo_cuda.cu
# a C source compiled for the CUDA build (hbpo.h's implementation inside)
$(CUDA_DIR)/%.o: examples/%.c $(TEST_HDRS) $(HEADERS) | $(CUDA_DIR)
	$(CC) $(ALL_CFLAGS) -DHBPO_WITH_CUDA -c -o $@ $<
$(CUDA_DIR)/test_cuda.o: tests/gpu/test_cuda.c $(TEST_HDRS) $(HEADERS) | $(CUDA_DIR)
	$(CC) $(ALL_CFLAGS) -DHBPO_WITH_CUDA -Itests -c -o $@ $<
$(CUDA_DIR)/bench_cuda.o: bench/bench_cuda.c bench/bench_common.h $(TEST_HDRS) $(HEADERS) | $(CUDA_DIR)
	$(CC) $(ALL_CFLAGS) -DHBPO_WITH_CUDA -c -o $@ $<
$(BUILD)/hbpo_cuda_check: $(CUDA_DIR)/cuda_check.o $(CUDA_DIR)/hbpo_cuda.o
	$(CUDA_LINK) -o $@ $^ $(CUDA_LIBS)
$(BUILD)/test_cuda: $(CUDA_DIR)/test_cuda.o $(CUDA_DIR)/hbpo_cuda.o
	$(CUDA_LINK) -o $@ $^ $(CUDA_LIBS)
$(BUILD)/bench_cuda: $(CUDA_DIR)/bench_cuda.o $(CUDA_DIR)/hbpo_cuda.o
	$(CUDA_LINK) -o $@ $^ $(CUDA_LIBS)
$(BUILD)/hbpo-cuda: $(CUDA_DIR)/hbpo.o $(CUDA_DIR)/hbpo_cuda.o
	$(CUDA_LINK) -o $@ $^ $(CUDA_LIBS)
$(BUILD)/tiny_hbpo-cuda: $(CUDA_DIR)/tiny_hbpo.o $(CUDA_DIR)/hbpo_cuda.o
	$(CUDA_LINK) -o $@ $^ $(CUDA_LIBS)
$(BUILD)/hbpo_nccl_check: examples/nccl_check.c $(CUDA_DIR)/hbpo_cuda.o $(TEST_HDRS) $(HEADERS) | $(CUDA_DIR)
	OMPI_CC=$(CC) $(MPICC) $(ALL_CFLAGS) -DHBPO_WITH_CUDA -c -o $(CUDA_DIR)/nccl_check.o $<
	$(CUDA_LINK) -o $@ $(CUDA_DIR)/nccl_check.o $(CUDA_DIR)/hbpo_cuda.o $(CUDA_LIBS) $$($(MPICC) --showme:link)

# The CUDA backend run on the CPU (tests/gpu/emu/cuda_emu.h): hbpo_cuda.cu compiled
# as C++ against CPU stand-ins of the CUDA runtime, cuBLAS and CUB, each launch
# k<<<grid, block>>>(args) rewritten as HBPO_EMU_LAUNCH(k, grid, block)(args), and
# linked with the GPU test program. No nvcc needed; make test runs it. It checks
# the backend's kernels, launches, memory spaces and products, not a GPU.
EMU_DIR := $(BUILD)/emu
$(EMU_DIR):
	@mkdir -p $(EMU_DIR)
$(EMU_DIR)/hbpo_cuda_emu.cc: hbpo_cuda.cu | $(EMU_DIR)
	@{ echo '#line 1 "hbpo_cuda.cu"'; perl -0pe 's/(\w+)<<<(.*?)>>>\(/HBPO_EMU_LAUNCH($$1, $$2)(/gs' hbpo_cuda.cu; } > $@
$(EMU_DIR)/hbpo_cuda_emu.o: $(EMU_DIR)/hbpo_cuda_emu.cc $(wildcard tests/gpu/emu/*.h) $(HEADERS)
	$(CXX) -std=c++20 $(CFLAGS) -U_FORTIFY_SOURCE $(WARN) $(BLAS_CFLAGS) -Itests/gpu/emu -I. -DHBPO__CUDA_ARCH_NUM=90 -c -o $@ $<
$(EMU_DIR)/test_cuda.o: tests/gpu/test_cuda.c $(TEST_HDRS) $(HEADERS) | $(EMU_DIR)
	$(CC) $(ALL_CFLAGS) -DHBPO_WITH_CUDA -Itests -c -o $@ $<
$(EMU_DIR)/%.o: examples/%.c $(TEST_HDRS) $(HEADERS) | $(EMU_DIR)
	$(CC) $(ALL_CFLAGS) -DHBPO_WITH_CUDA -c -o $@ $<
$(BUILD)/test_cuda_emu: $(EMU_DIR)/test_cuda.o $(EMU_DIR)/hbpo_cuda_emu.o
	$(CXX) -o $@ $^ $(LDLIBS)
$(EMU_DIR)/tiny_hbpo $(EMU_DIR)/hbpo $(EMU_DIR)/cuda_check: $(EMU_DIR)/%: $(EMU_DIR)/%.o $(EMU_DIR)/hbpo_cuda_emu.o
	$(CXX) -o $@ $^ $(LDLIBS)
$(EMU_DIR)/bench_cuda.o: bench/bench_cuda.c bench/bench_common.h $(TEST_HDRS) $(HEADERS) | $(EMU_DIR)
	$(CC) $(ALL_CFLAGS) -DHBPO_WITH_CUDA -c -o $@ $<
$(EMU_DIR)/bench_cuda: $(EMU_DIR)/bench_cuda.o $(EMU_DIR)/hbpo_cuda_emu.o
	$(CXX) -o $@ $^ $(LDLIBS)
# tools/gpu_check.sh --prebuilt run against the emulator (BUILD=build/emu/gpu):
# the script itself checked where there is no GPU
emu-gpu-check: $(BUILD)/test_cuda_emu $(EMU_DIR)/tiny_hbpo $(EMU_DIR)/cuda_check $(EMU_DIR)/bench_cuda
	@mkdir -p $(EMU_DIR)/gpu
	@ln -sf ../../test_cuda_emu $(EMU_DIR)/gpu/test_cuda; ln -sf ../tiny_hbpo $(EMU_DIR)/gpu/tiny_hbpo-cuda
	@ln -sf ../cuda_check $(EMU_DIR)/gpu/hbpo_cuda_check; ln -sf ../bench_cuda $(EMU_DIR)/gpu/bench_cuda
	BUILD=$(EMU_DIR)/gpu OUT=$(EMU_DIR)/gpu_check sh tools/gpu_check.sh --prebuilt
test-cuda-emu: $(BUILD)/test_cuda_emu
	$(BUILD)/test_cuda_emu
	HBPO_EMU_ORDER=reverse $(BUILD)/test_cuda_emu

# every CUDA op against the CPU backend, the fixtures, greedy parity, determinism
# (on a GPU; without one it says that 0 tests ran)
test-cuda: cuda
	@if [ "$(HAVE_NVCC)" != 1 ]; then echo "make test-cuda: nvcc not found: nothing built, 0 tests run"; \
	 echo "0 passed, 0 failed"; exit 0; fi; \
	$(BUILD)/test_cuda

clean:
	rm -rf $(BUILD)
