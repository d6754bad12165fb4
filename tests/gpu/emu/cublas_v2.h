/* the CPU stand-in of <cublas_v2.h> for build/test_cuda_emu: see cuda_emu.h */
#include "cuda_emu.h"
