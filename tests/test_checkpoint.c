/* Checkpoints (section 10): config.json parsing, safetensors loading and saving,
   and parity with transformers.
     - tests/fixtures/qwen2/ holds tiny random checkpoints written by transformers'
       save_pretrained and NAME.ref.json references computed by transformers in
       float64 (tools/gen_qwen2_fixtures.py): every loaded model must reproduce
       the logits, the cross-entropy loss and the gradients of several tensors.
     - save -> load is bit-identical in F32 and equals torch's bf16 rounding in BF16;
       sharded and unsharded files load to the same parameters.
     - every kind of bad input (files written here, at run time, into a mkdtemp
       folder) fails with a message that names the problem. Run it under
       `make sanitize` too. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, opendir, rmdir */
#define HBPO_COUNT_OPS /* hbpo_op_count() */
#include "hbpo.h"
#include "hbpo_test.h"

#include <dirent.h>
#include <stdint.h>
#include <unistd.h>

#define CK_DIR "tests/fixtures/qwen2"

/* State shared by the tests and released by ck_reset() at the start of each
   test (and at the end of the suite), so that a failing assertion, which
   returns early, leaks nothing. */
static hbpo_model ck_m, ck_m2;
static hbpo_json_doc ck_ref;
static float *ck_a, *ck_b, *ck_c;
static int *ck_tok, *ck_itmp;
static void *ck_raw;
static char ck_tmp[512]; /* temporary folder, "" when none */

static void ck_rmdir(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1024];
    if (d) {
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            remove(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

static void ck_reset(void) {
    hbpo_model_free(&ck_m);
    hbpo_model_free(&ck_m2);
    hbpo_json_free(&ck_ref);
    free(ck_a); free(ck_b); free(ck_c); free(ck_tok); free(ck_itmp); free(ck_raw);
    ck_a = ck_b = ck_c = NULL;
    ck_tok = ck_itmp = NULL;
    ck_raw = NULL;
    if (ck_tmp[0]) ck_rmdir(ck_tmp);
    ck_tmp[0] = 0;
}

/* A fresh empty folder in $TMPDIR or /tmp, remembered in ck_tmp. */
static int ck_mktmp(void) {
    const char *dir = getenv("TMPDIR");
    snprintf(ck_tmp, sizeof ck_tmp, "%s/hbpo_ckpt_XXXXXX", dir && dir[0] ? dir : "/tmp");
    if (!mkdtemp(ck_tmp)) { ck_tmp[0] = 0; return -1; }
    return 0;
}

static void ck_path(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", ck_tmp, name);
}

static int ck_write(const char *name, const void *data, size_t len) {
    char path[1024];
    FILE *f;
    size_t w;
    ck_path(path, sizeof path, name);
    f = fopen(path, "wb");
    if (!f) return -1;
    w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

static int ck_write_text(const char *name, const char *text) { return ck_write(name, text, strlen(text)); }

/* Copies a fixture file into the temporary folder. */
static int ck_copy(const char *src, const char *name) {
    char path[1024];
    ck_path(path, sizeof path, name);
    return hbpo_test_copy_file(src, path);
}

/* A host copy of a model's buffer (params or grads), malloc'd. */
static float *ck_download(const hbpo_model *m, const float *buf) {
    float *h = (float *)malloc(m->n_params * sizeof(float));
    if (h) m->be->download(h, buf, m->n_params * sizeof(float));
    return h;
}

/* The failing call must return non-zero and leave a message containing want. */
#define ASSERT_FAILS_WITH(call, want)                                           \
    do {                                                                        \
        int ck__rc = (call);                                                    \
        if (ck__rc == 0 || !strstr(hbpo_last_error(), (want)))                  \
            HBPO_TEST__FAILF("%s: rc %d, message \"%s\" lacks \"%s\"", #call, ck__rc, \
                             hbpo_last_error(), (want));                        \
    } while (0)

/* ---- conversions ---- */

/* IEEE half by its definition, independent of the library. */
static double ck_f16_ref(unsigned h) {
    int s = (h >> 15) & 1, e = (h >> 10) & 31, man = h & 1023;
    double v;
    if (e == 31) return man ? NAN : (s ? -INFINITY : INFINITY);
    v = e == 0 ? ldexp((double)man, -24) : ldexp((double)(1024 + man), e - 25);
    return s ? -v : v;
}

TEST dtype_conversions(void) {
    unsigned h;
    float f;
    uint32_t u;
    /* every half value, subnormals, zeros, inf and NaN included */
    for (h = 0; h < 65536; h++) {
        double want = ck_f16_ref(h);
        float got = hbpo_f16_to_f32((uint16_t)h);
        if (isnan(want) ? !isnan(got) : (double)got != want || (signbit(got) != 0) != (((h >> 15) & 1u) != 0))
            HBPO_TEST__FAILF("f16 0x%04x: got %.9g, want %.9g", h, (double)got, want);
    }
    ASSERT_EQ_FMT(65504.0f, hbpo_f16_to_f32(0x7bff), "%g");
    ASSERT_EQ_FMT(5.9604644775390625e-08f, hbpo_f16_to_f32(0x0001), "%g");
    /* bf16 widening is exact; narrowing rounds to nearest, ties to even, like torch */
    ASSERT_EQ_FMT(1.0f, hbpo_bf16_to_f32(0x3f80), "%g");
    ASSERT_EQ_FMT(-2.0f, hbpo_bf16_to_f32(0xc000), "%g");
    u = 0x3f808000u; memcpy(&f, &u, 4); /* 1 + 2^-8: a tie, rounds to even (down) */
    ASSERT_EQ(0x3f80, hbpo_f32_to_bf16(f));
    u = 0x3f818000u; memcpy(&f, &u, 4); /* a tie that rounds up to even */
    ASSERT_EQ(0x3f82, hbpo_f32_to_bf16(f));
    u = 0x3f808001u; memcpy(&f, &u, 4); /* just above a tie */
    ASSERT_EQ(0x3f81, hbpo_f32_to_bf16(f));
    ASSERT_EQ(0x7f80, hbpo_f32_to_bf16(INFINITY));
    ASSERT_EQ(0xff80, hbpo_f32_to_bf16(-INFINITY));
    ASSERT_EQ(0x7f80, hbpo_f32_to_bf16(3.4028235e38f)); /* FLT_MAX rounds to inf, as in torch */
    ASSERT_EQ(0x7fc0, hbpo_f32_to_bf16(NAN));
    ASSERT_EQ(0x8000, hbpo_f32_to_bf16(-0.0f));
    u = 0x00000001u; memcpy(&f, &u, 4); /* the smallest subnormal rounds to zero */
    ASSERT_EQ(0x0000, hbpo_f32_to_bf16(f));
    /* the branch-free bits (hbpo_k_bf16_bits, which the oneDNN and cuBLAS
       paths read) are the upper half of the emulation's rounding
       (hbpo_k_round_mantissa), for every upper half and the low halves
       around a tie, a NaN's payload included */
    {
        static const uint32_t low[8] = {0x0000u, 0x0001u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu, 0x1234u, 0xc000u};
        uint32_t hi, k, v;
        for (hi = 0; hi < 0x10000u; hi++)
            for (k = 0; k < 8; k++) {
                float r;
                u = hi << 16 | low[k];
                memcpy(&f, &u, 4);
                r = hbpo_k_round_mantissa(f, 7);
                memcpy(&v, &r, 4);
                if ((v & 0xffffu) != 0 || hbpo_f32_to_bf16(f) != (uint16_t)(v >> 16))
                    HBPO_TEST__FAILF("bf16 of 0x%08x: 0x%04x, the emulation rounds to 0x%08x", (unsigned)u,
                                     hbpo_f32_to_bf16(f), (unsigned)v);
            }
    }
    PASS();
}

/* ---- config.json ---- */

/* A valid qwen2 config with extra members placed first: hbpo_json_get returns
   the first of duplicate names, so CK_CFG("\"vocab_size\": 7") overrides. */
#define CK_CFG_BODY "\"model_type\": \"qwen2\", \"vocab_size\": 512, \"hidden_size\": 64, " \
                    "\"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, " \
                    "\"num_key_value_heads\": 2, \"max_position_embeddings\": 256"
#define CK_CFG(extra) "{" extra ", " CK_CFG_BODY "}"

static int ck_cfg(hbpo_model_config *c, const char *json) {
    return hbpo_model_config_parse(c, json, strlen(json));
}

TEST config_fields_and_defaults(void) {
    hbpo_model_config c;
    /* the fixture's own file (transformers 5: rope_theta inside rope_parameters) */
    if (hbpo_model_config_load(&c, CK_DIR "/qwen2_untied") != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(512, c.vocab_size);
    ASSERT_EQ(64, c.hidden_size);
    ASSERT_EQ(128, c.intermediate_size);
    ASSERT_EQ(2, c.num_hidden_layers);
    ASSERT_EQ(4, c.num_attention_heads);
    ASSERT_EQ(2, c.num_key_value_heads);
    ASSERT_EQ(16, c.head_dim);
    ASSERT_EQ(256, c.max_position_embeddings);
    ASSERT_EQ_FMT(12345.0f, c.rope_theta, "%g");
    ASSERT_EQ_FMT(1e-6f, c.rms_norm_eps, "%g");
    ASSERT_EQ(0, c.tie_word_embeddings);
    ASSERT_EQ(1, c.attention_bias);
    ASSERT_EQ(0, c.qk_norm);
    ASSERT_EQ(-1, c.bos_token_id);
    ASSERT_EQ(-1, c.eos_token_id);
    if (hbpo_model_config_load(&c, CK_DIR "/qwen3_tied/config.json") != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(1, c.qk_norm);
    ASSERT_EQ(0, c.attention_bias);
    ASSERT_EQ(32, c.head_dim);
    ASSERT_EQ(1, c.tie_word_embeddings);
    ASSERT_EQ(256, c.vocab_size);
    /* transformers 4.x layout: top-level rope_theta; eos as a list; kv heads null = heads */
    if (ck_cfg(&c, CK_CFG("\"rope_theta\": 1000000.0, \"eos_token_id\": [7, 9], "
                   "\"bos_token_id\": 3, \"num_key_value_heads\": null, \"rope_scaling\": null, "
                   "\"use_sliding_window\": false, \"sliding_window\": 4096, \"hidden_act\": \"silu\", "
                   "\"torch_dtype\": \"bfloat16\", \"tie_word_embeddings\": true")) != 0)
        FAILm(hbpo_last_error());
    ASSERT_EQ_FMT(1e6f, c.rope_theta, "%g");
    ASSERT_EQ(7, c.eos_token_id);
    ASSERT_EQ(3, c.bos_token_id);
    ASSERT_EQ(4, c.num_key_value_heads);
    ASSERT_EQ(1, c.tie_word_embeddings);
    /* rope_parameters wins over the top level; a default rope_scaling is fine */
    if (ck_cfg(&c, CK_CFG("\"rope_theta\": 5.0, \"rope_parameters\": {\"rope_type\": \"default\", "
                   "\"rope_theta\": 777.0}, \"eos_token_id\": []")) != 0)
        FAILm(hbpo_last_error());
    ASSERT_EQ_FMT(777.0f, c.rope_theta, "%g");
    ASSERT_EQ(-1, c.eos_token_id);
    if (ck_cfg(&c, CK_CFG("\"rope_scaling\": {\"type\": \"default\", \"rope_theta\": 99.0}")) != 0)
        FAILm(hbpo_last_error());
    ASSERT_EQ_FMT(99.0f, c.rope_theta, "%g");
    /* transformers' defaults for absent fields */
    if (ck_cfg(&c, "{\"model_type\": \"qwen2\", \"num_attention_heads\": 32}") != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(151936, c.vocab_size);
    ASSERT_EQ(4096, c.hidden_size);
    ASSERT_EQ(22016, c.intermediate_size);
    ASSERT_EQ(32, c.num_hidden_layers);
    ASSERT_EQ(32, c.num_key_value_heads);
    ASSERT_EQ(128, c.head_dim);
    ASSERT_EQ(32768, c.max_position_embeddings);
    ASSERT_EQ_FMT(10000.0f, c.rope_theta, "%g");
    ASSERT_EQ(0, c.tie_word_embeddings);
    /* qwen2: an explicit head_dim is used; qwen3 defaults to 128 and may have biases */
    if (ck_cfg(&c, CK_CFG("\"num_key_value_heads\": 2, \"head_dim\": 32")) != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(32, c.head_dim);
    if (ck_cfg(&c, "{\"model_type\": \"qwen3\", \"hidden_size\": 64, \"num_attention_heads\": 4, "
                   "\"num_key_value_heads\": 4, \"attention_bias\": true}") != 0)
        FAILm(hbpo_last_error());
    ASSERT_EQ(128, c.head_dim);
    ASSERT_EQ(1, c.attention_bias);
    ASSERT_EQ(1, c.qk_norm);
    PASS();
}

TEST config_rejects_bad_input(void) {
    hbpo_model_config c;
    ASSERT_FAILS_WITH(ck_cfg(&c, "{\"model_type\": \"qwen2\", "), "invalid JSON");
    ASSERT_FAILS_WITH(ck_cfg(&c, "not json"), "invalid JSON");
    ASSERT_FAILS_WITH(ck_cfg(&c, "[1, 2]"), "not a JSON object");
    ASSERT_FAILS_WITH(ck_cfg(&c, "{\"hidden_size\": 64}"), "model_type");
    ASSERT_FAILS_WITH(ck_cfg(&c, "{\"model_type\": \"llama\"}"), "model_type \"llama\" is not supported");
    ASSERT_FAILS_WITH(ck_cfg(&c, "{\"model_type\": 2}"), "model_type");
    ASSERT_FAILS_WITH(ck_cfg(&c, CK_CFG("\"vocab_size\": \"512\"")), "\"vocab_size\" must be an integer");
    ASSERT_FAILS_WITH(ck_cfg(&c, CK_CFG("\"hidden_size\": 64.5")), "\"hidden_size\" = 64.5");
    ASSERT_FAILS_WITH(ck_cfg(&c, CK_CFG("\"num_hidden_layers\": -2")), "\"num_hidden_layers\" = -2");
    ASSERT_FAILS_WITH(ck_cfg(&c, CK_CFG("\"tie_word_embeddings\": 1")),
                      "\"tie_word_embeddings\" must be true or false");
    ASSERT_FAILS_WITH(ck_cfg(&c, CK_CFG("\"rms_norm_eps\": \"1e-6\"")), "\"rms_norm_eps\" must be a number");
    ASSERT_FAILS_WITH(ck_cfg(&c, CK_CFG("\"eos_token_id\": \"</s>\"")), "eos_token_id");
    ASSERT_FAILS_WITH(ck_cfg(&c, CK_CFG("\"eos_token_id\": [1, -3]")), "eos_token_id");
    ASSERT_FAILS_WITH(ck_cfg(&c, CK_CFG("\"eos_token_id\": 600")), "eos_token_id 600");
    ASSERT_FAILS_WITH(ck_cfg(&c, CK_CFG("\"num_key_value_heads\": 3")),
                      "num_key_value_heads = 3 does not divide num_attention_heads = 4");
    ASSERT_FAILS_WITH(ck_cfg(&c, "{\"model_type\": \"qwen2\", \"hidden_size\": 64, \"num_attention_heads\": 5, "
                                 "\"num_key_value_heads\": 5}"),
                      "hidden_size 64 is not divisible by num_attention_heads 5");
    ASSERT_FAILS_WITH(ck_cfg(&c, CK_CFG("\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}")),
                      "rope_type \"yarn\" is not supported");
    ASSERT_FAILS_WITH(ck_cfg(&c, CK_CFG("\"rope_parameters\": {\"rope_type\": \"linear\", \"factor\": 2.0, "
                                        "\"rope_theta\": 10000.0}")),
                      "rope_type \"linear\" is not supported");
    ASSERT_FAILS_WITH(ck_cfg(&c, CK_CFG("\"rope_parameters\": {\"full_attention\": {\"rope_theta\": 10000.0}}")),
                      "per layer type");
    ASSERT_FAILS_WITH(ck_cfg(&c, CK_CFG("\"num_key_value_heads\": 2, \"rope_scaling\": 3")), "rope_scaling");
    ASSERT_FAILS_WITH(ck_cfg(&c, CK_CFG("\"num_key_value_heads\": 2, \"use_sliding_window\": true")),
                      "use_sliding_window");
    ASSERT_FAILS_WITH(ck_cfg(&c, CK_CFG("\"num_key_value_heads\": 2, \"hidden_act\": \"gelu\"")),
                      "hidden_act gelu is not supported");
    ASSERT_FAILS_WITH(ck_cfg(&c, CK_CFG("\"num_key_value_heads\": 2, \"rope_theta\": 0.5")), "rope_theta");
    /* absent num_key_value_heads is transformers' 32, which does not divide 4 heads */
    ASSERT_FAILS_WITH(ck_cfg(&c, "{\"model_type\": \"qwen2\", \"hidden_size\": 64, \"num_attention_heads\": 4}"),
                      "num_key_value_heads = 32");
    ASSERT_FAILS_WITH(hbpo_model_config_parse(&c, NULL, 0), "NULL");
    ASSERT_FAILS_WITH(hbpo_model_config_load(&c, CK_DIR "/no_such_model"), "no_such_model");
    PASS();
}

/* ---- parity with transformers ---- */

/* Reads NAME.ref.json into ck_ref and the sequences into ck_tok (B*T). */
static int ck_load_ref(const char *name, int *B, int *T) {
    char path[512];
    size_t len;
    char *text;
    const hbpo_json *seqs, *row, *x;
    int i = 0;
    snprintf(path, sizeof path, CK_DIR "/%s.ref.json", name);
    text = hbpo_read_file(path, 0, &len);
    if (!text) return -1;
    i = hbpo_json_parse(&ck_ref, text, len);
    hbpo_free(text);
    if (i != 0) return -1;
    seqs = hbpo_json_get(ck_ref.root, "sequences");
    if (!seqs || !seqs->child) return -1;
    *B = (int)seqs->len;
    *T = (int)seqs->child->len;
    ck_tok = (int *)malloc(sizeof(int) * (size_t)(*B) * (size_t)(*T));
    if (!ck_tok) return -1;
    i = 0;
    for (row = seqs->child; row; row = row->next)
        for (x = row->child; x; x = x->next) ck_tok[i++] = (int)x->num;
    return i == *B * *T ? 0 : -1;
}

/* Floats of a JSON array into a malloc'd buffer. */
static float *ck_floats(const hbpo_json *arr, size_t *n) {
    const hbpo_json *x;
    float *out;
    size_t i = 0;
    *n = arr ? arr->len : 0;
    out = (float *)malloc(sizeof(float) * (*n ? *n : 1));
    if (!out) return NULL;
    for (x = arr ? arr->child : NULL; x; x = x->next) out[i++] = (float)x->num;
    return out;
}

static double ck_max_abs(const float *x, size_t n) {
    double m = 0.0;
    size_t i;
    for (i = 0; i < n; i++) if (fabs(x[i]) > m) m = fabs(x[i]);
    return m;
}

static double ck_max_diff(const float *a, const float *b, size_t n) {
    double m = 0.0;
    size_t i;
    for (i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= m)) m = d == d ? d : INFINITY; /* NaN anywhere is the worst */
    }
    return m;
}

/* Loads the fixture checkpoint and holds it to transformers' float64 reference:
   logits within 1e-4 of the largest logit, the loss within 1e-5 relative, the
   recorded gradient rows within 1e-4 of the tensor's largest recorded value
   and the whole-tensor sums within 1e-4 relative. */
static int ck_parity(const char *name) {
    char dir[512];
    int B, T, b, t, i;
    size_t n, V, nv;
    float loss, *mask;
    double lscale, ldiff, worst_grad = 0.0, ref_loss;
    const hbpo_json *g;
    ck_reset();
    snprintf(dir, sizeof dir, CK_DIR "/%s", name);
    if (hbpo_model_load(&ck_m, dir, NULL) != 0) FAILm(hbpo_last_error());
    if (ck_load_ref(name, &B, &T) != 0) FAILm("cannot read the reference (run tools/gen_qwen2_fixtures.py)");
    V = (size_t)ck_m.config.vocab_size;
    /* logits of the full sequences */
    ck_a = ck_floats(hbpo_json_get(ck_ref.root, "logits"), &n);
    ASSERT(ck_a != NULL);
    ASSERT_EQ((size_t)B * T * V, n);
    ck_b = (float *)malloc(sizeof(float) * n);
    ASSERT(ck_b != NULL);
    if (hbpo_model_logits(&ck_m, ck_tok, B, T, ck_b) != 0) FAILm(hbpo_last_error());
    lscale = ck_max_abs(ck_a, n);
    ldiff = ck_max_diff(ck_a, ck_b, n);
    ASSERT_TENSOR_NEAR(ck_a, ck_b, n, 1e-4 * lscale, 0.0);
    /* cross-entropy over (B, T-1): inputs x[..T-1), targets x[1..T), as transformers shifts labels */
    ck_c = (float *)malloc(sizeof(float) * (size_t)B * T);
    ck_itmp = (int *)malloc(sizeof(int) * (size_t)B * T * 2);
    ASSERT(ck_c && ck_itmp);
    {
        int *in = ck_itmp, *tg = ck_itmp + (size_t)B * T;
        mask = ck_c;
        for (b = 0; b < B; b++)
            for (t = 0; t + 1 < T; t++) {
                in[b * (T - 1) + t] = ck_tok[b * T + t];
                tg[b * (T - 1) + t] = ck_tok[b * T + t + 1];
                mask[b * (T - 1) + t] = 1.0f;
            }
        if (hbpo_model_zero_grad(&ck_m) != 0) FAILm(hbpo_last_error());
        if (hbpo_model_cross_entropy(&ck_m, in, tg, mask, B, T - 1, 1.0f, &loss) != 0) FAILm(hbpo_last_error());
    }
    ref_loss = hbpo_json_get(ck_ref.root, "loss")->num;
    ASSERT_NEAR(ref_loss, loss, 1e-5 * fabs(ref_loss) + 1e-6);
    /* gradients */
    free(ck_c);
    ck_c = ck_download(&ck_m, ck_m.grads);
    ASSERT(ck_c != NULL);
    for (g = hbpo_json_get(ck_ref.root, "grads")->child; g; g = g->next) {
        const char *tn = hbpo_json_get_string(g, "name");
        const hbpo_tensor_info *ti = hbpo_model_tensor(&ck_m, tn);
        const hbpo_json *r;
        double scale, sum = 0.0, sum_abs = 0.0, sum_sq = 0.0, want;
        size_t cols, k = 0;
        free(ck_b);
        ck_b = ck_floats(hbpo_json_get(g, "values"), &nv);
        if (!ti || !ck_b) HBPO_TEST__FAILF("gradient of %s: no such tensor", tn ? tn : "?");
        cols = ti->ndim == 2 ? (size_t)ti->shape[1] : ti->numel;
        scale = ck_max_abs(ck_b, nv);
        for (r = hbpo_json_get(g, "rows")->child; r; r = r->next, k += cols) {
            const float *got = ck_c + ti->offset + (size_t)r->num * cols;
            double d = ck_max_diff(ck_b + k, got, cols);
            if (scale > 0 && d / scale > worst_grad) worst_grad = d / scale;
            if (!(d <= 1e-4 * scale + 1e-8))
                HBPO_TEST__FAILF("gradient of %s, row %d: max diff %.3g, largest value %.3g", tn,
                                 (int)r->num, d, scale);
        }
        ASSERT_EQ(nv, k);
        for (i = 0; i < (int)ti->numel; i++) {
            double x = ck_c[ti->offset + (size_t)i];
            sum += x; sum_abs += fabs(x); sum_sq += x * x;
        }
        want = hbpo_json_get(g, "sum_abs")->num;
        if (!(fabs(sum_abs - want) <= 1e-4 * want))
            HBPO_TEST__FAILF("gradient of %s: sum |g| %.9g, reference %.9g", tn, sum_abs, want);
        want = hbpo_json_get(g, "sum_sq")->num;
        if (!(fabs(sum_sq - want) <= 1e-4 * want))
            HBPO_TEST__FAILF("gradient of %s: sum g^2 %.9g, reference %.9g", tn, sum_sq, want);
        want = hbpo_json_get(g, "sum")->num;
        if (!(fabs(sum - want) <= 1e-4 * sum_abs))
            HBPO_TEST__FAILF("gradient of %s: sum g %.9g, reference %.9g", tn, sum, want);
    }
    if (hbpo_test__info.verbose)
        printf("  %s: logits max diff %.3g (largest |logit| %.3g), loss %.9g vs %.9g, "
               "worst gradient row diff / scale %.3g\n",
               name, ldiff, lscale, (double)loss, ref_loss, worst_grad);
    ck_reset();
    PASS();
}

TEST parity_qwen2_untied(void) { return ck_parity("qwen2_untied"); }
TEST parity_qwen2_tied(void) { return ck_parity("qwen2_tied"); }
TEST parity_qwen2_bf16(void) { return ck_parity("qwen2_bf16"); }
TEST parity_qwen3_tied(void) { return ck_parity("qwen3_tied"); }

/* The reference records what generation tests need: prompts and transformers' greedy tokens. */
TEST reference_has_greedy_tokens(void) {
    int B, T;
    const hbpo_json *gen, *cs;
    ck_reset();
    ASSERT_EQ(0, ck_load_ref("qwen2_untied", &B, &T));
    gen = hbpo_json_get(ck_ref.root, "generation");
    ASSERT(gen != NULL);
    ASSERT_EQ(16, (int)hbpo_json_get(gen, "max_new_tokens")->num);
    cs = hbpo_json_get(gen, "cases");
    ASSERT(cs && cs->len == 2);
    ASSERT_EQ(16, (int)hbpo_json_get(cs->child, "tokens")->len);
    ASSERT(hbpo_json_get(cs->child, "prompt")->len != hbpo_json_get(cs->child->next, "prompt")->len);
    ck_reset();
    PASS();
}

/* ---- layouts and round trips ---- */

TEST sharded_equals_unsharded(void) {
    ck_reset();
    if (hbpo_model_load(&ck_m, CK_DIR "/qwen2_sharded", NULL) != 0) FAILm(hbpo_last_error());
    if (hbpo_model_load(&ck_m2, CK_DIR "/qwen2_bf16", NULL) != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(ck_m2.n_params, ck_m.n_params);
    ck_a = ck_download(&ck_m, ck_m.params);
    ck_b = ck_download(&ck_m2, ck_m2.params);
    ASSERT(ck_a && ck_b);
    ASSERT(memcmp(ck_a, ck_b, ck_m.n_params * sizeof(float)) == 0);
    ck_reset();
    PASS();
}

static int ck_same_config(const hbpo_model_config *a, const hbpo_model_config *b) {
    return a->vocab_size == b->vocab_size && a->hidden_size == b->hidden_size &&
           a->intermediate_size == b->intermediate_size && a->num_hidden_layers == b->num_hidden_layers &&
           a->num_attention_heads == b->num_attention_heads &&
           a->num_key_value_heads == b->num_key_value_heads && a->head_dim == b->head_dim &&
           a->max_position_embeddings == b->max_position_embeddings && a->rope_theta == b->rope_theta &&
           a->rms_norm_eps == b->rms_norm_eps && a->initializer_range == b->initializer_range &&
           a->tie_word_embeddings == b->tie_word_embeddings && a->attention_bias == b->attention_bias &&
           a->qk_norm == b->qk_norm && a->bos_token_id == b->bos_token_id &&
           a->eos_token_id == b->eos_token_id;
}

/* save -> load: F32 is bit-identical, BF16 equals torch's rounding of each value. */
static int ck_roundtrip(const char *name, int dtype, size_t shard_bytes) {
    char dir[512], path[1024];
    size_t i;
    FILE *f;
    ck_reset();
    snprintf(dir, sizeof dir, CK_DIR "/%s", name);
    if (hbpo_model_load(&ck_m, dir, NULL) != 0) FAILm(hbpo_last_error());
    ck_m.config.bos_token_id = 1; /* ids survive the trip too */
    ck_m.config.eos_token_id = 2;
    ASSERT_EQ(0, ck_mktmp());
    ck_path(path, sizeof path, "model"); /* save creates the folder */
    if (hbpo_model_save_sharded(&ck_m, path, dtype, shard_bytes) != 0) FAILm(hbpo_last_error());
    if (hbpo_model_load(&ck_m2, path, NULL) != 0) FAILm(hbpo_last_error());
    ASSERT(ck_same_config(&ck_m.config, &ck_m2.config));
    ck_a = ck_download(&ck_m, ck_m.params);
    ck_b = ck_download(&ck_m2, ck_m2.params);
    ASSERT(ck_a && ck_b);
    if (dtype == HBPO_DTYPE_BF16)
        for (i = 0; i < ck_m.n_params; i++) ck_a[i] = hbpo_bf16_to_f32(hbpo_f32_to_bf16(ck_a[i]));
    ASSERT(memcmp(ck_a, ck_b, ck_m.n_params * sizeof(float)) == 0);
    /* the layout asked for, and no temporary files left behind */
    snprintf(path, sizeof path, "%s/model/model.safetensors.index.json", ck_tmp);
    f = fopen(path, "rb");
    ASSERT_EQ(shard_bytes != 0, f != NULL);
    if (f) fclose(f);
    snprintf(path, sizeof path, "%s/model/model.safetensors.tmp", ck_tmp);
    ASSERT(fopen(path, "rb") == NULL);
    snprintf(path, sizeof path, "%s/model", ck_tmp);
    ck_rmdir(path);
    ck_reset();
    PASS();
}

TEST save_f32_is_bit_identical(void) {
    int r = ck_roundtrip("qwen2_untied", HBPO_DTYPE_F32, 0);
    if (r == 0) r = ck_roundtrip("qwen3_tied", HBPO_DTYPE_F32, 0);
    return r;
}

TEST save_bf16_rounds_to_nearest_even(void) {
    int r = ck_roundtrip("qwen2_untied", HBPO_DTYPE_BF16, 0);
    if (r == 0) r = ck_roundtrip("qwen2_tied", HBPO_DTYPE_BF16, 0);
    return r;
}

TEST save_sharded_roundtrip(void) {
    int r = ck_roundtrip("qwen2_untied", HBPO_DTYPE_F32, 64 << 10);
    if (r == 0) r = ck_roundtrip("qwen3_tied", HBPO_DTYPE_BF16, 100 << 10);
    return r;
}

/* A later single-file save into a sharded folder replaces the index (and vice versa). */
TEST save_switches_layout(void) {
    char path[1024];
    FILE *f;
    ck_reset();
    if (hbpo_model_load(&ck_m, CK_DIR "/qwen2_tied", NULL) != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(0, ck_mktmp());
    ASSERT_EQ(0, hbpo_model_save_sharded(&ck_m, ck_tmp, HBPO_DTYPE_F32, 50000));
    ASSERT_EQ(0, hbpo_model_save(&ck_m, ck_tmp, HBPO_DTYPE_BF16));
    ck_path(path, sizeof path, "model.safetensors.index.json");
    f = fopen(path, "rb");
    if (f) { fclose(f); FAILm("stale index left behind"); }
    if (hbpo_model_load(&ck_m2, ck_tmp, NULL) != 0) FAILm(hbpo_last_error());
    hbpo_model_free(&ck_m2);
    ASSERT_EQ(0, hbpo_model_save_sharded(&ck_m, ck_tmp, HBPO_DTYPE_F32, 50000));
    ck_path(path, sizeof path, "model.safetensors");
    f = fopen(path, "rb");
    if (f) { fclose(f); FAILm("stale model.safetensors left behind"); }
    if (hbpo_model_load(&ck_m2, ck_tmp, NULL) != 0) FAILm(hbpo_last_error());
    ASSERT_FAILS_WITH(hbpo_model_save(&ck_m, ck_tmp, HBPO_DTYPE_F16), "not supported");
    ck_reset();
    PASS();
}

/* ---- hand-written safetensors files ---- */

enum {
    CK_NONE, CK_DROP, CK_EXTRA, CK_INV_FREQ, CK_LM_HEAD, CK_DUP, CK_DTYPE_I8, CK_SHAPE, CK_OOR,
    CK_OVERLAP, CK_SIZE, CK_END_BEFORE_BEGIN
};

typedef struct {
    char name[96];
    const char *dtype;
    int ndim, shape[2];
    const float *src;   /* values (F32, F64, BF16), or NULL: zeros */
    size_t n;           /* elements */
} ck_entry;

static size_t ck_dtype_size(const char *dt) {
    return !strcmp(dt, "F64") ? 8 : !strcmp(dt, "F32") ? 4 : !strcmp(dt, "I8") ? 1 : 2;
}

/* Writes NAME (in the temporary folder) with tensors [t0, t1) of ck_m's table,
   values from host, each stored as dtype ("F32", "F64", "F16" (bit patterns,
   see ck_f16_bits) or "BF16"), after applying mutation kind to the tensor called
   victim. The writer is this test's own, so the library's writer is not
   checked against itself. */
static int ck_write_st(const char *fname, const float *host, int t0, int t1, const char *dtype,
                       int kind, const char *victim) {
    ck_entry *e;
    char *hdr;
    size_t cap, hl = 0, off = 0, total = 0, i, es;
    int n = 0, t, k, rc = -1, vi = -1;
    unsigned char len8[8], *data;
    e = (ck_entry *)calloc((size_t)(t1 - t0 + 3), sizeof *e);
    if (!e) return -1;
    for (t = t0; t < t1; t++) {
        const hbpo_tensor_info *ti = &ck_m.tensors[t];
        int is_v = victim && !strcmp(ti->name, victim);
        if (is_v && kind == CK_DROP) continue;
        snprintf(e[n].name, sizeof e[n].name, "%s", ti->name);
        e[n].dtype = dtype;
        e[n].ndim = ti->ndim;
        e[n].shape[0] = ti->shape[0];
        e[n].shape[1] = ti->shape[1];
        e[n].src = host + ti->offset;
        e[n].n = ti->numel;
        if (is_v) {
            vi = n;
            if (kind == CK_DTYPE_I8) e[n].dtype = "I8";
            if (kind == CK_SHAPE) { /* one row more, data to match */
                e[n].shape[0] += 1;
                e[n].n += (size_t)(ti->ndim == 2 ? ti->shape[1] : 1);
                e[n].src = NULL;
            }
        }
        n++;
        if (is_v && kind == CK_DUP) { e[n] = e[n - 1]; n++; }
    }
    if (kind == CK_EXTRA || kind == CK_INV_FREQ || kind == CK_LM_HEAD) {
        const hbpo_tensor_info *emb = &ck_m.tensors[0];
        snprintf(e[n].name, sizeof e[n].name, "%s",
                 kind == CK_EXTRA ? "model.layers.0.self_attn.extra.weight" :
                 kind == CK_INV_FREQ ? "model.layers.0.self_attn.rotary_emb.inv_freq" : "lm_head.weight");
        e[n].dtype = dtype;
        if (kind == CK_LM_HEAD) {
            e[n].ndim = 2; e[n].shape[0] = emb->shape[0]; e[n].shape[1] = emb->shape[1];
            e[n].src = host; e[n].n = emb->numel;
        } else {
            e[n].ndim = 1; e[n].shape[0] = 8; e[n].shape[1] = 1; e[n].n = 8;
        }
        n++;
    }
    cap = (size_t)n * 200 + 64;
    hdr = (char *)malloc(cap);
    if (!hdr) { free(e); return -1; }
    hl = (size_t)snprintf(hdr, cap, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (k = 0; k < n; k++) {
        size_t b, end;
        es = ck_dtype_size(e[k].dtype);
        b = off; end = off + e[k].n * es;
        if (k == vi && kind == CK_OOR) end += 1000000;
        if (k == vi && kind == CK_OVERLAP) { b -= 4; end -= 4; }
        if (k == vi && kind == CK_SIZE) end -= 4;
        if (k == vi && kind == CK_END_BEFORE_BEGIN) { size_t tmp = b; b = end; end = tmp; }
        hl += (size_t)snprintf(hdr + hl, cap - hl, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%d", e[k].name,
                               e[k].dtype, e[k].shape[0]);
        if (e[k].ndim == 2) hl += (size_t)snprintf(hdr + hl, cap - hl, ",%d", e[k].shape[1]);
        hl += (size_t)snprintf(hdr + hl, cap - hl, "],\"data_offsets\":[%lu,%lu]}", (unsigned long)b,
                               (unsigned long)end);
        off += e[k].n * es;
    }
    hl += (size_t)snprintf(hdr + hl, cap - hl, "}");
    while (hl % 8) hdr[hl++] = ' ';
    total = off;
    data = (unsigned char *)calloc(total + 8, 1);
    if (!data) { free(hdr); free(e); return -1; }
    off = 0;
    for (k = 0; k < n; k++) {
        es = ck_dtype_size(e[k].dtype);
        for (i = 0; e[k].src && i < e[k].n; i++) {
            unsigned char *p = data + off + i * es;
            uint64_t u = 0;
            if (es == 8) { double d = e[k].src[i]; memcpy(&u, &d, 8); }
            else if (es == 4) { uint32_t w; memcpy(&w, &e[k].src[i], 4); u = w; }
            else if (!strcmp(e[k].dtype, "BF16")) u = hbpo_f32_to_bf16(e[k].src[i]);
            else if (!strcmp(e[k].dtype, "F16")) u = (uint64_t)(i * 2654435761u + (size_t)k) & 0xffffu;
            for (t = 0; t < (int)es; t++) p[t] = (unsigned char)(u >> (8 * t)); /* little-endian */
        }
        off += e[k].n * es;
    }
    for (k = 0; k < 8; k++) len8[k] = (unsigned char)((uint64_t)hl >> (8 * k));
    {
        char path[1024];
        FILE *f;
        ck_path(path, sizeof path, fname);
        f = fopen(path, "wb");
        if (f) {
            int ok = fwrite(len8, 1, 8, f) == 8 && fwrite(hdr, 1, hl, f) == hl &&
                     fwrite(data, 1, total, f) == total;
            if (fclose(f) == 0 && ok) rc = 0;
        }
    }
    free(data); free(hdr); free(e);
    return rc;
}

/* The value of F16 element i of entry k as ck_write_st stores it. */
static double ck_f16_bits_value(size_t i, int k) {
    return ck_f16_ref((unsigned)((uint64_t)(i * 2654435761u + (size_t)k) & 0xffffu));
}

/* A temporary checkpoint of the qwen2_untied (or qwen2_tied) config whose
   weights are written by ck_write_st; ck_a holds the source values. */
static int ck_setup(const char *name) {
    char src[512];
    ck_reset();
    snprintf(src, sizeof src, CK_DIR "/%s", name);
    if (hbpo_model_load(&ck_m, src, NULL) != 0) return -1;
    ck_a = ck_download(&ck_m, ck_m.params);
    if (!ck_a || ck_mktmp() != 0) return -1;
    snprintf(src, sizeof src, CK_DIR "/%s/config.json", name);
    return ck_copy(src, "config.json");
}

/* Loads the temporary checkpoint into ck_m2 (freed first). */
static int ck_load_tmp(void) {
    hbpo_model_free(&ck_m2);
    return hbpo_model_load(&ck_m2, ck_tmp, NULL);
}

#define CK_ST(kind, victim) ck_write_st("model.safetensors", ck_a, 0, ck_m.n_tensors, "F32", (kind), (victim))

TEST load_own_writer_and_other_dtypes(void) {
    size_t i;
    int k;
    if (ck_setup("qwen2_untied") != 0) FAILm(hbpo_last_error());
    /* plain F32: equal bits */
    ASSERT_EQ(0, CK_ST(CK_NONE, NULL));
    if (ck_load_tmp() != 0) FAILm(hbpo_last_error());
    ck_b = ck_download(&ck_m2, ck_m2.params);
    ASSERT(ck_b && memcmp(ck_a, ck_b, ck_m.n_params * sizeof(float)) == 0);
    free(ck_b); ck_b = NULL;
    /* F64: the float values come back exactly */
    ASSERT_EQ(0, ck_write_st("model.safetensors", ck_a, 0, ck_m.n_tensors, "F64", CK_NONE, NULL));
    if (ck_load_tmp() != 0) FAILm(hbpo_last_error());
    ck_b = ck_download(&ck_m2, ck_m2.params);
    ASSERT(ck_b && memcmp(ck_a, ck_b, ck_m.n_params * sizeof(float)) == 0);
    free(ck_b); ck_b = NULL;
    /* F16: every bit pattern (subnormals, inf, NaN) widened exactly */
    ASSERT_EQ(0, ck_write_st("model.safetensors", ck_a, 0, ck_m.n_tensors, "F16", CK_NONE, NULL));
    if (ck_load_tmp() != 0) FAILm(hbpo_last_error());
    ck_b = ck_download(&ck_m2, ck_m2.params);
    ASSERT(ck_b != NULL);
    for (k = 0; k < ck_m2.n_tensors; k++) {
        const hbpo_tensor_info *ti = &ck_m2.tensors[k];
        for (i = 0; i < ti->numel; i++) {
            double want = ck_f16_bits_value(i, k);
            float got = ck_b[ti->offset + i];
            if (isnan(want) ? !isnan(got) : (double)got != want)
                HBPO_TEST__FAILF("F16 tensor %s[%lu]: got %.9g, want %.9g", ti->name, (unsigned long)i,
                                 (double)got, want);
        }
    }
    /* rotary inv_freq buffers of old checkpoints are skipped */
    ASSERT_EQ(0, CK_ST(CK_INV_FREQ, NULL));
    if (ck_load_tmp() != 0) FAILm(hbpo_last_error());
    ck_reset();
    PASS();
}

TEST load_tied_ignores_lm_head(void) {
    if (ck_setup("qwen2_tied") != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(0, CK_ST(CK_LM_HEAD, NULL));
    if (ck_load_tmp() != 0) FAILm(hbpo_last_error());
    ck_b = ck_download(&ck_m2, ck_m2.params);
    ASSERT(ck_b && memcmp(ck_a, ck_b, ck_m.n_params * sizeof(float)) == 0);
    ck_reset();
    PASS();
}

#define CK_Q "model.layers.0.self_attn.q_proj.weight"
#define CK_KB "model.layers.1.self_attn.k_proj.bias"

TEST load_rejects_bad_tensors(void) {
    if (ck_setup("qwen2_untied") != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(0, CK_ST(CK_DROP, CK_Q));
    ASSERT_FAILS_WITH(ck_load_tmp(), "tensor " CK_Q " is missing");
    ASSERT_EQ(0, CK_ST(CK_EXTRA, NULL));
    ASSERT_FAILS_WITH(ck_load_tmp(), "unexpected tensor model.layers.0.self_attn.extra.weight");
    ASSERT_EQ(0, CK_ST(CK_DUP, CK_KB));
    ASSERT_FAILS_WITH(ck_load_tmp(), CK_KB " appears twice");
    ASSERT_EQ(0, CK_ST(CK_DTYPE_I8, CK_KB));
    ASSERT_FAILS_WITH(ck_load_tmp(), "dtype \"I8\" is not supported");
    ASSERT_EQ(0, CK_ST(CK_SHAPE, CK_Q));
    ASSERT_FAILS_WITH(ck_load_tmp(), CK_Q " has shape [65, 64], but config.json gives [64, 64]");
    ASSERT_EQ(0, CK_ST(CK_SHAPE, CK_KB));
    ASSERT_FAILS_WITH(ck_load_tmp(), CK_KB " has shape [33], but config.json gives [32]");
    ASSERT_EQ(0, CK_ST(CK_OOR, CK_KB));
    ASSERT_FAILS_WITH(ck_load_tmp(), "out of range");
    ASSERT_EQ(0, CK_ST(CK_OVERLAP, CK_KB));
    ASSERT_FAILS_WITH(ck_load_tmp(), "overlap");
    ASSERT_EQ(0, CK_ST(CK_SIZE, CK_KB));
    ASSERT_FAILS_WITH(ck_load_tmp(), "elements need");
    ASSERT_EQ(0, CK_ST(CK_END_BEFORE_BEGIN, CK_KB));
    ASSERT_FAILS_WITH(ck_load_tmp(), "end before they begin");
    ck_reset();
    PASS();
}

/* Byte-level damage to a good file. */
TEST load_rejects_bad_files(void) {
    char path[1024], *good;
    size_t len, hl;
    unsigned char *buf;
    int k;
    if (ck_setup("qwen2_untied") != 0) FAILm(hbpo_last_error());
    ck_path(path, sizeof path, "model.safetensors");
    ASSERT_EQ(0, CK_ST(CK_NONE, NULL));
    good = hbpo_read_file(path, 0, &len);
    ASSERT(good != NULL);
    ck_raw = buf = (unsigned char *)malloc(len); /* freed by ck_reset */
    if (!buf) { hbpo_free(good); FAIL(); }
    memcpy(buf, good, len);
    hbpo_free(good);
    for (hl = 0, k = 7; k >= 0; k--) hl = (hl << 8) | buf[k];
    /* truncated data */
    ASSERT_EQ(0, ck_write("model.safetensors", buf, len - 100));
    ASSERT_FAILS_WITH(ck_load_tmp(), "truncated file");
    /* truncated in the header, and before the length */
    ASSERT_EQ(0, ck_write("model.safetensors", buf, 8 + hl / 2));
    ASSERT_FAILS_WITH(ck_load_tmp(), "beyond the end of the file");
    ASSERT_EQ(0, ck_write("model.safetensors", buf, 5));
    ASSERT_FAILS_WITH(ck_load_tmp(), "truncated file");
    ASSERT_EQ(0, ck_write("model.safetensors", buf, 0));
    ASSERT_FAILS_WITH(ck_load_tmp(), "truncated file");
    /* header length beyond the file; absurd */
    buf[0] = 0xff; buf[1] = 0xff; buf[2] = 0x0f; /* ~1 MiB, more than the file */
    ASSERT_EQ(0, ck_write("model.safetensors", buf, len));
    ASSERT_FAILS_WITH(ck_load_tmp(), "beyond the end of the file");
    buf[5] = 0x01; /* 2^40 */
    ASSERT_EQ(0, ck_write("model.safetensors", buf, len));
    ASSERT_FAILS_WITH(ck_load_tmp(), "absurd");
    for (k = 0; k < 8; k++) buf[k] = (unsigned char)((uint64_t)hl >> (8 * k));
    /* bad JSON in the header */
    buf[8] = '#';
    ASSERT_EQ(0, ck_write("model.safetensors", buf, len));
    ASSERT_FAILS_WITH(ck_load_tmp(), "header is not valid JSON");
    /* valid JSON that is not an object */
    memset(buf + 8, ' ', hl);
    memcpy(buf + 8, "[1]", 3);
    ASSERT_EQ(0, ck_write("model.safetensors", buf, len));
    ASSERT_FAILS_WITH(ck_load_tmp(), "header is not a JSON object");
    ck_reset();
    PASS();
}

/* A tensor name holding an escaped NUL is refused: read as a C string,
   "model.norm.weight\u0000x" would load as model.norm.weight (issue 12). */
TEST load_rejects_nul_in_names(void) {
    static const char name[] = "\"model.norm.weight\"", ins[] = "\\u0000x";
    char path[1024], *good, *at;
    size_t len, hl, k, pre, add = sizeof ins - 1;
    unsigned char *buf;
    if (ck_setup("qwen2_untied") != 0) FAILm(hbpo_last_error());
    ck_path(path, sizeof path, "model.safetensors");
    ASSERT_EQ(0, CK_ST(CK_NONE, NULL));
    ASSERT_EQ(0, ck_load_tmp()); /* the file loads before the change */
    good = hbpo_read_file(path, 0, &len);
    ASSERT(good != NULL);
    ck_raw = buf = (unsigned char *)malloc(len + add); /* freed by ck_reset */
    for (hl = 0, k = 8; k-- > 0;) hl = (hl << 8) | (unsigned char)good[k];
    at = buf ? strstr(good + 8, name) : NULL;
    if (!at || (size_t)(at - good) >= 8 + hl) { hbpo_free(good); FAILm("no model.norm.weight"); }
    pre = (size_t)(at - good) + sizeof name - 2; /* up to the closing quote */
    memcpy(buf, good, pre);
    memcpy(buf + pre, ins, add);
    memcpy(buf + pre + add, good + pre, len - pre);
    hbpo_free(good);
    for (k = 0; k < 8; k++) buf[k] = (unsigned char)((uint64_t)(hl + add) >> (8 * k));
    ASSERT_EQ(0, ck_write("model.safetensors", buf, len + add));
    ASSERT_FAILS_WITH(ck_load_tmp(), "holds a NUL byte");
    ck_reset();
    PASS();
}

/* Random damage to the header bytes (length included): every load must either
   succeed or fail with a message, never crash (run under `make sanitize`). */
TEST load_survives_header_mutations(void) {
    char path[1024], *good;
    size_t len, hl, span;
    unsigned char *buf;
    uint32_t x = 12345u;
    int iter, k, ok = 0, failed = 0;
    if (ck_setup("qwen2_tied") != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(0, CK_ST(CK_NONE, NULL));
    ck_path(path, sizeof path, "model.safetensors");
    good = hbpo_read_file(path, 0, &len);
    ASSERT(good != NULL);
    ck_raw = buf = (unsigned char *)malloc(len);
    if (!buf) { hbpo_free(good); FAIL(); }
    for (hl = 0, k = 7; k >= 0; k--) hl = (hl << 8) | (unsigned char)good[k];
    span = 8 + hl;
    for (iter = 0; iter < 200; iter++) {
        int flips = 1 + iter % 4;
        memcpy(buf, good, len);
        for (k = 0; k < flips; k++) {
            x = x * 1664525u + 1013904223u; /* LCG: a fixed, platform-independent sequence */
            buf[(x >> 8) % span] ^= (unsigned char)(1u << ((x >> 4) % 8));
        }
        if (ck_write("model.safetensors", buf, len) != 0) { hbpo_free(good); FAILm("cannot write"); }
        hbpo_clear_error();
        if (ck_load_tmp() == 0) ok++;
        else if (hbpo_last_error()[0]) failed++;
        else { hbpo_free(good); HBPO_TEST__FAILF("iteration %d failed without a message", iter); }
    }
    hbpo_free(good);
    /* every iteration loaded or failed with a message (else the loop failed);
       most flips in the JSON break something */
    ASSERT_IN_RANGE(100, failed, 200);
    ck_reset();
    PASS();
}

TEST load_rejects_trailing_bytes(void) {
    char path[1024], *good, *big;
    size_t len;
    if (ck_setup("qwen2_untied") != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(0, CK_ST(CK_NONE, NULL));
    ck_path(path, sizeof path, "model.safetensors");
    good = hbpo_read_file(path, 0, &len);
    ASSERT(good != NULL);
    ck_raw = big = (char *)calloc(len + 16, 1);
    if (!big) { hbpo_free(good); FAIL(); }
    memcpy(big, good, len);
    hbpo_free(good);
    ASSERT_EQ(0, ck_write("model.safetensors", big, len + 16));
    ASSERT_FAILS_WITH(ck_load_tmp(), "belong to no tensor");
    ck_reset();
    PASS();
}

TEST load_rejects_bad_folders(void) {
    char src[512];
    ck_reset();
    ASSERT_FAILS_WITH(hbpo_model_load(&ck_m, CK_DIR "/no_such_model", NULL), "no such directory");
    ASSERT_EQ(0, ck_mktmp());
    ASSERT_FAILS_WITH(hbpo_model_load(&ck_m, ck_tmp, NULL), "config.json is missing");
    ASSERT_EQ(0, ck_write_text("config.json", "{\"model_type\": \"qwen2\", \"hidden_size\": 64,"));
    ASSERT_FAILS_WITH(hbpo_model_load(&ck_m, ck_tmp, NULL), "invalid JSON");
    ASSERT_EQ(0, ck_write_text("config.json", CK_CFG("\"num_key_value_heads\": \"2\"")));
    ASSERT_FAILS_WITH(hbpo_model_load(&ck_m, ck_tmp, NULL), "\"num_key_value_heads\" must be an integer");
    ASSERT_EQ(0, ck_write_text("config.json", CK_CFG("\"num_key_value_heads\": 3")));
    ASSERT_FAILS_WITH(hbpo_model_load(&ck_m, ck_tmp, NULL), "does not divide");
    ASSERT_EQ(0, ck_copy(CK_DIR "/qwen2_sharded/config.json", "config.json"));
    ASSERT_FAILS_WITH(hbpo_model_load(&ck_m, ck_tmp, NULL), "neither model.safetensors nor");
    /* an index naming shards that are not there */
    ASSERT_EQ(0, ck_copy(CK_DIR "/qwen2_sharded/model.safetensors.index.json", "model.safetensors.index.json"));
    ASSERT_FAILS_WITH(hbpo_model_load(&ck_m, ck_tmp, NULL), "-of-00003.safetensors (named by");
    ASSERT_FAILS_WITH(hbpo_model_load(&ck_m, ck_tmp, NULL), "does not exist");
    /* two present, the third missing */
    snprintf(src, sizeof src, CK_DIR "/qwen2_sharded/model-00001-of-00003.safetensors");
    ASSERT_EQ(0, ck_copy(src, "model-00001-of-00003.safetensors"));
    snprintf(src, sizeof src, CK_DIR "/qwen2_sharded/model-00003-of-00003.safetensors");
    ASSERT_EQ(0, ck_copy(src, "model-00003-of-00003.safetensors"));
    ASSERT_FAILS_WITH(hbpo_model_load(&ck_m, ck_tmp, NULL), "shard model-00002-of-00003.safetensors");
    /* index that escapes the folder, or is not JSON */
    ASSERT_EQ(0, ck_write_text("model.safetensors.index.json",
                               "{\"weight_map\": {\"model.norm.weight\": \"../model.safetensors\"}}"));
    ASSERT_FAILS_WITH(hbpo_model_load(&ck_m, ck_tmp, NULL), "not a file name in the checkpoint folder");
    ASSERT_EQ(0, ck_write_text("model.safetensors.index.json", "{\"weight_map\": "));
    ASSERT_FAILS_WITH(hbpo_model_load(&ck_m, ck_tmp, NULL), "invalid JSON");
    ASSERT_EQ(0, ck_write_text("model.safetensors.index.json", "{\"metadata\": {}}"));
    ASSERT_FAILS_WITH(hbpo_model_load(&ck_m, ck_tmp, NULL), "weight_map");
    ASSERT(ck_m.params == NULL); /* a failed load leaves nothing to free */
    ck_reset();
    PASS();
}

/* The same tensor in two shards. */
TEST load_rejects_duplicates_across_shards(void) {
    int half;
    if (ck_setup("qwen2_untied") != 0) FAILm(hbpo_last_error());
    half = ck_m.n_tensors / 2;
    ASSERT_EQ(0, ck_write_st("a.safetensors", ck_a, 0, half + 1, "F32", CK_NONE, NULL));
    ASSERT_EQ(0, ck_write_st("b.safetensors", ck_a, half, ck_m.n_tensors, "F32", CK_NONE, NULL));
    ASSERT_EQ(0, ck_write_text("model.safetensors.index.json",
                               "{\"metadata\": {}, \"weight_map\": {\"model.embed_tokens.weight\": \"a.safetensors\", "
                               "\"lm_head.weight\": \"b.safetensors\"}}"));
    ASSERT_FAILS_WITH(ck_load_tmp(), "appears a second time");
    /* without the overlap it loads, and equals the source */
    ASSERT_EQ(0, ck_write_st("a.safetensors", ck_a, 0, half, "F32", CK_NONE, NULL));
    if (ck_load_tmp() != 0) FAILm(hbpo_last_error());
    ck_b = ck_download(&ck_m2, ck_m2.params);
    ASSERT(ck_b && memcmp(ck_a, ck_b, ck_m.n_params * sizeof(float)) == 0);
    ck_reset();
    PASS();
}

/* Index text naming a.safetensors n times, then b.safetensors n times; in ck_raw. */
static size_t ck_big_index(size_t n) {
    size_t i, m = 0, cap = 2 * n * 40 + 64;
    char *t;
    free(ck_raw);
    ck_raw = t = (char *)malloc(cap);
    if (!t) return 0;
    m += (size_t)snprintf(t + m, cap - m, "{\"weight_map\": {");
    for (i = 0; i < 2 * n; i++)
        m += (size_t)snprintf(t + m, cap - m, "%s\"t%lu\": \"%s.safetensors\"", i ? ", " : "",
                              (unsigned long)i, i < n ? "a" : "b");
    m += (size_t)snprintf(t + m, cap - m, "}}");
    return m;
}

/* Finding each shard's first mention takes O(n log n) in the entries of the
   index: it once scanned all earlier entries for each entry, so two shards
   named by many entries each took quadratic time. Counted in steps
   (hbpo_op_count), not seconds. */
TEST load_index_work_is_linear(void) {
    enum { N = 20000 };
    unsigned long long c0, w1, w2;
    size_t len;
    int half, r1, r2;
    if (ck_setup("qwen2_untied") != 0) FAILm(hbpo_last_error());
    half = ck_m.n_tensors / 2;
    ASSERT_EQ(0, ck_write_st("a.safetensors", ck_a, 0, half, "F32", CK_NONE, NULL));
    ASSERT_EQ(0, ck_write_st("b.safetensors", ck_a, half, ck_m.n_tensors, "F32", CK_NONE, NULL));
    len = ck_big_index(N);
    ASSERT(len > 0);
    ASSERT_EQ(0, ck_write("model.safetensors.index.json", ck_raw, len));
    c0 = hbpo_op_count();
    r1 = ck_load_tmp();
    w1 = hbpo_op_count() - c0;
    len = ck_big_index(2 * N);
    ASSERT(len > 0);
    ASSERT_EQ(0, ck_write("model.safetensors.index.json", ck_raw, len));
    c0 = hbpo_op_count();
    r2 = ck_load_tmp();
    w2 = hbpo_op_count() - c0;
    if (r1 != 0 || r2 != 0) FAILm(hbpo_last_error());
    ck_b = ck_download(&ck_m2, ck_m2.params);
    ASSERT(ck_b && memcmp(ck_a, ck_b, ck_m.n_params * sizeof(float)) == 0);
    if (w1 < N || (double)w2 > 2.5 * (double)w1)
        HBPO_TEST__FAILF("%llu steps, twice the entries %llu", w1, w2);
    ck_reset();
    PASS();
}

TEST save_rejects_bad_arguments(void) {
    hbpo_model_config c;
    char path[1024];
    ck_reset();
    c = hbpo_model_config_default();
    c.vocab_size = 64; c.hidden_size = 16; c.intermediate_size = 32; c.num_hidden_layers = 1;
    c.num_attention_heads = 2; c.num_key_value_heads = 1; c.head_dim = 8;
    c.attention_bias = 0;
    ASSERT_EQ(0, hbpo_model_create(&ck_m, &c, NULL));
    ASSERT_EQ(0, ck_mktmp());
    ASSERT_FAILS_WITH(hbpo_model_save(&ck_m, ck_tmp, HBPO_DTYPE_F32), "neither attention_bias nor qk_norm");
    hbpo_model_free(&ck_m);
    c.attention_bias = 1;
    ASSERT_EQ(0, hbpo_model_create(&ck_m, &c, NULL));
    ASSERT_FAILS_WITH(hbpo_model_save(&ck_m, ck_tmp, 7), "dtype 7");
    ASSERT_FAILS_WITH(hbpo_model_save(&ck_m, NULL, HBPO_DTYPE_F32), "dir is NULL");
    snprintf(path, sizeof path, "%s/no/such/place", ck_tmp);
    ASSERT_FAILS_WITH(hbpo_model_save(&ck_m, path, HBPO_DTYPE_F32), "cannot create the folder");
    ck_reset();
    PASS();
}

SUITE(checkpoint_suite) {
    RUN_TEST(dtype_conversions);
    RUN_TEST(config_fields_and_defaults);
    RUN_TEST(config_rejects_bad_input);
    RUN_TEST(parity_qwen2_untied);
    RUN_TEST(parity_qwen2_tied);
    RUN_TEST(parity_qwen2_bf16);
    RUN_TEST(parity_qwen3_tied);
    RUN_TEST(reference_has_greedy_tokens);
    RUN_TEST(sharded_equals_unsharded);
    RUN_TEST(save_f32_is_bit_identical);
    RUN_TEST(save_bf16_rounds_to_nearest_even);
    RUN_TEST(save_sharded_roundtrip);
    RUN_TEST(save_switches_layout);
    RUN_TEST(load_own_writer_and_other_dtypes);
    RUN_TEST(load_tied_ignores_lm_head);
    RUN_TEST(load_rejects_bad_tensors);
    RUN_TEST(load_rejects_bad_files);
    RUN_TEST(load_rejects_nul_in_names);
    RUN_TEST(load_survives_header_mutations);
    RUN_TEST(load_rejects_trailing_bytes);
    RUN_TEST(load_rejects_bad_folders);
    RUN_TEST(load_rejects_duplicates_across_shards);
    RUN_TEST(load_index_work_is_linear);
    RUN_TEST(save_rejects_bad_arguments);
    ck_reset();
}
