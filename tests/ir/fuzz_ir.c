/*
 * A libFuzzer target for the IR text form.  Every input that parses must
 * verify or fail cleanly, print, parse again and print the same text.
 * It is not part of the CMake build, because it needs clang:
 *
 *   clang-19 -g -O1 -fsanitize=fuzzer,address,undefined -I. ir/[a-z]*.c \
 *       tests/ir/fuzz_ir.c -o ir-fuzz -lm
 *   ./ir-fuzz -max_len=4096 CORPUS_DIR tests/ir
 */
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

static char *
print_to_string(const struct ir_graph *g)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        abort();
    ir_print(f, g);
    fclose(f);
    return text;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static FILE *errors;
    if (!errors) {
        errors = fopen("/dev/null", "w");
        ir_set_error_stream(errors);
    }

    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    struct ir_graph *g = ir_parse(text, "fuzz");
    free(text);
    if (!g)
        return 0;

    ir_verify(g);
    char *first = print_to_string(g);
    struct ir_graph *back = ir_parse(first, "printed");
    if (!back) {
        fprintf(stderr, "the printed text does not parse:\n%s", first);
        abort();
    }
    char *second = print_to_string(back);
    if (strcmp(first, second) != 0) {
        fprintf(stderr, "the text changed after parsing:\n%s---\n%s", first,
                second);
        abort();
    }
    free(first);
    free(second);
    ir_graph_free(g);
    ir_graph_free(back);
    return 0;
}
