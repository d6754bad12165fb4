/* Shared by the libFuzzer harnesses in fuzz/ (one per parser of outside input).
   Each harness is linked with fuzz/fuzz_impl.c (hbpo's implementation, compiled
   once), built by `make fuzz` with clang -fsanitize=fuzzer,address,undefined. A harness aborts
   (FUZZ_CHECK) only where the library broke a promise its manual makes; bad
   input must merely fail with a message, and ASan/UBSan/LeakSanitizer and
   libFuzzer's -timeout catch crashes, undefined behaviour, leaks and hangs. */
#ifndef HBPO_FUZZ_COMMON_H
#define HBPO_FUZZ_COMMON_H

#define _POSIX_C_SOURCE 200809L
#include "hbpo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_UNUSED __attribute__((unused))

#define FUZZ_CHECK(cond)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);    \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

static char fuzz_dir_name[512];

/* Removes path: a file, or a folder and what it holds (the harnesses'
   folders are two levels deep at most). */
static void fuzz_remove(const char *path, int depth) {
    DIR *d;
    struct dirent *e;
    char sub[1024];
    if (depth < 3 && (d = opendir(path)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            fuzz_remove(sub, depth + 1);
        }
        closedir(d);
        rmdir(path);
        return;
    }
    remove(path);
}

static void fuzz_cleanup(void) {
    if (fuzz_dir_name[0]) fuzz_remove(fuzz_dir_name, 0);
}

/* A private folder for this process's files, made once: in /dev/shm where
   there is one (the harnesses that read files write one per input, and a disk
   makes that 10x slower), else in $TMPDIR or /tmp. */
FUZZ_UNUSED static const char *fuzz_dir(void) {
    char *dir = fuzz_dir_name;
    const char *tmp;
    if (!dir[0]) {
        tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
        snprintf(dir, sizeof fuzz_dir_name, "%s/hbpo_fuzz_%ld", tmp && *tmp ? tmp : "/tmp",
                 (long)getpid());
        if (hbpo_make_dir(dir) != 0) {
            fprintf(stderr, "fuzz: %s\n", hbpo_last_error());
            abort();
        }
        atexit(fuzz_cleanup);
    }
    return dir;
}

/* dir/name into path (512 bytes). */
FUZZ_UNUSED static void fuzz_path(char *path, const char *name) {
    snprintf(path, 512, "%s/%s", fuzz_dir(), name);
}

/* Writes n bytes to path (replacing it); aborts when the harness cannot. */
FUZZ_UNUSED static void fuzz_write(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "fuzz: cannot write %s\n", path);
        abort();
    }
}

/* The tiny model the checkpoint harnesses load: 2 layers (one would leave
   most of the layer-table code unreached), GQA, biases, tied embeddings. */
static const char fuzz_tiny_config_json[] =
    "{\"model_type\": \"qwen2\", \"vocab_size\": 16, \"hidden_size\": 8, "
    "\"intermediate_size\": 12, \"num_hidden_layers\": 2, \"num_attention_heads\": 2, "
    "\"num_key_value_heads\": 1, \"max_position_embeddings\": 32, "
    "\"tie_word_embeddings\": true, \"rope_theta\": 10000.0}";

/* A folder holding config.json of the tiny model (and nothing else yet). */
FUZZ_UNUSED static const char *fuzz_ckpt_dir(const char *name) {
    static char dir[512];
    char path[600];
    fuzz_path(dir, name);
    if (hbpo_make_dir(dir) != 0) abort();
    snprintf(path, sizeof path, "%s/config.json", dir);
    fuzz_write(path, fuzz_tiny_config_json, strlen(fuzz_tiny_config_json));
    return dir;
}

/* The Qwen3 tokenizer ($HBPO_FUZZ_TOKENIZER, else
   $HBPO_DATA_DIR/qwen3-tokenizer/tokenizer.json, else ../shared/data/...), or
   when absent the byte-level tokenizer of hbpo_tokenizer_write_bytes. */
FUZZ_UNUSED static hbpo_tokenizer *fuzz_tokenizer(void) {
    char path[600];
    const char *p = getenv("HBPO_FUZZ_TOKENIZER"), *d = getenv("HBPO_DATA_DIR");
    hbpo_tokenizer *t = NULL;
    if (p && *p) snprintf(path, sizeof path, "%s", p);
    else
        snprintf(path, sizeof path, "%s/qwen3-tokenizer/tokenizer.json",
                 d && *d ? d : "../shared/data");
    if (access(path, R_OK) == 0 && hbpo_tokenizer_load(&t, path) == 0) {
        fprintf(stderr, "fuzz: tokenizer %s\n", path);
        return t;
    }
    fuzz_path(path, "bytes_tokenizer.json");
    if (hbpo_tokenizer_write_bytes(path) != 0 || hbpo_tokenizer_load(&t, path) != 0) {
        fprintf(stderr, "fuzz: %s\n", hbpo_last_error());
        abort();
    }
    fprintf(stderr, "fuzz: Qwen3 tokenizer not found, using the byte-level one\n");
    return t;
}

#endif
