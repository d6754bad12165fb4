/* hbpo - the command-line program: `build/hbpo COMMAND [options]`.
   Each command is one function below; `build/hbpo --help` lists them. */
#define HBPO_IMPLEMENTATION
#include "hbpo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *help;
} command;

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

/* Reads JSON Lines from stdin (the reader's FILE is set by hand: hbpo_jsonl
   has no stdin constructor, and closing stdin at exit is harmless). */
static void stdin_reader(hbpo_jsonl *r) {
    memset(r, 0, sizeof *r);
    r->file = stdin;
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
    stdin_reader(&r);
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
static void put_json_string(const char *s, size_t n) {
    size_t i;
    unsigned char c;
    putchar('"');
    for (i = 0; i < n; i++) {
        c = (unsigned char)s[i];
        if (c == '"' || c == '\\') { putchar('\\'); putchar(c); }
        else if (c == '\n') fputs("\\n", stdout);
        else if (c == '\r') fputs("\\r", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c < 0x20 || c == 0x7F) printf("\\u%04X", c);
        else putchar(c);
    }
    putchar('"');
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
    stdin_reader(&r);
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
        put_json_string(text, (size_t)n);
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

static const command commands[] = {
    {"tokenize", cmd_tokenize, "text to token ids (JSON Lines on stdin and stdout)"},
    {"detokenize", cmd_detokenize, "token ids to text (JSON Lines on stdin and stdout)"},
    {"tokenizer-bytes", cmd_tokenizer_bytes, "write the byte-level tokenizer.json for tiny models"},
    {NULL, NULL, NULL},
};

static void usage(FILE *f) {
    const command *c;
    fprintf(f, "usage: hbpo COMMAND [options]   (hbpo COMMAND --help for its options)\n\ncommands:\n");
    for (c = commands; c->name; c++) fprintf(f, "  %-12s %s\n", c->name, c->help);
}

int main(int argc, char **argv) {
    const command *c;
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (c = commands; c->name; c++)
        if (!strcmp(argv[1], c->name)) return c->run(argc - 1, argv + 1);
    fprintf(stderr, "hbpo: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
