/* hbpo - the command-line program: `build/hbpo COMMAND [options]`.
   Each command is one function below; `build/hbpo --help` lists them and
   `build/hbpo COMMAND --help` gives a command's options with their defaults.
       hbpo init --out tiny                          a random tiny model
       hbpo synth --out data.jsonl                   the synthetic arithmetic task
       hbpo train --model tiny --data data.jsonl --out run --budgets 8,16,32,40 --lmax 48
       hbpo eval --model run/checkpoint-000002 --data data.jsonl --limit 100
       hbpo generate --model run/checkpoint-000002 --prompt "7+5-3=?" --budget 16
   Exit status of every command: 0 done, 1 a runtime error (files, model,
   data), 2 bad options. */
#define HBPO_IMPLEMENTATION
#include "hbpo.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#ifdef _WIN32
#include <direct.h> /* _mkdir */
#include <io.h>     /* _isatty */
#else
#include <unistd.h> /* isatty */
#endif

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *help;
} command;

/* The ranks of this run: one process, or MPI_COMM_WORLD in build/hbpo_mpi
   (mpirun -np N build/hbpo_mpi train|eval ...). Rank 0 prints and writes;
   every rank prints its own errors. fail_shared: the failure was agreed by
   every rank (they all exit together); otherwise a rank that fails alone
   ends the others (hbpo_comm's abort), which would wait for it forever. */
static hbpo_comm comm;
static int fail_shared;

/* ------------------------------------------------------------------------- */
/* tokenize / detokenize: JSON Lines on stdin -> JSON Lines on stdout         */
/* ------------------------------------------------------------------------- */

/* Options shared by both commands. Returns 0, 1 (--help printed) or 2 (bad). */
static int tok_options(int argc, char **argv, const char *usage_text, const char **path,
                       int *skip_special, int allow_skip) {
    int i;
    *path = NULL;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return 1;
        } else if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc) {
            *path = argv[++i];
        } else if (allow_skip && !strcmp(argv[i], "--skip-special")) {
            *skip_special = 1;
        } else {
            fprintf(stderr, "hbpo %s: unknown option or missing value: %s\n%s", argv[0], argv[i],
                    usage_text);
            return 2;
        }
    }
    if (!*path) {
        fprintf(stderr, "hbpo %s: --tokenizer PATH is required\n%s", argv[0], usage_text);
        return 2;
    }
    return 0;
}

static int cmd_tokenize(int argc, char **argv) {
    static const char usage_text[] =
        "usage: hbpo tokenize --tokenizer PATH < in.jsonl > out.jsonl\n"
        "  Reads lines {\"text\": \"...\"} and writes one line {\"ids\": [...]} per line, in\n"
        "  order. PATH is a tokenizer.json or a folder holding one. Added tokens in the\n"
        "  text (<|im_end|>, <think>) become their ids; nothing else is added.\n"
        "  A line that is not a JSON object with a \"text\" string stops the run (exit 1).\n";
    const char *path, *text;
    const hbpo_json *v;
    hbpo_tokenizer *tok = NULL;
    hbpo_jsonl r;
    hbpo_json_doc doc;
    int rc, skip = 0, n, cap = 0, *ids = NULL, i, status = 0;
    if ((rc = tok_options(argc, argv, usage_text, &path, &skip, 0)) != 0) return rc == 1 ? 0 : 2;
    if (hbpo_tokenizer_load(&tok, path) != 0) {
        fprintf(stderr, "hbpo tokenize: %s\n", hbpo_last_error());
        return 1;
    }
    memset(&doc, 0, sizeof doc);
    hbpo_jsonl_open(&r, "-"); /* standard input: cannot fail */
    while ((rc = hbpo_jsonl_next(&r, &doc)) == 1) {
        v = hbpo_json_get(doc.root, "text");
        text = v && v->type == HBPO_JSON_STRING ? v->str : NULL;
        if (!text) {
            fprintf(stderr, "hbpo tokenize: line %ld: expected an object with a \"text\" string\n",
                    r.line);
            status = 1;
            break;
        }
        n = hbpo_tokenizer_encode(tok, text, v->len, ids, cap);
        if (n > cap) {
            int *grown = (int *)realloc(ids, (size_t)n * sizeof(int));
            if (!grown) { fprintf(stderr, "hbpo tokenize: out of memory\n"); status = 1; break; }
            ids = grown;
            cap = n;
            n = hbpo_tokenizer_encode(tok, text, v->len, ids, cap);
        }
        if (n < 0) {
            fprintf(stderr, "hbpo tokenize: line %ld: %s\n", r.line, hbpo_last_error());
            status = 1;
            break;
        }
        fputs("{\"ids\": [", stdout);
        for (i = 0; i < n; i++) printf(i ? ", %d" : "%d", ids[i]);
        fputs("]}\n", stdout);
    }
    if (rc < 0) {
        fprintf(stderr, "hbpo tokenize: %s\n", hbpo_last_error());
        status = 1;
    }
    hbpo_json_free(&doc);
    hbpo_jsonl_close(&r);
    hbpo_tokenizer_free(tok);
    free(ids);
    if (fflush(stdout) != 0) status = 1;
    return status;
}

/* text as a JSON string: quotes, backslashes and control characters escaped. */
static void put_json_string(FILE *f, const char *s, size_t n) {
    size_t i;
    unsigned char c;
    putc('"', f);
    for (i = 0; i < n; i++) {
        c = (unsigned char)s[i];
        if (c == '"' || c == '\\') { putc('\\', f); putc(c, f); }
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20 || c == 0x7F) fprintf(f, "\\u%04X", c);
        else putc(c, f);
    }
    putc('"', f);
}

static int cmd_detokenize(int argc, char **argv) {
    static const char usage_text[] =
        "usage: hbpo detokenize --tokenizer PATH [--skip-special] < in.jsonl > out.jsonl\n"
        "  Reads lines {\"ids\": [...]} and writes one line {\"text\": \"...\"} per line, in\n"
        "  order. --skip-special drops tokens marked special (<|im_end|>, ...). Bytes that\n"
        "  are not UTF-8 become U+FFFD, as in transformers. An id that is not a token, or\n"
        "  a line without an \"ids\" array of integers, stops the run (exit 1).\n";
    const char *path;
    const hbpo_json *v, *e;
    hbpo_tokenizer *tok = NULL;
    hbpo_jsonl r;
    hbpo_json_doc doc;
    int rc, skip = 0, n, cap = 0, *ids = NULL, k, status = 0;
    size_t tcap = 0;
    char *text = NULL;
    if ((rc = tok_options(argc, argv, usage_text, &path, &skip, 1)) != 0) return rc == 1 ? 0 : 2;
    if (hbpo_tokenizer_load(&tok, path) != 0) {
        fprintf(stderr, "hbpo detokenize: %s\n", hbpo_last_error());
        return 1;
    }
    memset(&doc, 0, sizeof doc);
    hbpo_jsonl_open(&r, "-"); /* standard input: cannot fail */
    while ((rc = hbpo_jsonl_next(&r, &doc)) == 1) {
        v = hbpo_json_get(doc.root, "ids");
        if (!v || v->type != HBPO_JSON_ARRAY || v->len > (size_t)1 << 28) {
            fprintf(stderr, "hbpo detokenize: line %ld: expected an object with an \"ids\" array\n",
                    r.line);
            status = 1;
            break;
        }
        if ((int)v->len > cap) {
            int *grown = (int *)realloc(ids, v->len * sizeof(int));
            if (!grown) { fprintf(stderr, "hbpo detokenize: out of memory\n"); status = 1; break; }
            ids = grown;
            cap = (int)v->len;
        }
        for (k = 0, e = v->child; e; e = e->next, k++) {
            if (e->type != HBPO_JSON_NUMBER ||
                !(e->num >= -2147483648.0 && e->num <= 2147483647.0) ||
                e->num != (double)(int)e->num)
                break;
            ids[k] = (int)e->num;
        }
        if (e) {
            fprintf(stderr, "hbpo detokenize: line %ld: ids[%d] is not an integer\n", r.line, k);
            status = 1;
            break;
        }
        n = hbpo_tokenizer_decode(tok, ids, k, skip, text, tcap);
        if (n >= 0 && (size_t)n >= tcap) {
            char *grown = (char *)realloc(text, (size_t)n + 1);
            if (!grown) { fprintf(stderr, "hbpo detokenize: out of memory\n"); status = 1; break; }
            text = grown;
            tcap = (size_t)n + 1;
            n = hbpo_tokenizer_decode(tok, ids, k, skip, text, tcap);
        }
        if (n < 0) {
            fprintf(stderr, "hbpo detokenize: line %ld: %s\n", r.line, hbpo_last_error());
            status = 1;
            break;
        }
        fputs("{\"text\": ", stdout);
        put_json_string(stdout, text, (size_t)n);
        fputs("}\n", stdout);
    }
    if (rc < 0) {
        fprintf(stderr, "hbpo detokenize: %s\n", hbpo_last_error());
        status = 1;
    }
    hbpo_json_free(&doc);
    hbpo_jsonl_close(&r);
    hbpo_tokenizer_free(tok);
    free(ids);
    free(text);
    if (fflush(stdout) != 0) status = 1;
    return status;
}

static int cmd_tokenizer_bytes(int argc, char **argv) {
    static const char usage_text[] =
        "usage: hbpo tokenizer-bytes --out PATH\n"
        "  Writes the byte-level tokenizer.json for tiny models trained from scratch:\n"
        "  ids 0-255 are the bytes, 256-264 the chat tokens of ChatML and DeepSeek-R1\n"
        "  (<|endoftext|> <|im_start|> <|im_end|> <think> </think> and DeepSeek's\n"
        "  begin/end of sentence, User, Assistant). PATH is a file or an existing folder.\n";
    const char *out = NULL;
    int i;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else {
            fprintf(stderr, "hbpo tokenizer-bytes: unknown option or missing value: %s\n%s",
                    argv[i], usage_text);
            return 2;
        }
    }
    if (!out) {
        fprintf(stderr, "hbpo tokenizer-bytes: --out PATH is required\n%s", usage_text);
        return 2;
    }
    if (hbpo_tokenizer_write_bytes(out) != 0) {
        fprintf(stderr, "hbpo tokenizer-bytes: %s\n", hbpo_last_error());
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Options of init, synth, train, eval and generate                          */
/* ------------------------------------------------------------------------- */

/* Each command describes its flags in a table; parse_options walks argv once,
   converts every value (strtol / strtod, the whole string, within the range
   the table gives) and stops at the first bad one with a message that names
   the flag. Exit status of every command: 0 done, 1 a runtime error (files,
   model, data), 2 bad options or configuration. */
enum { OPT_FLAG, OPT_STR, OPT_INT, OPT_LONG, OPT_SEED, OPT_REAL, OPT_CHOICE, OPT_BUDGETS };

typedef struct {
    const char *name;    /* "--lr" */
    int         kind;    /* OPT_*: what dst points to (int, const char *, long, uint64_t, float,
                            int index into choices, hbpo_budget_config) */
    void       *dst;
    double      lo, hi;  /* inclusive range of OPT_INT, OPT_LONG and OPT_REAL */
    int         open;    /* OPT_REAL: 1 excludes lo (temperature > 0), 2 excludes hi */
    const char *choices; /* OPT_CHOICE: "hbpo|grpo|cosine|l1", the value's index is stored */
    int         given;   /* set by parse_options: the flag appeared */
} option;

#define O_FLAG(n, p)                 {n, OPT_FLAG, p, 0, 0, 0, NULL, 0}
#define O_STR(n, p)                  {n, OPT_STR, p, 0, 0, 0, NULL, 0}
#define O_INT(n, p, lo, hi)          {n, OPT_INT, p, lo, hi, 0, NULL, 0}
#define O_LONG(n, p, lo, hi)         {n, OPT_LONG, p, lo, hi, 0, NULL, 0}
#define O_SEED(n, p)                 {n, OPT_SEED, p, 0, 0, 0, NULL, 0}
#define O_REAL(n, p, lo, hi, open)   {n, OPT_REAL, p, lo, hi, open, NULL, 0}
#define O_CHOICE(n, p, choices)      {n, OPT_CHOICE, p, 0, 0, 0, choices, 0}
#define O_BUDGETS(n, p)              {n, OPT_BUDGETS, p, 0, 0, 0, NULL, 0}
#define O_END                        {NULL, 0, NULL, 0, 0, 0, NULL, 0}

static int bad_value(const char *cmd, const char *flag, const char *v, const char *expected) {
    fprintf(stderr, "hbpo %s: bad %s '%s': expected %s (see hbpo %s --help)\n", cmd, flag, v,
            expected, cmd);
    return -1;
}

/* A number of the whole string: no leading space (strtol would skip it), no
   trailing characters. */
static int whole_number(const char *v, const char *end) {
    return end != v && *end == 0 && !isspace((unsigned char)v[0]);
}

/* "512,1024,2048,2560": 1 to HBPO_MAX_BUDGETS ascending positive integers. */
static int parse_budget_list(const char *v, hbpo_budget_config *c) {
    int k = 0, b[HBPO_MAX_BUDGETS];
    const char *s = v;
    for (;;) {
        char *end;
        long x;
        if (k == HBPO_MAX_BUDGETS || !isdigit((unsigned char)*s)) return -1;
        errno = 0;
        x = strtol(s, &end, 10);
        if (end == s || errno || x < 1 || x > INT_MAX || (k > 0 && x <= b[k - 1])) return -1;
        b[k++] = (int)x;
        if (*end == 0) break;
        if (*end != ',') return -1;
        s = end + 1;
    }
    memset(c->budget, 0, sizeof c->budget);
    memcpy(c->budget, b, sizeof(int) * (size_t)k);
    c->k = k;
    return 0;
}

/* The index of v among the '|'-separated names, or -1. */
static int choice_index(const char *choices, const char *v) {
    size_t n = strlen(v);
    int i = 0;
    const char *p = choices;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, v, n)) return i;
        if (!bar) return -1;
        p = bar + 1;
        i++;
    }
}

static int parse_value(const char *cmd, option *o, const char *v) {
    char expected[160], *end;
    switch (o->kind) {
    case OPT_STR:
        *(const char **)o->dst = v;
        return 0;
    case OPT_INT:
    case OPT_LONG: {
        long x;
        errno = 0;
        x = strtol(v, &end, 10);
        if (!whole_number(v, end) || errno || x < (long)o->lo || x > (long)o->hi) {
            snprintf(expected, sizeof expected, "an integer in [%ld, %ld]", (long)o->lo, (long)o->hi);
            return bad_value(cmd, o->name, v, expected);
        }
        if (o->kind == OPT_INT) *(int *)o->dst = (int)x;
        else *(long *)o->dst = x;
        return 0;
    }
    case OPT_SEED: {
        unsigned long long x;
        errno = 0;
        x = strtoull(v, &end, 10);
        if (!whole_number(v, end) || errno || !isdigit((unsigned char)v[0]))
            return bad_value(cmd, o->name, v, "an integer in [0, 2^64)");
        *(uint64_t *)o->dst = (uint64_t)x;
        return 0;
    }
    case OPT_REAL: {
        /* a number, or p/q so that the paper's alpha = 1/4096 can be typed as such */
        double x;
        errno = 0;
        x = strtod(v, &end);
        if (end != v && *end == '/') {
            const char *q = end + 1;
            double d = strtod(q, &end);
            x = end == q ? NAN : x / d;
        }
        if (!whole_number(v, end) || !isfinite(x) || x < o->lo || x > o->hi ||
            ((o->open & 1) && x == o->lo) || ((o->open & 2) && x == o->hi)) {
            snprintf(expected, sizeof expected, "a number in %s%g, %g%s", o->open & 1 ? "(" : "[",
                     o->lo, o->hi, o->open & 2 ? ")" : "]");
            return bad_value(cmd, o->name, v, expected);
        }
        *(float *)o->dst = (float)x;
        return 0;
    }
    case OPT_CHOICE: {
        int k = choice_index(o->choices, v);
        if (k < 0) {
            snprintf(expected, sizeof expected, "one of %s", o->choices);
            return bad_value(cmd, o->name, v, expected);
        }
        *(int *)o->dst = k;
        return 0;
    }
    case OPT_BUDGETS:
        if (parse_budget_list(v, (hbpo_budget_config *)o->dst) != 0) {
            snprintf(expected, sizeof expected,
                     "1 to %d ascending positive integers like 512,1024,2048,2560", HBPO_MAX_BUDGETS);
            return bad_value(cmd, o->name, v, expected);
        }
        return 0;
    default:
        return -1;
    }
}

/* Returns 0 to go on, 1 when --help was printed, 2 after a message on stderr. */
static int parse_options(const char *cmd, int argc, char **argv, option *opts, const char *usage_text) {
    int i;
    for (i = 1; i < argc; i++) {
        option *o;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return 1;
        }
        for (o = opts; o->name && strcmp(o->name, argv[i]); o++) {}
        if (!o->name) {
            fprintf(stderr, "hbpo %s: unknown option '%s' (see hbpo %s --help)\n", cmd, argv[i], cmd);
            return 2;
        }
        o->given = 1;
        if (o->kind == OPT_FLAG) {
            *(int *)o->dst = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "hbpo %s: %s needs a value (see hbpo %s --help)\n", cmd, o->name, cmd);
            return 2;
        }
        if (parse_value(cmd, o, argv[++i]) != 0) return 2;
    }
    return 0;
}

static int given(const option *opts, const char *name) {
    for (; opts->name; opts++)
        if (!strcmp(opts->name, name)) return opts->given;
    return 0;
}

static int require(const char *cmd, const char *what, const void *value) {
    if (value) return 0;
    fprintf(stderr, "hbpo %s: %s is required (see hbpo %s --help)\n", cmd, what, cmd);
    return -1;
}

/* Exit status 1 with the library's message. */
static int runtime_error(const char *cmd, const char *what) {
    fprintf(stderr, "hbpo %s: %s%s%s\n", cmd, what ? what : "", what ? ": " : "", hbpo_last_error());
    return 1;
}

/* Before a model loads on a backend that reports its free memory (cuda),
   the memory plan of the model in model_dir (hbpo_memory_plan_check):
   micro_batch x seq training tokens (0: no training), rollout_batch
   sequences of max_len in the KV cache. Lengths are capped at the model's
   positions. 0, or 1 after a message naming what would fit. */
static int check_memory(const char *cmd, const hbpo_backend *be, const char *model_dir,
                        int micro_batch, int seq, int rollout_batch, int max_len) {
    hbpo_model_config mc;
    if (hbpo_model_config_load(&mc, model_dir) != 0) return 0; /* the load says why */
    if (seq > mc.max_position_embeddings) seq = mc.max_position_embeddings;
    if (max_len > mc.max_position_embeddings) max_len = mc.max_position_embeddings;
    if (hbpo_memory_plan_check(be, &mc, micro_batch, seq, rollout_batch, max_len) == 0) return 0;
    fprintf(stderr, "hbpo %s: the model does not fit on --device %s: %s\n", cmd, be->name,
            hbpo_last_error());
    return 1;
}

/* --device cpu|cuda|cuda:N: the backend that runs the model (hbpo_backend_named).
   0, or 2 after a message (a bad value, or a device this build or machine lacks). */
static int pick_device(const char *cmd, const char *v, const hbpo_backend **be) {
    if (hbpo_backend_parse(v ? v : "cpu", be) != 0) {
        fprintf(stderr, "hbpo %s: --device %s: %s\n", cmd, v, hbpo_last_error());
        return 2;
    }
    return 0;
}
#define DEVICE_HELP                                                                       \
    "  --device D           where the model runs: cpu, cuda or cuda:N (default cpu; cuda\n" \
    "                       needs the CUDA build, build/hbpo-cuda)\n"                        \
    "  --matmul P           precision of the matrix products: fp32, tf32 or bf16 (inputs\n" \
    "                       rounded, fp32 accumulation; weights stay fp32) (default fp32)\n"

static const char *const algo_name[] = {"hbpo", "grpo", "cosine", "l1"};
static const char *const mode_name[] = {"paper", "official"};
static const char *const chat_name[] = {"chatml", "deepseek", "none"};
static const char *const layout_name[] = {"auto", "math", "gsm8k"};

/* ---- files ---- */

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int stderr_is_terminal(void) {
#ifdef _WIN32
    return _isatty(_fileno(stderr));
#else
    return isatty(fileno(stderr));
#endif
}

/* dir, created when missing (one level, like hbpo_model_save). */
static int make_dir(const char *cmd, const char *dir) {
    if (hbpo_make_dir(dir) == 0) return 0;
    fprintf(stderr, "hbpo %s: %s\n", cmd, hbpo_last_error());
    return -1;
}

/* "a/b" into a fresh string (NULL and a message when out of memory). */
static char *join_path(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = (char *)malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    else fprintf(stderr, "hbpo: out of memory\n");
    return p;
}

/* hbpo_write_file (path.tmp, fsync, rename), the message said for cmd. */
static int write_file_atomic(const char *cmd, const char *path, const char *data, size_t len) {
    if (hbpo_write_file(path, data, len) == 0) return 0;
    fprintf(stderr, "hbpo %s: %s\n", cmd, hbpo_last_error());
    return -1;
}

/* The tokenizer.json that PATH names (the file, or the one in the folder),
   read whole so that a checkpoint can carry a copy. */
static char *read_tokenizer_json(const char *cmd, const char *path, size_t *len) {
    char *file = is_dir(path) ? join_path(path, "tokenizer.json") : NULL, *text;
    if (is_dir(path) && !file) return NULL;
    text = hbpo_read_file(file ? file : path, 0, len);
    if (!text) fprintf(stderr, "hbpo %s: tokenizer: %s\n", cmd, hbpo_last_error());
    free(file);
    return text;
}

/* Loads a dataset and says how many lines were skipped (and why the first). */
static int load_data(const char *cmd, hbpo_dataset *d, const char *path, int layout, int strict) {
    if (hbpo_dataset_load(d, path, layout, strict) != 0) {
        fprintf(stderr, "hbpo %s: %s\n", cmd, hbpo_last_error());
        return -1;
    }
    if (d->n_skipped && comm.rank == 0)
        fprintf(stderr, "hbpo %s: skipped %d bad line%s of %s (--strict makes them fatal); first: %s\n",
                cmd, d->n_skipped, d->n_skipped == 1 ? "" : "s", path, hbpo_dataset_first_skip(d));
    return 0;
}

static void seconds_text(double s, char *out, size_t cap) {
    long t = s < 0 ? 0 : (long)(s + 0.5);
    if (t >= 3600) snprintf(out, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(out, cap, "%ld:%02ld", t / 60, t % 60);
}

/* ------------------------------------------------------------------------- */
/* init: a randomly initialised model folder                                 */
/* ------------------------------------------------------------------------- */

static int cmd_init(int argc, char **argv) {
    static const char usage_text[] =
        "usage: hbpo init --out DIR [options]\n"
        "  Writes a randomly initialised Qwen2-shaped model into DIR: config.json and an F32\n"
        "  model.safetensors as transformers saves them, and a tokenizer.json. Linear and\n"
        "  embedding weights ~ N(0, 0.02), norms 1, biases 0 (transformers' _init_weights).\n"
        "  For runs from scratch (the synthetic task) and tests; train, eval and generate\n"
        "  load DIR with --model DIR.\n"
        "options:\n"
        "  --out DIR            the model folder, created when missing (required)\n"
        "  --tokenizer PATH     bytes: the byte-level tokenizer of `hbpo tokenizer-bytes`;\n"
        "                       a tokenizer.json or a folder holding one: copied into DIR;\n"
        "                       none: no tokenizer (then --vocab is required) (default bytes)\n"
        "  --vocab V            vocabulary size (default: the tokenizer's ids rounded up to a\n"
        "                       multiple of 8, 272 for the byte tokenizer)\n"
        "  --hidden C           hidden size (default 64)\n"
        "  --layers L           decoder layers (default 2)\n"
        "  --heads NH           attention heads (default 4)\n"
        "  --kv-heads KVH       key/value heads, a divisor of --heads (default 2)\n"
        "  --head-dim HS        size of one head, even (default hidden / heads)\n"
        "  --ffn F              feed-forward size (default 128)\n"
        "  --max-pos N          longest sequence, prompt and response together (default 512)\n"
        "  --arch qwen2|qwen3   qwen2: q/k/v biases; qwen3: per-head q/k norms, no biases\n"
        "                       (default qwen2)\n"
        "  --tie 0|1            1: lm_head shares the embedding matrix (default 1)\n"
        "  --seed S             seed of the initialisation (default 0)\n"
        "  --force              replace a model that DIR already holds\n"
        "exit status: 0 written, 1 a file could not be read or written, 2 bad options\n";
    const char *out = NULL, *tok_path = "bytes";
    int vocab = 0, hidden = 64, layers = 2, heads = 4, kv_heads = 2, head_dim = 0, ffn = 128;
    int max_pos = 512, arch = 0, tie = 1, force = 0, rc, n_eos, eos[HBPO_MAX_EOS], tok_v = 0;
    uint64_t seed = 0;
    option opts[] = {
        O_STR("--out", &out), O_STR("--tokenizer", &tok_path),
        O_INT("--vocab", &vocab, 1, 1 << 24), O_INT("--hidden", &hidden, 2, 65536),
        O_INT("--layers", &layers, 1, 1024), O_INT("--heads", &heads, 1, 1024),
        O_INT("--kv-heads", &kv_heads, 1, 1024), O_INT("--head-dim", &head_dim, 2, 1024),
        O_INT("--ffn", &ffn, 1, 262144), O_INT("--max-pos", &max_pos, 2, 1 << 22),
        O_CHOICE("--arch", &arch, "qwen2|qwen3"), O_INT("--tie", &tie, 0, 1),
        O_SEED("--seed", &seed), O_FLAG("--force", &force), O_END};
    hbpo_model_config c = hbpo_model_config_default();
    hbpo_tokenizer *tok = NULL;
    hbpo_model m;
    char *path = NULL, *text = NULL;
    size_t len;
    int status = 1;
    if ((rc = parse_options("init", argc, argv, opts, usage_text)) != 0) return rc == 1 ? 0 : 2;
    if (require("init", "--out DIR", out) != 0) return 2;
    if (!given(opts, "--head-dim")) {
        if (hidden % heads != 0) {
            fprintf(stderr, "hbpo init: --heads %d does not divide --hidden %d (or give --head-dim)\n",
                    heads, hidden);
            return 2;
        }
        head_dim = hidden / heads;
    }
    if (!strcmp(tok_path, "none") && !vocab) {
        fprintf(stderr, "hbpo init: --tokenizer none needs --vocab V\n");
        return 2;
    }
    c.vocab_size = vocab ? vocab : 8; /* checked again once the tokenizer is known */
    c.hidden_size = hidden;
    c.intermediate_size = ffn;
    c.num_hidden_layers = layers;
    c.num_attention_heads = heads;
    c.num_key_value_heads = kv_heads;
    c.head_dim = head_dim;
    c.max_position_embeddings = max_pos;
    c.tie_word_embeddings = tie;
    c.attention_bias = arch == 0;
    c.qk_norm = arch == 1;
    if (hbpo_model_config_check(&c) != 0) {
        fprintf(stderr, "hbpo init: %s\n", hbpo_last_error());
        return 2;
    }
    /* nothing on disk changes before the options are known to be good */
    if (!(path = join_path(out, "config.json"))) return 1;
    if (file_exists(path) && !force) {
        fprintf(stderr, "hbpo init: %s already holds a model (config.json); --force replaces it\n", out);
        free(path);
        return 1;
    }
    free(path);
    if (make_dir("init", out) != 0) return 1;
    if (!(path = join_path(out, "tokenizer.json"))) return 1;
    if (!strcmp(tok_path, "bytes")) {
        if (hbpo_tokenizer_write_bytes(path) != 0) { status = runtime_error("init", NULL); goto done; }
    } else if (strcmp(tok_path, "none") != 0) {
        if (!(text = read_tokenizer_json("init", tok_path, &len))) goto done;
        if (write_file_atomic("init", path, text, len) != 0) goto done;
    }
    if (strcmp(tok_path, "none") != 0) {
        if (hbpo_tokenizer_load(&tok, path) != 0) { status = runtime_error("init", "tokenizer"); goto done; }
        tok_v = hbpo_tokenizer_vocab_size(tok);
        if (vocab && vocab < tok_v) {
            fprintf(stderr, "hbpo init: --vocab %d is below the tokenizer's %d ids\n", vocab, tok_v);
            status = 2;
            goto done;
        }
        c.vocab_size = vocab ? vocab : (tok_v + 7) / 8 * 8;
        n_eos = hbpo_chat_stop_tokens(tok, eos);
        c.eos_token_id = n_eos ? eos[0] : -1;
    }
    if (hbpo_model_config_check(&c) != 0) {
        fprintf(stderr, "hbpo init: %s\n", hbpo_last_error());
        status = 2;
        goto done;
    }
    if (hbpo_model_create(&m, &c, NULL) != 0) { status = runtime_error("init", NULL); goto done; }
    hbpo_model_init_random(&m, seed);
    rc = hbpo_model_save(&m, out, HBPO_DTYPE_F32);
    if (rc == 0)
        printf("hbpo init: wrote %s: %s, %.3fM parameters (hidden %d, %d layers, %d/%d heads of %d, "
               "ffn %d, vocab %d, %d positions, %s), tokenizer: %d ids%s\n",
               out, arch ? "qwen3" : "qwen2", (double)m.n_params / 1e6, hidden, layers, heads,
               kv_heads, head_dim, ffn, c.vocab_size, max_pos, tie ? "tied" : "untied", tok_v,
               tok ? "" : " (none written)");
    hbpo_model_free(&m);
    if (rc != 0) { status = runtime_error("init", NULL); goto done; }
    status = 0;
done:
    hbpo_tokenizer_free(tok);
    hbpo_free(text);
    free(path);
    return status;
}

/* ------------------------------------------------------------------------- */
/* synth: the synthetic arithmetic task as JSON Lines                        */
/* ------------------------------------------------------------------------- */

static int cmd_synth(int argc, char **argv) {
    static const char usage_text[] =
        "usage: hbpo synth --out FILE [options]\n"
        "  Writes problems of the synthetic arithmetic task, one JSON object per line:\n"
        "    {\"problem\": \"7+5-3=?\", \"answer\": \"9\", \"level\": 2}\n"
        "  (the MATH layout that train and eval read). The level is the number of + and -\n"
        "  operations, so the reasoning needed grows with it; levels are interleaved (1, 2,\n"
        "  .., 1, 2, ..) so that any prefix of the file is balanced.\n"
        "options:\n"
        "  --out FILE           the file to write; - for stdout (required)\n"
        "  --n-per-level N      problems of each level (default 100)\n"
        "  --levels LO-HI       the levels, within 1-8; one level as N (default 1-4)\n"
        "  --seed S             the same seed gives the same problems (default 1)\n";
    const char *out = NULL, *levels = "1-4";
    int n_per = 100, lo, hi, rc, i, ok;
    uint64_t seed = 1;
    option opts[] = {O_STR("--out", &out), O_INT("--n-per-level", &n_per, 1, 1 << 24),
                     O_STR("--levels", &levels), O_SEED("--seed", &seed), O_END};
    hbpo_dataset d;
    FILE *f;
    char *end = NULL;
    if ((rc = parse_options("synth", argc, argv, opts, usage_text)) != 0) return rc == 1 ? 0 : 2;
    if (require("synth", "--out FILE", out) != 0) return 2;
    lo = isdigit((unsigned char)levels[0]) ? (int)strtol(levels, &end, 10) : 0;
    hi = lo;
    if (lo && *end == '-' && isdigit((unsigned char)end[1])) hi = (int)strtol(end + 1, &end, 10);
    if (!lo || *end || lo < 1 || hi > HBPO_SYNTH_MAX_LEVEL || lo > hi) {
        char expected[64];
        snprintf(expected, sizeof expected, "LO-HI or N within 1-%d, like 1-4", HBPO_SYNTH_MAX_LEVEL);
        bad_value("synth", "--levels", levels, expected);
        return 2;
    }
    hbpo_dataset_create(&d);
    if (hbpo_synth_dataset(&d, seed, n_per, lo, hi) != 0) return runtime_error("synth", NULL);
    f = strcmp(out, "-") ? fopen(out, "w") : stdout;
    if (!f) {
        fprintf(stderr, "hbpo synth: %s: cannot write: %s\n", out, strerror(errno));
        hbpo_dataset_free(&d);
        return 1;
    }
    for (i = 0; i < d.n; i++) {
        fputs("{\"problem\": ", f);
        put_json_string(f, d.items[i].question, strlen(d.items[i].question));
        fputs(", \"answer\": ", f);
        put_json_string(f, d.items[i].answer, strlen(d.items[i].answer));
        fprintf(f, ", \"level\": %d}\n", d.items[i].level);
    }
    ok = !ferror(f);
    if (f != stdout) ok = fclose(f) == 0 && ok;
    else ok = fflush(f) == 0 && ok;
    hbpo_dataset_free(&d);
    if (!ok) {
        fprintf(stderr, "hbpo synth: %s: write error\n", out);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* train: Algorithm 1 from the command line                                  */
/* ------------------------------------------------------------------------- */

static volatile sig_atomic_t stop_requested = 0;

/* The first Ctrl-C lets the current step finish, saves and stops; a second
   one ends the program at once (the last checkpoint stays intact). */
static void on_interrupt(int sig) {
    stop_requested = 1;
    signal(sig, SIG_DFL);
}

/* Drops the lines of metrics.jsonl after the resumed step, which a run that
   stopped between a metrics line and its next checkpoint left behind (and a
   last line cut short by a crash), so that the continued run appends without
   duplicates. */
static int trim_metrics(const char *path, long step) {
    size_t len, cut = 0;
    char *text, *p;
    int rc = 0;
    if (!file_exists(path)) return 0;
    text = hbpo_read_file(path, 0, &len);
    if (!text) {
        fprintf(stderr, "hbpo train: %s\n", hbpo_last_error());
        return -1;
    }
    for (p = text; (size_t)(p - text) < len;) {
        char *nl = (char *)memchr(p, '\n', len - (size_t)(p - text));
        const hbpo_json *s = NULL;
        hbpo_json_doc doc;
        int keep;
        if (!nl) break;
        memset(&doc, 0, sizeof doc);
        keep = hbpo_json_parse(&doc, p, (size_t)(nl - p)) == 0 &&
               (s = hbpo_json_get(doc.root, "step")) != NULL && s->type == HBPO_JSON_NUMBER &&
               s->num <= (double)step;
        hbpo_json_free(&doc);
        if (!keep) break;
        p = nl + 1;
        cut = (size_t)(p - text);
    }
    if (cut < len) rc = write_file_atomic("train", path, text, cut);
    hbpo_free(text);
    return rc;
}

/* After rank 0's writes of a step: every rank learns whether they worked
   (hbpo_comm_agree) and whether any rank was asked to stop. */
static int sync_ranks(int status) {
    double stop = stop_requested;
    if (comm.size <= 1) return status;
    if (hbpo_comm_agree(&comm, status) != 0 || comm.allreduce_f64(&comm, &stop, 1, HBPO_COMM_MAX) != 0) {
        if (comm.rank == 0 && status == 0) fprintf(stderr, "hbpo train: %s\n", hbpo_last_error());
        fail_shared = 1;
        return -1;
    }
    stop_requested = stop > 0;
    return 0;
}

/* OUT/checkpoint-NNNNNN: model, tokenizer, trainer state and manifest, whole
   or absent (hbpo_trainer_checkpoint); older ones beyond --keep removed. */
static int save_checkpoint(const hbpo_trainer *t, const char *out, char *path, size_t cap) {
    if (hbpo_trainer_checkpoint(t, out, path, cap) == 0) return 0;
    fprintf(stderr, "hbpo train: saving a checkpoint in %s: %s\n", out, hbpo_last_error());
    return -1;
}

/* HBPO_FAULT_AFTER=STAGE ends the process with SIGKILL right after that stage
   of a save or a step (hbpo_trainer_hook): tests/cli.sh crashes a run at
   every point of a save this way and checks that --resume recovers. */
static void fault_hook(void *user, const char *stage, const hbpo_trainer *t) {
    (void)t;
    if (!strcmp((const char *)user, stage)) {
        fflush(NULL);
        raise(SIGKILL);
    }
}

/* One line per step: on a terminal it is rewritten in place. */
static void train_progress(const hbpo_step_metrics *mt, int k, long total, long first, double t0,
                           int tty) { /* rank 0 only */
    double dt = hbpo_wall_time() - t0, per = dt / (double)(mt->step - first);
    char line[512], eta[32];
    size_t n;
    int g;
    seconds_text(per * (double)(total - mt->step), eta, sizeof eta);
    n = (size_t)snprintf(line, sizeof line, "step %ld/%ld  reward %.3f  acc %5.1f%%  tokens %.1f",
                         mt->step, total, mt->reward_mean, 100.0 * mt->accuracy, mt->ngen_mean);
    for (g = 0; k > 1 && g < k && g < 8 && n < sizeof line; g++)
        n += (size_t)snprintf(line + n, sizeof line - n, "%s%.0f%s", g ? " " : " [", mt->ngen_sub[g],
                              g == k - 1 || g == 7 ? "]" : "");
    if (n < sizeof line)
        snprintf(line + n, sizeof line - n, "  grad %.3g  %.2f s/step  ETA %s", mt->grad_norm, per, eta);
    if (tty) fprintf(stderr, "\r%s\033[K", line);
    else fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

static void print_budgets(const hbpo_budget_config *b) {
    int i;
    for (i = 0; i < b->k; i++) printf("%s%d", i ? "," : "", b->budget[i]);
}

static int cmd_train(int argc, char **argv) {
    static const char usage_text[] =
        "usage: hbpo train --model DIR --data FILE.jsonl --out DIR [options]\n"
        "  Trains the model in DIR with HBPO (Algorithm 1 of arXiv 2507.15844) or a baseline\n"
        "  on the problems in FILE, one JSON object per line (MATH layout: problem, answer,\n"
        "  level; GSM8K layout: question, answer ending \"#### N\"). Each step draws --batch\n"
        "  queries, generates --n rollouts per query (with budget prompts for hbpo and l1),\n"
        "  scores them, and makes the clipped policy update. Writes OUT/metrics.jsonl (one\n"
        "  JSON object per step) and OUT/checkpoint-NNNNNN (model, tokenizer, trainer state\n"
        "  and a manifest of checksums, published whole by one rename, every --save-every\n"
        "  steps and at the end; eval and generate load it as a model). Ctrl-C stops after\n"
        "  the current step and saves; --resume continues from the newest whole checkpoint.\n"
        "  A step whose loss or gradient norm is not finite makes no update and is counted\n"
        "  (\"nonfinite\", \"skipped_steps\" in metrics.jsonl); --max-nonfinite such steps in\n"
        "  a row stop the run (exit 1) with the last good checkpoint kept.\n"
        "input and output:\n"
        "  --model DIR          the model: config.json and safetensors (required)\n"
        "  --tokenizer PATH     tokenizer.json or a folder holding one (default: DIR)\n"
        "  --data FILE          training problems, JSON Lines (required)\n"
        "  --layout L           auto, math or gsm8k (default auto: decided by the first line)\n"
        "  --strict             a bad data line is fatal (default: skipped and counted)\n"
        "  --out DIR            output folder, created when missing (required)\n"
        "  --resume             continue from the newest whole OUT/checkpoint-NNNNNN\n"
        "  --resume-from DIR    continue from the checkpoint folder DIR\n"
        "  --force              start over: removes OUT's checkpoint-NNNNNN folders\n"
        "  --steps N            train until step N (default: one pass over the data)\n"
        "  --save-every N       checkpoint every N steps, 0: only at the end (default 10)\n"
        "  --keep N             checkpoints kept, the newest N, 0: all (default 3)\n"
        "  --max-nonfinite N    non-finite steps in a row that stop the run (default 3)\n"
        "algorithm:\n"
        "  --algo A             hbpo, grpo (0/1 reward), cosine (one length reward for all)\n"
        "                       or l1 (LCPO-Exact target lengths) (default hbpo)\n"
        "  --mode M             paper: the paper's piecewise reward and budget prompt\n"
        "                       (\"within B tokens\"); official: the released code's\n"
        "                       min(f1, f2), 2*A_intra and \"with B tokens\" (default paper)\n"
        "  --intra-centered     subtract A_intra's mean over a query's rollouts, so that\n"
        "                       the advantages average zero (not the paper's; docs/study.md)\n"
        "  --budgets LIST       ascending token budgets b_1..b_k of hbpo and l1\n"
        "                       (default 512,1024,2048,2560)\n"
        "  --lmax N             L_max, the longest response (default 4096)\n"
        "  --alpha X            hbpo's deviation penalty per token, a number or p/q\n"
        "                       (default 1/L_max)\n"
        "  --beta X             cosine reward scale of hbpo and cosine (default 4)\n"
        "  --l1-alpha X         l1's penalty per token of |n_gen - b| (default 1/L_max)\n"
        "  --n N                rollouts per query, a multiple of the budget count for hbpo\n"
        "                       and l1 (default 16)\n"
        "  --batch N            queries per step (default 64)\n"
        "  --temperature T      rollout sampling temperature (default 1.0)\n"
        "  --top-p P            rollout nucleus, 1: off (default 1.0)\n"
        "  --chat C             chatml (Qwen) or deepseek (DeepSeek-R1-Distill) (default chatml)\n"
        "optimisation:\n"
        "  --epochs N           PPO epochs: passes over each step's rollouts (default 1)\n"
        "  --mini-batches N     optimizer steps per epoch (default 1)\n"
        "  --micro-batch N      sequences per forward/backward; memory only (default 8)\n"
        "  --rollout-batch N    sequences generated together, 0: the whole step (default 0)\n"
        "  --rollout-max-active N  of those, sequences decoding at once (KV cache slots; the\n"
        "                       tokens do not change), 0: all (default 0)\n"
        "  --lr X               AdamW learning rate (default 1e-6)\n"
        "  --weight-decay X     AdamW decoupled weight decay (default 0.01)\n"
        "  --max-grad-norm X    clip the gradient's global norm, 0: off (default 1)\n"
        "  --clip-low X         ratio clipped below at 1 - X (default 0.2)\n"
        "  --clip-high X        ratio clipped above at 1 + X (default 0.28)\n"
        "  --clip-c X           dual-clip bound for negative advantages, > 1 (default 3)\n"
        "  --seed S             data order, sampling and shuffles (default 0)\n"
        "  --threads N          CPU threads, 0: all (default 0)\n"
        DEVICE_HELP
        "exit status: 0 done, 1 a runtime error (files, model, data), 2 bad options,\n"
        "130 interrupted (after saving)\n";
    hbpo_train_config c = hbpo_train_config_default();
    const char *model_dir = NULL, *data_path = NULL, *tok_path = NULL, *out = NULL, *resume_from = NULL;
    int layout = HBPO_DATA_AUTO, strict = 0, threads = 0, resume = 0, force = 0, save_every = 10;
    int matmul = HBPO_MATMUL_FP32, rb;
    const char *device = NULL;
    const hbpo_backend *be = NULL;
    long steps = 0, first, last_saved = -1;
    option opts[] = {
        O_STR("--model", &model_dir), O_STR("--tokenizer", &tok_path), O_STR("--data", &data_path),
        O_CHOICE("--layout", &layout, "auto|math|gsm8k"), O_FLAG("--strict", &strict),
        O_STR("--out", &out), O_FLAG("--resume", &resume), O_STR("--resume-from", &resume_from),
        O_FLAG("--force", &force),
        O_LONG("--steps", &steps, 1, 1000000000), O_INT("--save-every", &save_every, 0, 1000000000),
        O_INT("--keep", &c.keep_checkpoints, 0, 1000000000),
        O_INT("--max-nonfinite", &c.max_nonfinite_steps, 1, 1000000000),
        O_CHOICE("--algo", &c.algo, "hbpo|grpo|cosine|l1"),
        O_CHOICE("--mode", &c.budget.mode, "paper|official"), O_BUDGETS("--budgets", &c.budget),
        O_FLAG("--intra-centered", &c.budget.intra_centered),
        O_INT("--lmax", &c.budget.l_max, 1, 1 << 24), O_REAL("--alpha", &c.budget.alpha, 0, 1e6, 0),
        O_REAL("--beta", &c.budget.beta, 0, 1e6, 1), O_REAL("--l1-alpha", &c.l1_alpha, 0, 1e6, 0),
        O_INT("--n", &c.n_rollouts, 1, 4096), O_INT("--batch", &c.batch_queries, 1, 65536),
        O_REAL("--temperature", &c.temperature, 0, 100, 1), O_REAL("--top-p", &c.top_p, 0, 1, 1),
        O_CHOICE("--chat", &c.chat_style, "chatml|deepseek"),
        O_INT("--epochs", &c.ppo_epochs, 1, 100), O_INT("--mini-batches", &c.mini_batches, 1, 1 << 20),
        O_INT("--micro-batch", &c.micro_batch, 1, 1 << 20),
        O_INT("--rollout-batch", &c.rollout_batch, 0, 1 << 20),
        O_INT("--rollout-max-active", &c.rollout_max_active, 0, 1 << 20),
        O_REAL("--lr", &c.adamw.lr, 0, 1, 0), O_REAL("--weight-decay", &c.adamw.weight_decay, 0, 1e3, 0),
        O_REAL("--max-grad-norm", &c.adamw.max_grad_norm, 0, 1e30, 0),
        O_REAL("--clip-low", &c.policy.eps_low, 0, 1, 2),
        O_REAL("--clip-high", &c.policy.eps_high, 0, 1e3, 0),
        O_REAL("--clip-c", &c.policy.clip_c, 1, 1e6, 1), O_SEED("--seed", &c.seed),
        O_INT("--threads", &threads, 0, 4096), O_STR("--device", &device),
        O_CHOICE("--matmul", &matmul, "fp32|tf32|bf16"), O_END};
    char *old_ckpt = NULL, *metrics_path = NULL, line[4096], ckpt[4096] = "", found[4096] = "";
    const char *fault = getenv("HBPO_FAULT_AFTER");
    hbpo_model m;
    hbpo_tokenizer *tok = NULL;
    hbpo_dataset data;
    hbpo_trainer t;
    FILE *metrics = NULL;
    int rc, status = 1, have_model = 0, have_trainer = 0, tty = stderr_is_terminal(), k, have_run;
    double t0;
    hbpo_dataset_create(&data);
    if ((rc = parse_options("train", argc, argv, opts, usage_text)) != 0) return rc == 1 ? 0 : 2;
    if (require("train", "--model DIR", model_dir) || require("train", "--data FILE", data_path) ||
        require("train", "--out DIR", out))
        return 2;
    if ((rc = pick_device("train", device, &be)) != 0) return rc;
    /* The paper defines alpha = 1/L_max, so a new L_max brings its own alpha. */
    if (!given(opts, "--alpha")) c.budget.alpha = 1.0f / (float)c.budget.l_max;
    if (!given(opts, "--l1-alpha")) c.l1_alpha = 1.0f / (float)c.budget.l_max;
    /* one check of the whole configuration, the library's (its messages name
       the fields: n_rollouts is --n, batch_queries --batch, l_max --lmax) */
    if (hbpo_train_config_check(&c) != 0) {
        fprintf(stderr, "hbpo train: bad configuration: %s\n  (the fields are flags: n_rollouts --n, "
                "batch_queries --batch, budget --budgets, l_max --lmax, mini_batches --mini-batches)\n",
                hbpo_last_error());
        return 2;
    }
    k = c.algo == HBPO_ALGO_HBPO || c.algo == HBPO_ALGO_L1 ? c.budget.k : 1;
    if (threads > 0) hbpo_set_threads(threads);
    if (!tok_path) tok_path = model_dir;
    c.tokenizer_path = tok_path; /* each checkpoint carries a copy */
    if (resume_from) resume = 1;
    if (!(old_ckpt = join_path(out, "checkpoint")) || !(metrics_path = join_path(out, "metrics.jsonl")))
        goto done;
    rc = hbpo_checkpoint_latest(out, found, sizeof found);
    if (rc < 0) { status = runtime_error("train", NULL); goto done; }
    have_run = rc == 1;
    if (resume && !resume_from && !have_run) {
        if (is_dir(old_ckpt))
            fprintf(stderr, "hbpo train: --resume: %s is a checkpoint of hbpo 0.2, which has no manifest "
                    "and cannot be resumed safely; it still loads as a model (eval, generate, or "
                    "train --model %s --force)\n", old_ckpt, old_ckpt);
        else
            fprintf(stderr, "hbpo train: --resume: no run to continue: %s\n", hbpo_last_error());
        goto done;
    }
    if (!resume && !force && (have_run || is_dir(old_ckpt))) {
        fprintf(stderr, "hbpo train: %s already holds a run: --resume continues it, --force starts over\n",
                out);
        goto done;
    }
    /* starting over: a crash before the first save must not leave the old run resumable */
    if (comm.rank == 0 && force && !resume && hbpo_checkpoint_prune(out, 0) != 0) {
        status = runtime_error("train", "--force");
        goto done;
    }
    if (comm.rank == 0 && make_dir("train", out) != 0) goto done;

    /* rollouts: a prompt allowance of 256 tokens before L_max */
    rb = c.rollout_batch > 0 ? c.rollout_batch : c.batch_queries * c.n_rollouts;
    if (c.rollout_max_active > 0 && c.rollout_max_active < rb) rb = c.rollout_max_active;
    if (check_memory("train", be, model_dir, c.micro_batch, c.budget.l_max + 256, rb,
                     c.budget.l_max + 256) != 0)
        goto done;
    if (hbpo_model_load(&m, model_dir, be) != 0) { status = runtime_error("train", "model"); goto done; }
    have_model = 1;
    m.config.matmul_precision = matmul;
    if (hbpo_tokenizer_load(&tok, tok_path) != 0) { status = runtime_error("train", "tokenizer"); goto done; }
    if (load_data("train", &data, data_path, layout, strict) != 0) goto done;
    if (c.budget.l_max >= m.config.max_position_embeddings) {
        fprintf(stderr, "hbpo train: --lmax %d leaves no room for a prompt in the model's %d positions "
                "(max_position_embeddings)\n", c.budget.l_max, m.config.max_position_embeddings);
        status = 2;
        goto done;
    }
    if (!given(opts, "--steps")) steps = (data.n + c.batch_queries - 1) / c.batch_queries;
    if (hbpo_trainer_init(&t, &c, &m, tok, &data) != 0) { status = runtime_error("train", NULL); goto done; }
    have_trainer = 1;
    if (fault) { t.hook = fault_hook; t.hook_user = (void *)fault; }
    hbpo_trainer_set_comm(&t, &comm);
    if (resume) {
        snprintf(ckpt, sizeof ckpt, "%s", resume_from ? resume_from : found);
        if (hbpo_trainer_resume(&t, ckpt) != 0) { status = runtime_error("train", "--resume"); goto done; }
        printf("hbpo train: resumed from %s at step %ld\n", ckpt, t.step);
        if (comm.rank == 0 && trim_metrics(metrics_path, t.step) != 0) goto done;
        last_saved = t.step;
    }
    if (t.step >= steps) {
        printf("hbpo train: %s is at step %ld already (--steps %ld): nothing to do\n", ckpt, t.step, steps);
        status = 0;
        goto done;
    }
    if (comm.rank == 0) metrics = fopen(metrics_path, resume ? "a" : "w");
    if (comm.rank == 0 && !metrics) {
        fprintf(stderr, "hbpo train: %s: cannot write: %s\n", metrics_path, strerror(errno));
        goto done;
    }

    printf("hbpo train %d.%d.%d\n", HBPO_VERSION_MAJOR, HBPO_VERSION_MINOR, HBPO_VERSION_PATCH);
    printf("  model      %s: %.3fM parameters, %d layers, hidden %d, vocab %d, %d positions\n",
           model_dir, (double)m.n_params / 1e6, m.config.num_hidden_layers, m.config.hidden_size,
           m.config.vocab_size, m.config.max_position_embeddings);
    printf("  tokenizer  %s: %d ids\n", tok_path, hbpo_tokenizer_vocab_size(tok));
    printf("  data       %s: %d problems (%s layout), %d bad lines skipped\n", data_path, data.n,
           layout_name[data.layout], data.n_skipped);
    printf("  algorithm  %s", algo_name[c.algo]);
    if (c.algo == HBPO_ALGO_HBPO) {
        printf(" (%s reward), budgets ", mode_name[c.budget.mode]);
        print_budgets(&c.budget);
        printf(", alpha %g, beta %g%s", (double)c.budget.alpha, (double)c.budget.beta,
               c.budget.intra_centered ? ", A_intra centred (not the paper's)" : "");
    } else if (c.algo == HBPO_ALGO_L1) {
        printf(", target budgets ");
        print_budgets(&c.budget);
        printf(", l1 alpha %g", (double)c.l1_alpha);
    } else if (c.algo == HBPO_ALGO_COSINE) {
        printf(", beta %g", (double)c.budget.beta);
    }
    printf(", L_max %d\n", c.budget.l_max);
    printf("  step       %d queries x %d rollouts, %d PPO epoch(s) x %d mini-batch(es), micro-batch %d,",
           c.batch_queries, c.n_rollouts, c.ppo_epochs, c.mini_batches, c.micro_batch);
    if (c.rollout_batch) printf(" rollout batch %d", c.rollout_batch);
    else printf(" all rollouts generated together");
    if (c.rollout_max_active) printf(", %d decoding at once", c.rollout_max_active);
    printf("\n");
    printf("  optimizer  AdamW lr %g, weight decay %g, max grad norm %g; clip %g / %g, dual clip %g\n",
           (double)c.adamw.lr, (double)c.adamw.weight_decay, (double)c.adamw.max_grad_norm,
           (double)c.policy.eps_low, (double)c.policy.eps_high, (double)c.policy.clip_c);
    printf("  sampling   temperature %g, top-p %g, chat %s, seed %llu, threads ", (double)c.temperature,
           (double)c.top_p, chat_name[c.chat_style], (unsigned long long)c.seed);
    if (threads) printf("%d\n", threads);
    else printf("all\n");
    printf("  run        steps %ld to %ld%s, metrics in %s\n", t.step + 1, steps,
           resume ? " (resumed)" : "", metrics_path);
    if (comm.size > 1)
        printf("  ranks      %d (%s), queries split across them, gradients summed\n", comm.size, comm.name);
    if (save_every) printf("  checkpoint %s/checkpoint-NNNNNN, every %d step(s) and at the end", out, save_every);
    else printf("  checkpoint %s/checkpoint-NNNNNN, at the end", out);
    if (c.keep_checkpoints) printf(", the newest %d kept\n", c.keep_checkpoints);
    else printf(", all kept\n");
    fflush(stdout);

    signal(SIGINT, on_interrupt);
    first = t.step;
    t0 = hbpo_wall_time();
    while (t.step < steps && !stop_requested) {
        hbpo_step_metrics mt;
        long before = t.step;
        int wrote = 0, save;
        memset(&mt, 0, sizeof mt);
        rc = hbpo_trainer_step(&t, &mt);
        if (rc != 0 && t.step == before) { /* nothing done; a step fails on every rank together */
            fail_shared = 1;
            if (tty && t.step > first) fputc('\n', stderr);
            if (comm.rank == 0) fprintf(stderr, "hbpo train: step %ld: %s\n", t.step + 1, hbpo_last_error());
            goto done;
        }
        if (comm.rank == 0) { /* the other ranks wait in sync_ranks */
            hbpo_metrics_json(&mt, k, line, sizeof line);
            if (fprintf(metrics, "%s\n", line) < 0 || fflush(metrics) != 0) {
                fprintf(stderr, "\nhbpo train: %s: write error\n", metrics_path);
                wrote = -1;
            }
            if (wrote == 0) train_progress(&mt, k, steps, first, t0, tty);
            if (wrote == 0 && mt.nonfinite) {
                if (tty) fputc('\n', stderr);
                fprintf(stderr, "hbpo train: step %ld: non-finite loss or gradient norm; update skipped "
                        "(%ld skipped so far)\n", mt.step, mt.skipped_steps);
            }
        }
        if (rc != 0) { /* --max-nonfinite in a row (on every rank): no save, the last good checkpoint stays */
            fail_shared = 1;
            if (comm.rank == 0) {
                fprintf(stderr, "hbpo train: %s\n", hbpo_last_error());
                if (last_saved >= 0)
                    fprintf(stderr, "hbpo train: the last good checkpoint is step %ld in %s\n", last_saved, out);
            }
            goto done;
        }
        save = save_every > 0 && t.step % save_every == 0 && t.step < steps;
        if (comm.rank == 0 && wrote == 0 && save) wrote = save_checkpoint(&t, out, ckpt, sizeof ckpt);
        if (sync_ranks(wrote) != 0) goto done;
        if (save) last_saved = t.step;
    }
    if (tty) fputc('\n', stderr);
    if (last_saved != t.step &&
        sync_ranks(comm.rank == 0 ? save_checkpoint(&t, out, ckpt, sizeof ckpt) : 0) != 0)
        goto done;
    if (stop_requested) fail_shared = 1; /* every rank stops after the same step */
    if (stop_requested && comm.rank != 0) {
        status = 130;
    } else if (stop_requested) {
        fprintf(stderr, "hbpo train: interrupted after step %ld; saved in %s, --resume continues\n",
                t.step, ckpt);
        status = 130;
    } else {
        char took[32];
        seconds_text(hbpo_wall_time() - t0, took, sizeof took);
        printf("hbpo train: step %ld reached in %s; the model is in %s\n", t.step, took, ckpt);
        status = 0;
    }
done:
    if (metrics && fclose(metrics) != 0 && status == 0) {
        fprintf(stderr, "hbpo train: %s: write error\n", metrics_path);
        status = 1;
    }
    if (have_trainer) hbpo_trainer_free(&t);
    if (have_model) hbpo_model_free(&m);
    hbpo_tokenizer_free(tok);
    hbpo_dataset_free(&data);
    free(old_ckpt);
    free(metrics_path);
    return status;
}

/* ------------------------------------------------------------------------- */
/* eval: pass@1 and tokens, natural and with the efficiency prompt           */
/* ------------------------------------------------------------------------- */

/* The two settings of the paper's evaluation: the suffix after "<think>\n".
   The efficiency prompt gets a newline, as the budget prompts of training do
   (hbpo_rollout_suffix). */
static const char *const setting_name[2] = {"natural", "efficient"};
static const char *const setting_suffix[2] = {"", HBPO_EFFICIENCY_PROMPT "\n"};

typedef struct {
    FILE *responses;          /* per-response JSON Lines, or NULL */
    int setting;              /* 0 natural, 1 efficient */
    const hbpo_dataset *data;
    int done, tty;
} eval_ctx;

/* hbpo_evaluate's callback: one JSON line per response, and progress. */
static void eval_each(void *user, int index, const char *response, int outcome, int n_gen) {
    static const char *const outcome_name[3] = {"no_answer", "wrong", "correct"}; /* outcome + 1 */
    eval_ctx *e = (eval_ctx *)user;
    const hbpo_problem *p = &e->data->items[index];
    FILE *f = e->responses;
    if (f) {
        fprintf(f, "{\"setting\": \"%s\", \"index\": %d, \"level\": %d, \"problem\": ",
                setting_name[e->setting], index, p->level);
        put_json_string(f, p->question, strlen(p->question));
        fputs(", \"answer\": ", f);
        put_json_string(f, p->answer, strlen(p->answer));
        fprintf(f, ", \"outcome\": \"%s\", \"n_gen\": %d, \"response\": ",
                outcome >= -1 && outcome <= 1 ? outcome_name[outcome + 1] : "?", n_gen);
        put_json_string(f, response, strlen(response));
        fputs("}\n", f);
    }
    e->done++;
    if (e->tty) {
        fprintf(stderr, "\r  %s: %d/%d\033[K", setting_name[e->setting], e->done, e->data->n);
        fflush(stderr);
    }
}

static void eval_row(const char *label, const hbpo_eval_bucket *b) {
    double n = b->n ? b->n : 1;
    printf("  %-6s %6d %7.1f%% %9.1f %7.1f%% %10.2f %8.1f%% %7.1f%%\n", label, b->n,
           100.0 * b->correct / n, b->tokens / n, b->tokens > 0 ? 100.0 * b->think_tokens / b->tokens : 0.0,
           b->reflections / n, 100.0 * b->no_answer / n, 100.0 * b->truncated / n);
}

static void eval_table(int setting, const hbpo_eval_result *r) {
    int l;
    printf("\n%s%s\n", setting_name[setting],
           setting ? " (\"" HBPO_EFFICIENCY_PROMPT "\" after <think>)" : " (no prompt after <think>)");
    printf("  %-6s %6s %8s %9s %8s %10s %9s %8s\n", "level", "n", "pass@1", "tokens", "think",
           "refl/resp", "no answer", "cut off");
    for (l = 0; l <= HBPO_EVAL_MAX_LEVEL; l++) {
        char label[16];
        if (!r->level[l].n) continue;
        if (l == 0) snprintf(label, sizeof label, "?");
        else snprintf(label, sizeof label, "%d%s", l, l == HBPO_EVAL_MAX_LEVEL ? "+" : "");
        eval_row(label, &r->level[l]);
    }
    eval_row("all", &r->all);
}

static int write_eval_json(const char *path, const char *model, const char *data, int chat,
                           const hbpo_sampler_config *s, const hbpo_eval_result *r, const int *ran) {
    FILE *f = fopen(path, "w");
    char *buf = NULL;
    int i, ok;
    if (!f) {
        fprintf(stderr, "hbpo eval: %s: cannot write: %s\n", path, strerror(errno));
        return -1;
    }
    fputs("{\"model\": ", f);
    put_json_string(f, model, strlen(model));
    fputs(", \"data\": ", f);
    put_json_string(f, data, strlen(data));
    fprintf(f, ", \"chat\": \"%s\", \"sampler\": {\"temperature\": %g, \"top_p\": %g, \"top_k\": %d, "
               "\"max_new_tokens\": %d, \"seed\": %llu}",
            chat_name[chat], (double)s->temperature, (double)s->top_p, s->top_k, s->max_new_tokens,
            (unsigned long long)s->seed);
    for (i = 0; i < 2; i++) {
        int n;
        char *grown;
        if (!ran[i]) continue;
        n = hbpo_eval_json(&r[i], NULL, 0);
        grown = (char *)realloc(buf, (size_t)n + 1);
        if (!grown) break;
        buf = grown;
        hbpo_eval_json(&r[i], buf, (size_t)n + 1);
        fprintf(f, ", \"%s\": %s", setting_name[i], buf);
    }
    fputs("}\n", f);
    free(buf);
    ok = i == 2 && !ferror(f);
    if (fclose(f) != 0) ok = 0;
    if (!ok) fprintf(stderr, "hbpo eval: %s: write error\n", path);
    return ok ? 0 : -1;
}

static int cmd_eval(int argc, char **argv) {
    static const char usage_text[] =
        "usage: hbpo eval --model DIR --data FILE.jsonl [options]\n"
        "  Generates one response per problem and judges its \\boxed answer against the gold\n"
        "  one, as the paper evaluates: natural (nothing after the <think> tag) and efficient\n"
        "  (the efficiency prompt \"" HBPO_EFFICIENCY_PROMPT "\" after it).\n"
        "  Prints per setting and level: problems, pass@1, mean response tokens, the share of\n"
        "  tokens spent before </think>, reflection words per response (wait, hmm, but, check,\n"
        "  ...), and the shares without an answer and cut off by --max-new-tokens.\n"
        "options:\n"
        "  --model DIR          the model: config.json and safetensors (required)\n"
        "  --tokenizer PATH     tokenizer.json or a folder holding one (default: DIR)\n"
        "  --data FILE          problems, JSON Lines, as for train (required)\n"
        "  --layout L           auto, math or gsm8k (default auto)\n"
        "  --strict             a bad data line is fatal (default: skipped and counted)\n"
        "  --limit N            only the first N problems, 0: all (default 0)\n"
        "  --setting S          natural, efficient or both (default both)\n"
        "  --chat C             chatml or deepseek (default chatml)\n"
        "  --temperature T      sampling temperature, 0: greedy (default 0.6)\n"
        "  --top-p P            nucleus, 1: off (default 0.95)\n"
        "  --top-k K            keep the K most likely tokens, 0: off (default 0)\n"
        "  --greedy             always the most likely token (as --temperature 0)\n"
        "  --max-new-tokens N   response length limit (default 4096, the paper's L_max)\n"
        "  --batch N            problems generated together (default 64)\n"
        "  --max-active N       of those, sequences decoding at once (cache slots), 0: all\n"
        "                       (default 0); the results do not depend on it\n"
        "  --seed S             sampling seed (default 0)\n"
        "  --threads N          CPU threads, 0: all (default 0)\n"
        DEVICE_HELP
        "  --json FILE          write the results of both settings as JSON\n"
        "  --responses FILE     write every response as JSON Lines: setting, index, level,\n"
        "                       problem, answer, outcome, n_gen, response\n"
        "exit status: 0 done, 1 a runtime error (files, model, data), 2 bad options\n";
    hbpo_sampler_config s = hbpo_sampler_config_default();
    const char *model_dir = NULL, *data_path = NULL, *tok_path = NULL, *json_path = NULL;
    const char *resp_path = NULL;
    int layout = HBPO_DATA_AUTO, strict = 0, limit = 0, setting = 2, chat = HBPO_CHAT_CHATML;
    int greedy = 0, batch = 64, threads = 0, rc, status = 1, i, have_model = 0, ran[2] = {0, 0};
    int matmul = HBPO_MATMUL_FP32;
    const char *device = NULL;
    const hbpo_backend *be = NULL;
    option opts[] = {
        O_STR("--model", &model_dir), O_STR("--tokenizer", &tok_path), O_STR("--data", &data_path),
        O_CHOICE("--layout", &layout, "auto|math|gsm8k"), O_FLAG("--strict", &strict),
        O_INT("--limit", &limit, 0, INT_MAX), O_CHOICE("--setting", &setting, "natural|efficient|both"),
        O_CHOICE("--chat", &chat, "chatml|deepseek"),
        O_REAL("--temperature", &s.temperature, 0, 100, 0), O_REAL("--top-p", &s.top_p, 0, 1, 1),
        O_INT("--top-k", &s.top_k, 0, 1 << 24), O_FLAG("--greedy", &greedy),
        O_INT("--max-new-tokens", &s.max_new_tokens, 1, 1 << 22), O_INT("--batch", &batch, 1, 4096),
        O_SEED("--seed", &s.seed), O_INT("--threads", &threads, 0, 4096),
        O_STR("--device", &device), O_CHOICE("--matmul", &matmul, "fp32|tf32|bf16"),
        O_INT("--max-active", &s.max_active, 0, 1 << 20),
        O_STR("--json", &json_path), O_STR("--responses", &resp_path), O_END};
    hbpo_model m;
    hbpo_tokenizer *tok = NULL;
    hbpo_dataset data, view;
    hbpo_eval_result res[2];
    eval_ctx ctx;
    FILE *resp = NULL;
    if ((rc = parse_options("eval", argc, argv, opts, usage_text)) != 0) return rc == 1 ? 0 : 2;
    if (require("eval", "--model DIR", model_dir) || require("eval", "--data FILE", data_path)) return 2;
    if (greedy) s.temperature = 0.0f;
    if (threads > 0) hbpo_set_threads(threads);
    if (!tok_path) tok_path = model_dir;
    hbpo_dataset_create(&data);
    memset(res, 0, sizeof res);
    if ((rc = pick_device("eval", device, &be)) != 0) return rc;
    if (check_memory("eval", be, model_dir, 0, 0, s.max_active > 0 && s.max_active < batch ? s.max_active : batch,
                     s.max_new_tokens + 256) != 0)
        return 1;
    if (hbpo_model_load(&m, model_dir, be) != 0) return runtime_error("eval", "model");
    have_model = 1;
    m.config.matmul_precision = matmul;
    /* a longer limit than the model's positions changes nothing but the buffers */
    if (s.max_new_tokens > m.config.max_position_embeddings)
        s.max_new_tokens = m.config.max_position_embeddings;
    if (hbpo_tokenizer_load(&tok, tok_path) != 0) { status = runtime_error("eval", "tokenizer"); goto done; }
    if (load_data("eval", &data, data_path, layout, strict) != 0) goto done;
    view = data; /* the first --limit problems; data keeps owning them */
    if (limit > 0 && limit < view.n) view.n = limit;
    if (comm.rank == 0 && resp_path && !(resp = fopen(resp_path, "w"))) {
        fprintf(stderr, "hbpo eval: %s: cannot write: %s\n", resp_path, strerror(errno));
        goto done;
    }
    printf("hbpo eval: %s on %d problems of %s, %s, ", model_dir, view.n, data_path, chat_name[chat]);
    if (s.temperature > 0)
        printf("temperature %g, top-p %g%s", (double)s.temperature, (double)s.top_p, s.top_k ? "," : "");
    else printf("greedy");
    if (s.top_k && s.temperature > 0) printf(" top-k %d", s.top_k);
    printf(", %d new tokens at most, seed %llu\n", s.max_new_tokens, (unsigned long long)s.seed);
    fflush(stdout);
    for (i = 0; i < 2; i++) {
        if (setting != 2 && setting != i) continue;
        ctx.responses = resp;
        ctx.setting = i;
        ctx.data = &view;
        ctx.done = 0;
        ctx.tty = comm.rank == 0 && stderr_is_terminal();
        rc = hbpo_evaluate_comm(&comm, &m, tok, &view, chat, setting_suffix[i], &s, batch, &res[i],
                                eval_each, &ctx);
        if (ctx.tty) fputs("\r\033[K", stderr);
        if (rc != 0) {
            fail_shared = 1; /* hbpo_evaluate_comm fails on every rank together */
            status = comm.rank == 0 ? runtime_error("eval", setting_name[i]) : 1;
            goto done;
        }
        ran[i] = 1;
        eval_table(i, &res[i]);
        fflush(stdout);
    }
    if (comm.rank == 0 && json_path && write_eval_json(json_path, model_dir, data_path, chat, &s, res, ran) != 0)
        goto done;
    status = 0;
done:
    if (resp) {
        int bad = ferror(resp);
        if (fclose(resp) != 0 || bad) {
            fprintf(stderr, "hbpo eval: %s: write error\n", resp_path);
            status = 1;
        }
    }
    if (have_model) hbpo_model_free(&m);
    hbpo_tokenizer_free(tok);
    hbpo_dataset_free(&data);
    return status;
}

/* ------------------------------------------------------------------------- */
/* generate: completions of prompts                                          */
/* ------------------------------------------------------------------------- */

/* The texts of --prompts FILE ({"text": ...} per line), each a fresh string. */
static int read_prompts(const char *path, char ***texts, int *n) {
    hbpo_jsonl r;
    hbpo_json_doc doc;
    int rc, cap = 0, status = -1;
    *texts = NULL;
    *n = 0;
    memset(&doc, 0, sizeof doc);
    if (hbpo_jsonl_open(&r, path) != 0) {
        fprintf(stderr, "hbpo generate: %s\n", hbpo_last_error());
        return -1;
    }
    while ((rc = hbpo_jsonl_next(&r, &doc)) == 1) {
        const hbpo_json *v = hbpo_json_get(doc.root, "text");
        char *copy;
        if (!v || v->type != HBPO_JSON_STRING) {
            fprintf(stderr, "hbpo generate: %s line %ld: expected an object with a \"text\" string\n",
                    path, r.line);
            goto done;
        }
        if (*n == cap) {
            char **grown = (char **)realloc(*texts, sizeof(char *) * (size_t)(cap = cap ? 2 * cap : 16));
            if (!grown) { fprintf(stderr, "hbpo generate: out of memory\n"); goto done; }
            *texts = grown;
        }
        if (!(copy = (char *)malloc(v->len + 1))) { fprintf(stderr, "hbpo generate: out of memory\n"); goto done; }
        memcpy(copy, v->str, v->len + 1);
        (*texts)[(*n)++] = copy;
    }
    if (rc < 0) fprintf(stderr, "hbpo generate: %s: %s\n", path, hbpo_last_error());
    else if (*n == 0) fprintf(stderr, "hbpo generate: %s: no prompts\n", path);
    else status = 0;
done:
    hbpo_json_free(&doc);
    hbpo_jsonl_close(&r);
    return status;
}

static int cmd_generate(int argc, char **argv) {
    static const char usage_text[] =
        "usage: hbpo generate --model DIR (--prompt TEXT | --prompts FILE.jsonl) [options]\n"
        "  Completes prompts with the model and prints each completion and its length in\n"
        "  tokens (n_gen). The prompt is a question in the chat format, the assistant turn\n"
        "  opened with <think> and an optional line after it (a budget or the efficiency\n"
        "  prompt), as in training; --chat none sends the text as it is.\n"
        "options:\n"
        "  --model DIR          the model: config.json and safetensors (required)\n"
        "  --tokenizer PATH     tokenizer.json or a folder holding one (default: DIR)\n"
        "  --prompt TEXT        one prompt\n"
        "  --prompts FILE       prompts as JSON Lines {\"text\": \"...\"}\n"
        "  --chat C             chatml, deepseek or none (default chatml)\n"
        "  --suffix TEXT        text right after <think>\\n, as given (default none)\n"
        "  --budget B           the budget prompt \"I will answer the question within B\n"
        "                       tokens\" and a newline after <think>\n"
        "  --mode M             the budget prompt's wording: paper (\"within B tokens\") or\n"
        "                       official (\"with B tokens\") (default paper)\n"
        "  --efficient          the efficiency prompt and a newline after <think>\n"
        "  --temperature T      sampling temperature, 0: greedy (default 0.6)\n"
        "  --top-p P            nucleus, 1: off (default 0.95)\n"
        "  --top-k K            keep the K most likely tokens, 0: off (default 0)\n"
        "  --greedy             always the most likely token (as --temperature 0)\n"
        "  --max-new-tokens N   completion length limit (default 4096)\n"
        "  --batch N            prompts generated together (default 16)\n"
        "  --max-active N       of those, sequences decoding at once (cache slots; a finished\n"
        "                       one's slot takes the next prompt), 0: all (default 0); the\n"
        "                       completions do not depend on it\n"
        "  --seed S             sampling seed; the same seed and --batch give the same\n"
        "                       completions (default 0)\n"
        "  --skip-special       drop special tokens (<|im_end|>, ...) from the text\n"
        "  --jsonl              print one JSON object per completion: index, text, n_gen, stop\n"
        "  --threads N          CPU threads, 0: all (default 0)\n"
        DEVICE_HELP
        "  Generation stops at the chat format's end-of-turn tokens, after --max-new-tokens,\n"
        "  or when the model's positions run out.\n"
        "exit status: 0 done, 1 a runtime error (files, model, prompts), 2 bad options\n";
    hbpo_sampler_config s = hbpo_sampler_config_default();
    const char *model_dir = NULL, *tok_path = NULL, *prompt = NULL, *prompts_path = NULL;
    const char *suffix_opt = NULL;
    int chat = HBPO_CHAT_CHATML, budget = 0, mode = HBPO_MODE_PAPER, efficient = 0, greedy = 0;
    int batch = 16, skip = 0, jsonl = 0, threads = 0, rc, status = 1, have_model = 0, n = 0, i, V;
    int matmul = HBPO_MATMUL_FP32;
    const char *device = NULL;
    const hbpo_backend *be = NULL;
    option opts[] = {
        O_STR("--model", &model_dir), O_STR("--tokenizer", &tok_path), O_STR("--prompt", &prompt),
        O_STR("--prompts", &prompts_path), O_CHOICE("--chat", &chat, "chatml|deepseek|none"),
        O_STR("--suffix", &suffix_opt), O_INT("--budget", &budget, 1, 1 << 24),
        O_CHOICE("--mode", &mode, "paper|official"), O_FLAG("--efficient", &efficient),
        O_REAL("--temperature", &s.temperature, 0, 100, 0), O_REAL("--top-p", &s.top_p, 0, 1, 1),
        O_INT("--top-k", &s.top_k, 0, 1 << 24), O_FLAG("--greedy", &greedy),
        O_INT("--max-new-tokens", &s.max_new_tokens, 1, 1 << 22), O_INT("--batch", &batch, 1, 4096),
        O_SEED("--seed", &s.seed), O_FLAG("--skip-special", &skip), O_FLAG("--jsonl", &jsonl),
        O_INT("--max-active", &s.max_active, 0, 1 << 20),
        O_INT("--threads", &threads, 0, 4096), O_STR("--device", &device),
        O_CHOICE("--matmul", &matmul, "fp32|tf32|bf16"), O_END};
    char suffix[160], **texts = NULL, *text = NULL;
    const char *stop_name;
    size_t tcap = 0;
    int **ids = NULL, *plen = NULL, *prompt_buf = NULL, *off = NULL, *out = NULL, *out_len = NULL;
    int *keep = NULL;
    hbpo_model m;
    hbpo_tokenizer *tok = NULL;
    uint64_t seed;
    if ((rc = parse_options("generate", argc, argv, opts, usage_text)) != 0) return rc == 1 ? 0 : 2;
    if (require("generate", "--model DIR", model_dir)) return 2;
    if ((rc = pick_device("generate", device, &be)) != 0) return rc;
    if (!prompt == !prompts_path) {
        fprintf(stderr, "hbpo generate: give one of --prompt TEXT and --prompts FILE\n");
        return 2;
    }
    if (!!suffix_opt + !!budget + efficient > 1) {
        fprintf(stderr, "hbpo generate: --suffix, --budget and --efficient each set the text after "
                "<think>; give one\n");
        return 2;
    }
    if (chat == 2 && (suffix_opt || budget || efficient)) {
        fprintf(stderr, "hbpo generate: --chat none has no <think> tag for --suffix, --budget or "
                "--efficient\n");
        return 2;
    }
    suffix[0] = 0;
    if (suffix_opt) {
        if (strlen(suffix_opt) >= sizeof suffix) {
            fprintf(stderr, "hbpo generate: --suffix is longer than %d bytes\n", (int)sizeof suffix - 1);
            return 2;
        }
        snprintf(suffix, sizeof suffix, "%s", suffix_opt);
    } else if (budget) {
        rc = hbpo_budget_prompt(mode, budget, suffix, sizeof suffix - 1);
        if (rc < 0) return runtime_error("generate", "--budget");
        suffix[rc] = '\n';
        suffix[rc + 1] = 0;
    } else if (efficient) {
        snprintf(suffix, sizeof suffix, "%s\n", HBPO_EFFICIENCY_PROMPT);
    }
    if (greedy) s.temperature = 0.0f;
    if (threads > 0) hbpo_set_threads(threads);
    if (!tok_path) tok_path = model_dir;
    if (prompts_path) {
        if (read_prompts(prompts_path, &texts, &n) != 0) goto done;
    } else {
        if (!(texts = (char **)malloc(sizeof(char *)))) goto done;
        texts[0] = NULL;
        n = 1;
        if (!(texts[0] = (char *)malloc(strlen(prompt) + 1))) goto done;
        strcpy(texts[0], prompt);
    }
    if (check_memory("generate", be, model_dir, 0, 0,
                     s.max_active > 0 && s.max_active < batch ? s.max_active : batch,
                     s.max_new_tokens + 256) != 0)
        goto done;
    if (hbpo_model_load(&m, model_dir, be) != 0) { status = runtime_error("generate", "model"); goto done; }
    have_model = 1;
    m.config.matmul_precision = matmul;
    if (hbpo_tokenizer_load(&tok, tok_path) != 0) { status = runtime_error("generate", "tokenizer"); goto done; }
    V = hbpo_tokenizer_vocab_size(tok);
    if (V > m.config.vocab_size) {
        fprintf(stderr, "hbpo generate: the tokenizer has %d ids but the model only %d\n", V,
                m.config.vocab_size);
        goto done;
    }
    s.n_eos = hbpo_chat_stop_tokens(tok, s.eos);
    if (s.max_new_tokens > m.config.max_position_embeddings)
        s.max_new_tokens = m.config.max_position_embeddings; /* never reached beyond */
    ids = (int **)calloc((size_t)n, sizeof(int *));
    plen = (int *)malloc(sizeof(int) * (size_t)n);
    out = (int *)malloc(sizeof(int) * (size_t)s.max_new_tokens * (size_t)(batch < n ? batch : n));
    keep = (int *)malloc(sizeof(int) * (size_t)s.max_new_tokens);
    out_len = (int *)malloc(sizeof(int) * (size_t)n);
    off = (int *)malloc(sizeof(int) * ((size_t)n + 1));
    if (!ids || !plen || !out || !keep || !out_len || !off) {
        fprintf(stderr, "hbpo generate: out of memory\n");
        goto done;
    }
    off[0] = 0;
    for (i = 0; i < n; i++) {
        plen[i] = hbpo_chat_encode(tok, chat, texts[i], suffix, &ids[i]); /* chat 2: HBPO_CHAT_NONE */
        if (plen[i] < 1) {
            fprintf(stderr, "hbpo generate: prompt %d: %s\n", i + 1,
                    plen[i] == 0 || !hbpo_last_error()[0] ? "encodes to no tokens" : hbpo_last_error());
            goto done;
        }
        if (plen[i] >= m.config.max_position_embeddings) {
            fprintf(stderr, "hbpo generate: prompt %d has %d tokens; the model takes %d positions\n",
                    i + 1, plen[i], m.config.max_position_embeddings);
            goto done;
        }
        if ((size_t)off[i] + (size_t)plen[i] > INT_MAX) {
            fprintf(stderr, "hbpo generate: the prompts are too long together\n");
            goto done;
        }
        off[i + 1] = off[i] + plen[i];
    }
    if (!(prompt_buf = (int *)malloc(sizeof(int) * (size_t)(off[n] ? off[n] : 1)))) {
        fprintf(stderr, "hbpo generate: out of memory\n");
        goto done;
    }
    for (i = 0; i < n; i++) memcpy(prompt_buf + off[i], ids[i], sizeof(int) * (size_t)plen[i]);
    seed = s.seed;
    for (i = 0; i < n; i += batch) {
        int nb = n - i < batch ? n - i : batch, b, j, kept, len;
        s.seed = seed + (uint64_t)i;
        rc = hbpo_generate(&m, &s, nb, prompt_buf, off + i, out, NULL, out_len + i);
        if (rc != 0) { status = runtime_error("generate", NULL); goto done; }
        for (b = 0; b < nb; b++) {
            const int *resp = out + (size_t)b * s.max_new_tokens;
            int ng = out_len[i + b], why = hbpo_stop_reason(resp, ng, s.eos, s.n_eos, s.max_new_tokens);
            /* ids past the tokenizer's (a padded vocabulary) have no text */
            for (j = 0, kept = 0; j < ng; j++)
                if (resp[j] < V && hbpo_tokenizer_token(tok, resp[j])) keep[kept++] = resp[j];
            stop_name = why == HBPO_STOP_EOS ? "eos" : why == HBPO_STOP_LENGTH ? "length" : "context";
            len = hbpo_tokenizer_decode(tok, keep, kept, skip, text, tcap);
            if (len >= 0 && (size_t)len >= tcap) {
                char *grown = (char *)realloc(text, (size_t)len + 1);
                if (!grown) { fprintf(stderr, "hbpo generate: out of memory\n"); goto done; }
                text = grown;
                tcap = (size_t)len + 1;
                len = hbpo_tokenizer_decode(tok, keep, kept, skip, text, tcap);
            }
            if (len < 0) { status = runtime_error("generate", NULL); goto done; }
            if (jsonl) {
                printf("{\"index\": %d, \"text\": ", i + b);
                put_json_string(stdout, text, (size_t)len);
                printf(", \"n_gen\": %d, \"stop\": \"%s\"}\n", ng, stop_name);
            } else {
                printf("=== completion %d: n_gen %d, stopped by %s ===\n", i + b + 1, ng,
                       why == HBPO_STOP_EOS ? "end of turn" : why == HBPO_STOP_LENGTH ? "--max-new-tokens"
                                                                                   : "the model's positions");
                fwrite(text, 1, (size_t)len, stdout);
                putchar('\n');
            }
        }
        fflush(stdout);
    }
    status = 0;
done:
    if (fflush(stdout) != 0) status = 1;
    if (have_model) hbpo_model_free(&m);
    hbpo_tokenizer_free(tok);
    for (i = 0; texts && i < n; i++) free(texts[i]);
    for (i = 0; ids && i < n; i++) hbpo_free(ids[i]);
    free(texts); free(ids); free(plen); free(prompt_buf); free(off); free(out); free(out_len);
    free(keep); free(text);
    return status;
}

static const command commands[] = {
    {"tokenize", cmd_tokenize, "text to token ids (JSON Lines on stdin and stdout)"},
    {"detokenize", cmd_detokenize, "token ids to text (JSON Lines on stdin and stdout)"},
    {"tokenizer-bytes", cmd_tokenizer_bytes, "write the byte-level tokenizer.json for tiny models"},
    {"init", cmd_init, "write a randomly initialised model folder (tiny models, tests)"},
    {"synth", cmd_synth, "write problems of the synthetic arithmetic task as JSON Lines"},
    {"train", cmd_train, "train a model with HBPO (or GRPO, cosine, L1) on a JSONL dataset"},
    {"eval", cmd_eval, "pass@1 and response tokens, natural and with the efficiency prompt"},
    {"generate", cmd_generate, "complete prompts with a model"},
    {NULL, NULL, NULL},
};

static void usage(FILE *f) {
    const command *c;
    fprintf(f, "usage: hbpo COMMAND [options]   (hbpo COMMAND --help for its options; hbpo --version)\n\ncommands:\n");
    for (c = commands; c->name; c++) fprintf(f, "  %-16s %s\n", c->name, c->help);
}

static int run_command(int argc, char **argv) {
    const command *c;
    hbpo_program_start(argv); /* the right BLAS kernel; line-buffered progress */
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        char line[256], bf16[256];
        hbpo_blas_describe(line, sizeof line);
        hbpo_bf16_describe(bf16, sizeof bf16);
        printf("hbpo %d.%d.%d\n%s\n%s\n", HBPO_VERSION_MAJOR, HBPO_VERSION_MINOR, HBPO_VERSION_PATCH, line, bf16);
        return 0;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (c = commands; c->name; c++) {
        if (strcmp(argv[1], c->name) != 0) continue;
        /* train and eval split their work across ranks; the others run on rank 0 */
        if (comm.rank != 0 && c->run != cmd_train && c->run != cmd_eval) return 0;
        return c->run(argc - 1, argv + 1);
    }
    fprintf(stderr, "hbpo: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}

int main(int argc, char **argv) {
    int rc;
#ifdef HBPO_USE_MPI
    if (hbpo_comm_init_mpi(&comm, &argc, &argv) != 0) {
        fprintf(stderr, "hbpo: %s\n", hbpo_last_error());
        return 1;
    }
    /* rank 0 prints the reports; every rank keeps stderr for its errors */
    if (comm.rank != 0 && !freopen("/dev/null", "w", stdout)) return 1;
#else
    hbpo_comm_init_single(&comm);
#endif
    rc = run_command(argc, argv);
    /* bad options (2) are the same on every rank; another failure of one
       rank alone would leave the others waiting in the next exchange */
    if (rc != 0 && rc != 2 && comm.size > 1 && !fail_shared) {
        fprintf(stderr, "hbpo: rank %d of %d failed (exit status %d); ending every rank\n", comm.rank,
                comm.size, rc);
        fflush(stderr);
        comm.abort(&comm, rc);
    }
    hbpo_comm_free(&comm);
    return rc;
}
