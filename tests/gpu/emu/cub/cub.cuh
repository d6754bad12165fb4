/* the CPU stand-in of <cub/cub.cuh> for build/test_cuda_emu: see ../cuda_emu.h */
#include "../cuda_emu.h"
