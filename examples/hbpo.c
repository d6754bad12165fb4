/* hbpo - the command-line program: `build/hbpo COMMAND [options]`.
   Each command is one function below; `build/hbpo --help` lists them. */
#define HBPO_IMPLEMENTATION
#include "hbpo.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *help;
} command;

static const command commands[] = {
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
