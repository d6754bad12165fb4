/* The test runner: every suite, then the line `N passed, N failed`.
   Flags: -v -l -x -s SUITE -t TEST (see hbpo_test.h). Data-driven suites read
   ../shared/data (or $HBPO_DATA_DIR) and skip with a message when it is absent. */
#include "hbpo_test.h"

HBPO_TEST_MAIN_DEFS();

SUITE_EXTERN(harness_suite); /* the harness judges NaN as failure (test_harness.c) */
SUITE_EXTERN(math_suite);    /* rewards, advantages, prompts (test_math.c) */
SUITE_EXTERN(policy_suite);  /* clipped objective vs finite differences and PyTorch (test_policy.c) */
SUITE_EXTERN(answer_suite);  /* \boxed extraction, normalisation, equality (test_answer.c) */
SUITE_EXTERN(data_suite);    /* MATH500 and GSM8K real data (test_answer.c) */
SUITE_EXTERN(io_suite);      /* JSON, JSON Lines, files, bad input (test_io.c) */
SUITE_EXTERN(ops_suite);     /* RNG, sgemm with and without BLAS (test_ops.c) */
SUITE_EXTERN(tokenizer_suite);  /* byte-level BPE vs Hugging Face tokenizers, chat format (test_tokenizer.c) */
SUITE_EXTERN(model_suite);      /* Qwen2 ops and model vs finite differences, AdamW (test_model.c) */
SUITE_EXTERN(checkpoint_suite); /* config.json, safetensors, parity with transformers (test_checkpoint.c) */
SUITE_EXTERN(generate_suite);   /* sampling, KV-cache decoding, greedy parity (test_generate.c) */
SUITE_EXTERN(backend_suite);    /* the backend seam: errors, precision, sampling op, slots (test_backend.c) */
SUITE_EXTERN(data_layer_suite); /* datasets from JSON Lines, the synthetic task (test_data.c) */
SUITE_EXTERN(trainer_suite);    /* Algorithm 1 wiring, resume, SFT, evaluation (test_trainer.c) */
SUITE_EXTERN(comm_suite);       /* the communicator seam in one process (test_comm.c) */
SUITE_EXTERN(cuda_host_suite);  /* the CUDA kernels' arithmetic and cuBLAS mapping, on the host (test_cuda_host.c) */
SUITE_EXTERN(study_suite);      /* the miniature: base, methods, records (test_study.c) */

int main(int argc, char **argv) {
    HBPO_TEST_MAIN_BEGIN(argc, argv);
    RUN_SUITE(harness_suite);
    RUN_SUITE(math_suite);
    RUN_SUITE(policy_suite);
    RUN_SUITE(answer_suite);
    RUN_SUITE(data_suite);
    RUN_SUITE(io_suite);
    RUN_SUITE(ops_suite);
    RUN_SUITE(tokenizer_suite);
    RUN_SUITE(model_suite);
    RUN_SUITE(checkpoint_suite);
    RUN_SUITE(generate_suite);
    RUN_SUITE(backend_suite);
    RUN_SUITE(data_layer_suite);
    RUN_SUITE(trainer_suite);
    RUN_SUITE(comm_suite);
    RUN_SUITE(cuda_host_suite);
    RUN_SUITE(study_suite);
    HBPO_TEST_MAIN_END();
}
