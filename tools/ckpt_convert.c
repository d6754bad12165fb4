/* ckpt_convert - load a Hugging Face Qwen2/Qwen3 checkpoint with hbpo and save it again.

   Build and run from the repository root (no BLAS needed: nothing is computed):
       cc -std=c11 -O2 -I. -o build/ckpt_convert tools/ckpt_convert.c -lm
       build/ckpt_convert IN_DIR OUT_DIR [f32|bf16] [MAX_SHARD_BYTES]

   It is how the reverse direction of the parity check is produced: a folder that
   hbpo_model_save wrote, for tools/gen_qwen2_fixtures.py --check-saved to load with
   transformers' from_pretrained. Also handy to turn a BF16 checkpoint into F32 or
   to reshard one. Exit status 0 on success, 1 with hbpo's message otherwise. */
#define HBPO_IMPLEMENTATION
#include "hbpo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    hbpo_model m;
    int dtype = HBPO_DTYPE_F32;
    size_t shard = 0;
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: %s IN_DIR OUT_DIR [f32|bf16] [MAX_SHARD_BYTES]\n", argv[0]);
        return 2;
    }
    if (argc >= 4) {
        if (!strcmp(argv[3], "bf16")) dtype = HBPO_DTYPE_BF16;
        else if (strcmp(argv[3], "f32") != 0) {
            fprintf(stderr, "%s: dtype must be f32 or bf16, not %s\n", argv[0], argv[3]);
            return 2;
        }
    }
    if (argc == 5) shard = (size_t)strtoull(argv[4], NULL, 10);
    if (hbpo_model_load(&m, argv[1], NULL) != 0) {
        fprintf(stderr, "%s\n", hbpo_last_error());
        return 1;
    }
    if (hbpo_model_save_sharded(&m, argv[2], dtype, shard) != 0) {
        fprintf(stderr, "%s\n", hbpo_last_error());
        hbpo_model_free(&m);
        return 1;
    }
    printf("%s -> %s: %d tensors, %zu parameters, %s%s\n", argv[1], argv[2], m.n_tensors, m.n_params,
           dtype == HBPO_DTYPE_BF16 ? "BF16" : "F32", shard ? ", sharded" : "");
    hbpo_model_free(&m);
    return 0;
}
