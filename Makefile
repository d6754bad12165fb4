# hbpo - build, test and run.
#   make            examples into build/
#   make run        the main job: the tiny HBPO demo (HBPO and a cosine baseline from the
#                   committed base model models/tiny-base) into build/demo
#   make study      the paper's findings in miniature: every method x 3 seeds from the
#                   committed base; writes docs/study.md and its figures
#   make base       re-makes the committed base model models/tiny-base (SFT from scratch)
#   make test       every test suite (and the compile matrix of hbpo.h)
#   make sanitize   the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       every libFuzzer harness in fuzz/ for FUZZ_S seconds (default 60)
#   make fuzz-smoke the same for 10 s each (CI)
#   make bench      the benchmarks in bench/ (figures, not pass/fail)
#   make bench-busy the demo's training step idle and beside a busy loop
#   make cuda       nvcc build of hbpo_cuda.cu (skipped with a message without nvcc)
#   make clean
# Switches: BLAS=1/0 (default: 1 when pkg-config finds openblas), OMP=1/0 (default 1
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

ALL_CFLAGS = $(STD) $(CFLAGS) $(WARN) $(BLAS_CFLAGS) $(OMP_FLAGS) -I.
LDLIBS     = $(BLAS_LIBS) $(OMP_FLAGS) -lm

HEADERS   := hbpo.h
EXAMPLES  := $(BUILD)/reward_curves $(BUILD)/hbpo $(BUILD)/tiny_hbpo $(BUILD)/study
ifeq ($(MPI),1)
  EXAMPLES += $(BUILD)/hbpo_mpi $(BUILD)/dp_train
endif
BENCHES   := $(patsubst bench/%.c,$(BUILD)/%,$(wildcard bench/bench_*.c))
TEST_SRC  := $(sort $(wildcard tests/*.c))
TEST_HDRS := tests/hbpo_test.h

.PHONY: all run study base _study _base test sanitize cuda clean deps info compile-matrix bench bench-busy _run _test _sanitize \
        fuzz fuzz-smoke fuzz-build

all: info $(EXAMPLES)

info:
	@echo "hbpo build: CC=$(CC) BLAS=$(BLAS) OMP=$(OMP)"
	@if [ "$(BLAS)" = 1 ]; then echo "  ✓ OpenBLAS (cblas_sgemm)"; else echo "  ✗ OpenBLAS: portable matrix loops"; fi
	@if [ "$(OMP)" = 1 ]; then echo "  ✓ OpenMP"; else echo "  ✗ OpenMP: single thread"; fi
	@if [ "$(MPI)" = 1 ]; then echo "  ✓ MPI ($(MPICC)): build/hbpo_mpi"; else echo "  ✗ MPI: off (MPI=0, or no mpicc: apt-get install openmpi-bin libopenmpi-dev), no build/hbpo_mpi"; fi

deps:
	@sh tools/deps.sh

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
# The base model is made once (SFT from scratch, 1 thread: deterministic) and
# committed with its manifest; make run and make study start from it.
BASE_DIR    ?= models/tiny-base
BASE_STEPS  ?= 1200
STUDY_SEEDS ?= 3
STUDY_STEPS ?= 40
STUDY_EVAL  ?= 25
STUDY_JOBS  ?= 2
base: deps
	@$(MAKE) --no-print-directory _base
_base: all
	$(BUILD)/study base --out $(BASE_DIR) --steps $(BASE_STEPS) --seed 1 --threads 1
study: deps
	@$(MAKE) --no-print-directory _study
_study: all
	$(BUILD)/study run --base $(BASE_DIR) --out $(BUILD)/study-runs --seeds $(STUDY_SEEDS) --steps $(STUDY_STEPS) \
	  --eval-n $(STUDY_EVAL) --jobs $(STUDY_JOBS) --doc docs/study.md

# --- benchmarks (each prints its figures; `make bench` runs them all) -----------
bench: info $(BENCHES)
	@set -e; for b in $(BENCHES); do echo "== $$b"; $$b; done
	@if [ "$(MPI)" = 1 ] && [ "$(HAVE_MPIRUN)" = 1 ]; then echo "== bench/bench_dp.sh"; sh bench/bench_dp.sh $(BUILD); \
	 else echo "== bench/bench_dp.sh: skipped (no MPI)"; fi
# the demo's step with 1 and 2 threads, idle and beside a busy loop
bench-busy: info $(BUILD)/bench_small
	@sh bench/busy.sh $(BUILD)

# --- tests ------------------------------------------------------------------
test: deps
	@$(MAKE) --no-print-directory _test
_test: info compile-matrix $(EXAMPLES) $(BUILD)/test_hbpo $(BUILD)/ckpt_close
	@sh tests/cli.sh $(BUILD)
	@if [ "$(MPI)" = 1 ] && [ "$(HAVE_MPIRUN)" = 1 ]; then sh tests/mpi.sh $(BUILD); \
	 else echo "  - MPI tests skipped: no mpicc or mpirun (apt-get install openmpi-bin libopenmpi-dev)"; fi
	@sh tests/blas_kernel.sh $(BUILD)
	$(BUILD)/test_hbpo

# hbpo.h must compile warning-free as C11 and C++ with gcc and clang, with and
# without OpenBLAS, and with HBPO_STATIC. Compiling only (no link) keeps this fast.
MATRIX_SRC := tests/compile/impl.c
compile-matrix: | $(BUILD)
	@set -e; for cc in gcc clang; do \
	  if ! command -v $$cc >/dev/null 2>&1; then echo "  - $$cc not found: skipped"; continue; fi; \
	  for blas in 0 1; do \
	    flags=""; [ $$blas = 1 ] && { [ "$(HAVE_OPENBLAS)" = 1 ] || continue; flags="-DHBPO_USE_OPENBLAS $$(pkg-config --cflags openblas)"; }; \
	    $$cc -std=c11 -O2 $(WARN) -pedantic $$flags -I. -c $(MATRIX_SRC) -o $(BUILD)/matrix.o; \
	    cxx=g++; [ $$cc = clang ] && cxx=clang++; \
	    $$cxx -std=c++11 -O2 $(WARN) $$flags -I. -x c++ -c $(MATRIX_SRC) -o $(BUILD)/matrix.o; \
	    echo "  ✓ hbpo.h compiles: $$cc C11 and $$cxx C++11, BLAS=$$blas"; \
	  done; \
	  $$cc -std=c11 -O2 $(WARN) -pedantic -DHBPO_STATIC -I. -c $(MATRIX_SRC) -o $(BUILD)/matrix.o; \
	  echo "  ✓ hbpo.h compiles: $$cc C11 with HBPO_STATIC"; \
	  if [ "$(MPI)" = 1 ]; then \
	    cxx=g++; [ $$cc = clang ] && cxx=clang++; \
	    OMPI_CC=$$cc $(MPICC) -std=c11 -O2 $(WARN) -DHBPO_USE_MPI -I. -c $(MATRIX_SRC) -o $(BUILD)/matrix.o; \
	    $$cxx -std=c++11 -O2 $(WARN) -DHBPO_USE_MPI $$($(MPICC) --showme:compile) -I. -x c++ -c $(MATRIX_SRC) -o $(BUILD)/matrix.o; \
	    echo "  ✓ hbpo.h compiles: $$cc C11 and $$cxx C++11 with HBPO_USE_MPI"; \
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
# The host compiler gets the same -Wall -Wextra -Werror as the C code; CUDA 13's
# headers pass it unchanged. The CUDA runtime is linked statically (nvcc's
# default), so the binary runs without the toolkit; no cuBLAS until a kernel uses it.
# NCCL (the data-parallel communicator, hbpo_comm_init_nccl) is linked as -lnccl;
# build/hbpo_nccl_check (with MPI) checks a 1-rank NCCL training step on a GPU.
cuda: | $(BUILD)
	@if ! command -v $(NVCC) >/dev/null 2>&1; then \
	  echo "make cuda: nvcc not found, skipping the CUDA backend build"; exit 0; fi; \
	nccl=""; if echo '#include <nccl.h>' | $(NVCC) -E -x cu - -o /dev/null 2>/dev/null; then nccl="-DHBPO_USE_NCCL -lnccl"; \
	  else echo "make cuda: nccl.h not found: no NCCL communicator (install NCCL with the toolkit)"; fi; \
	set -x; $(NVCC) -O2 -arch=$(CUDA_ARCH) -Xcompiler -Wall,-Wextra,-Werror -I. \
	  -o $(BUILD)/hbpo_cuda_check examples/cuda_check.cu hbpo_cuda.cu $$nccl; \
	if [ "$(MPI)" = 1 ] && [ -n "$$nccl" ]; then \
	  $(NVCC) -O2 -arch=$(CUDA_ARCH) -Xcompiler -Wall,-Wextra,-Werror -I. $$($(MPICC) --showme:compile) \
	    -o $(BUILD)/hbpo_nccl_check examples/nccl_check.cu hbpo_cuda.cu $$nccl $$($(MPICC) --showme:link); \
	else echo "make cuda: no build/hbpo_nccl_check (it needs MPI, which carries NCCL's id, and NCCL)"; fi

clean:
	rm -rf $(BUILD)
