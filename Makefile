# hbpo - build, test and run.
#   make            examples into build/
#   make run        the main job: the tiny HBPO demo (SFT, HBPO, evaluation) into build/demo
#   make test       every test suite (and the compile matrix of hbpo.h)
#   make sanitize   the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench      the benchmarks in bench/ (figures, not pass/fail)
#   make bench-busy the demo's training step idle and beside a busy loop
#   make cuda       nvcc build of hbpo_cuda.cu (skipped with a message without nvcc)
#   make clean
# Switches: BLAS=1/0 (default: 1 when pkg-config finds openblas), OMP=1/0 (default 1
# when the compiler accepts -fopenmp), CC=gcc|clang, CUDA_ARCH=sm_90.
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

ALL_CFLAGS = $(STD) $(CFLAGS) $(WARN) $(BLAS_CFLAGS) $(OMP_FLAGS) -I.
LDLIBS     = $(BLAS_LIBS) $(OMP_FLAGS) -lm

HEADERS   := hbpo.h
EXAMPLES  := $(BUILD)/reward_curves $(BUILD)/hbpo $(BUILD)/tiny_hbpo
BENCHES   := $(patsubst bench/%.c,$(BUILD)/%,$(wildcard bench/bench_*.c))
TEST_SRC  := $(sort $(wildcard tests/*.c))
TEST_HDRS := tests/hbpo_test.h

.PHONY: all run test sanitize cuda clean deps info compile-matrix bench bench-busy _run _test _sanitize

all: info $(EXAMPLES)

info:
	@echo "hbpo build: CC=$(CC) BLAS=$(BLAS) OMP=$(OMP)"
	@if [ "$(BLAS)" = 1 ]; then echo "  ✓ OpenBLAS (cblas_sgemm)"; else echo "  ✗ OpenBLAS: portable matrix loops"; fi
	@if [ "$(OMP)" = 1 ]; then echo "  ✓ OpenMP"; else echo "  ✗ OpenMP: single thread"; fi

deps:
	@sh tools/deps.sh

$(BUILD):
	@mkdir -p $(BUILD)

$(BUILD)/%: examples/%.c $(HEADERS) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDLIBS)

$(BUILD)/bench_%: bench/bench_%.c $(HEADERS) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDLIBS)

$(BUILD)/test_hbpo: $(TEST_SRC) $(TEST_HDRS) $(HEADERS) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $(TEST_SRC) $(LDLIBS)

# --- the main job ---------------------------------------------------------
run: deps
	@$(MAKE) --no-print-directory _run
_run: all
	@start=$$(date +%s); $(BUILD)/tiny_hbpo --out $(BUILD)/demo && \
	  echo "make run: total wall time $$(( $$(date +%s) - start )) s"

# --- benchmarks (each prints its figures; `make bench` runs them all) -----------
bench: info $(BENCHES)
	@set -e; for b in $(BENCHES); do echo "== $$b"; $$b; done
# the demo's step with 1 and 2 threads, idle and beside a busy loop
bench-busy: info $(BUILD)/bench_small
	@sh bench/busy.sh $(BUILD)

# --- tests ------------------------------------------------------------------
test: deps
	@$(MAKE) --no-print-directory _test
_test: info compile-matrix $(EXAMPLES) $(BUILD)/test_hbpo
	@sh tests/cli.sh $(BUILD)
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
	done

# --- sanitizers ---------------------------------------------------------------
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
sanitize: deps
	@$(MAKE) --no-print-directory _sanitize
_sanitize: | $(BUILD)
	$(CC) $(STD) -O1 -g $(WARN) $(SAN) $(BLAS_CFLAGS) -I. -Itests -o $(BUILD)/test_hbpo_san $(TEST_SRC) $(BLAS_LIBS) -lm
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD)/test_hbpo_san

# --- CUDA (compile and link only where no GPU is present) ------------------------
# The host compiler gets the same -Wall -Wextra -Werror as the C code; CUDA 13's
# headers pass it unchanged. The CUDA runtime is linked statically (nvcc's
# default), so the binary runs without the toolkit; no cuBLAS until a kernel uses it.
cuda: | $(BUILD)
	@if ! command -v $(NVCC) >/dev/null 2>&1; then \
	  echo "make cuda: nvcc not found, skipping the CUDA backend build"; exit 0; fi; \
	set -x; $(NVCC) -O2 -arch=$(CUDA_ARCH) -Xcompiler -Wall,-Wextra,-Werror -I. \
	  -o $(BUILD)/hbpo_cuda_check examples/cuda_check.cu hbpo_cuda.cu

clean:
	rm -rf $(BUILD)
