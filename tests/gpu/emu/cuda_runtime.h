/* the CPU stand-in of <cuda_runtime.h> for build/test_cuda_emu: see cuda_emu.h */
#include "cuda_emu.h"
