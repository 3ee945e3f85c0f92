/*
 * The IR's text form, parser side.  ir_print in print.c writes this form:
 *
 *   graph @main opset 17 {
 *     sym batch = ?
 *     input %x : f32[batch,16]
 *     const %w : f32[16,4] = elided<256 bytes, fnv1a 0x9cbe38736408d57b>
 *     %y = MatMul(%x, %w) : f32[batch,4] @MatMul_0 opset 17
 *     output %y
 *   }
 *
 *   graph   := 'graph' '@'NAME 'opset' INT '{' stmt* '}'
 *   stmt    := 'sym' BARE '=' (INT | '?')
 *            | 'input' '%'NAME ':' type
 *            | 'const' '%'NAME ':' type '=' data
 *            | [results '='] OPKIND '(' [operand (',' operand)*] ')'
 *              ['{' attr (',' attr)* '}'] [':' type (',' type)*]
 *              ['@'NAME] ['opset' INT] ['dead']
 *            | 'output' '%'NAME (',' '%'NAME)*
 *   results := '%'NAME (',' '%'NAME)*
 *   operand := '%'NAME | '_'                  ('_' is an omitted input)
 *   type    := DTYPE '[' '*' ']'              (unknown rank)
 *            | DTYPE '[' [dim (',' dim)*] ']'
 *   dim     := INT | '?' | BARE               (unknown size, or a symbol)
 *   attr    := BARE '=' (INT | FLOAT | STRING | '%'NAME | list)
 *   list    := '[' elems ']' | ('ints' | 'floats' | 'strings') '[' elems? ']'
 *   data    := 'dense' '<' [number (',' number)*] '>'
 *            | 'bytes' '<' STRING '>'         (hex digits, two per byte)
 *            | 'elided' '<' INT 'bytes' ',' 'fnv1a' HEX '>'
 *            | 'null'
 *
 * NAME is [A-Za-z0-9_.$/-]+ or a quoted string, and BARE is an identifier
 * or a quoted string.  "//" starts a comment outside a name or string.  A
 * number is a float when it has a '.' or an exponent, or is nan or inf.  An
 * op needs one type per result.  Its node name defaults to a made-up one and
 * its opset to the graph's.  Operands, outputs and tensor attributes may
 * name values defined later, so graphs out of topological order parse and
 * ir_verify can report them.
 *
 * elided<N bytes, ...> does not restore the data that the printer left out.
 * The constant gets N bytes of zeros, except that its first 16 bytes are a
 * marker and the printed hash, which ir_print recognizes and prints again.
 * A pass that reads such a constant sees these placeholder bytes.  dense<>
 * takes any element count, but ir_print elides more than 16 elements.
 *
 * The parser stops at the first error and reports it as FILE:LINE:COL.
 */
#include "ir.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The marker that elided_hash in print.c looks for; keep the two in step. */
#define ELIDED_MAGIC "onnxcELD"
#define ELIDED_HEADER 16
/* Largest elided constant accepted, so that bad input cannot exhaust memory. */
#define ELIDED_MAX_BYTES ((size_t)1 << 30)
/* Attributes per op.  ONNX ops have a few dozen at most, and the duplicate
 * check is linear. */
#define ATTRS_MAX 1024

#define TRY(x)                                                                 \
    do {                                                                       \
        if ((x) < 0)                                                           \
            return -1;                                                         \
    } while (0)

enum token_kind {
    TOK_EOF,
    TOK_IDENT,  /* identifier or keyword */
    TOK_VALUE,  /* %name */
    TOK_AT,     /* @name */
    TOK_STRING, /* "..." */
    TOK_NUMBER,
    TOK_PUNCT, /* one of ( ) { } [ ] < > , = : ? * */
};

struct token {
    enum token_kind kind;
    const char *start; /* the token's source text */
    size_t len;
    int line, col;
    char *text; /* decoded text, NUL-terminated; owned by the parser */
};

/* A growable byte buffer. */
struct buf {
    char *data;
    size_t len, cap;
};

/* Map from names to indices: open addressing, power-of-two capacity. */
struct name_table {
    const char **keys; /* point into the graph's strings */
    int32_t *ids;
    size_t n, cap;
};

/* A reference to a value that may be defined later in the text. */
enum fixup_kind { FIX_OPERAND, FIX_OUTPUT, FIX_TENSOR_ATTR };

struct fixup {
    enum fixup_kind kind;
    int32_t op; /* FIX_OPERAND and FIX_TENSOR_ATTR */
    int slot;   /* operand, output or attribute index */
    char *name;
    int line, col;
};

struct parser {
    const char *file;
    const char *p; /* next character to lex */
    int line;
    const char *line_start;
    struct token tok;
    struct buf text; /* backs tok.text */
    struct ir_graph *g;
    struct name_table values;
    struct name_table syms;
    struct fixup *fixups;
    size_t n_fixups, cap_fixups;
    int32_t *outputs; /* graph outputs, resolved at the end */
    size_t n_outputs, cap_outputs;
    struct buf scratch; /* operands, results, list elements, data */
    char **strings;     /* a string list attribute being read */
    size_t n_strings, cap_strings;
};

static void
buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra)
        cap *= 2;
    b->data = ir_xrealloc(b->data, cap);
    b->cap = cap;
}

static void
buf_add(struct buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* ---- errors ---- */

static int error_at(struct parser *ps, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
error_at(struct parser *ps, int line, int col, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return ir_errorf("%s:%d:%d: %s", ps->file, line, col, msg);
}

/* Describe the current token for "expected X, found Y" messages. */
static const char *
describe(struct parser *ps, char *out, size_t size)
{
    if (ps->tok.kind == TOK_EOF)
        return "end of file";
    size_t n = ps->tok.len < 40 ? ps->tok.len : 40;
    if (n + 3 > size)
        n = size - 3;
    out[0] = '\'';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)ps->tok.start[i];
        out[i + 1] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[n + 1] = '\'';
    out[n + 2] = 0;
    return out;
}

static int
expected(struct parser *ps, const char *what)
{
    char found[48];
    return error_at(ps, ps->tok.line, ps->tok.col, "expected %s, found %s",
                    what, describe(ps, found, sizeof(found)));
}

/* ---- lexer ---- */

static bool
is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool
is_ident_char(int c)
{
    return is_ident_start(c) || is_digit(c) || c == '.';
}

/* Characters of an unquoted %name or @name, as print.c prints them. */
static bool
is_name_char(int c)
{
    return is_ident_char(c) || c == '$' || c == '-' || c == '/';
}

static int
hex_value(int c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void
skip_space(struct parser *ps)
{
    for (;;) {
        char c = *ps->p;
        if (c == '\n') {
            ps->p++;
            ps->line++;
            ps->line_start = ps->p;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            ps->p++;
        } else if (c == '/' && ps->p[1] == '/') {
            while (*ps->p && *ps->p != '\n')
                ps->p++;
        } else {
            return;
        }
    }
}

static int
column(struct parser *ps, const char *at)
{
    return (int)(at - ps->line_start) + 1;
}

/* Decode a quoted string at ps->p into ps->text. */
static int
lex_quoted(struct parser *ps)
{
    const char *start = ps->p;
    ps->p++;
    for (;;) {
        char c = *ps->p;
        if (c == 0 || c == '\n')
            return error_at(ps, ps->line, column(ps, start),
                            "unterminated string");
        ps->p++;
        if (c == '"')
            break;
        if (c != '\\') {
            buf_add(&ps->text, &c, 1);
            continue;
        }
        char e = *ps->p;
        char out;
        if (e == 'n') {
            out = '\n';
        } else if (e == 't') {
            out = '\t';
        } else if (e == 'r') {
            out = '\r';
        } else if (e == '"' || e == '\\') {
            out = e;
        } else if (e == 'x' && hex_value(ps->p[1]) >= 0 &&
                   hex_value(ps->p[2]) >= 0) {
            out = (char)(hex_value(ps->p[1]) * 16 + hex_value(ps->p[2]));
            if (out == 0)
                return error_at(ps, ps->line, column(ps, ps->p - 1),
                                "a string cannot contain \\x00");
            ps->p += 2;
        } else {
            return error_at(ps, ps->line, column(ps, ps->p - 1),
                            "invalid escape in string; use \\\", \\\\, "
                            "\\n, \\t, \\r or \\xHH");
        }
        ps->p++;
        buf_add(&ps->text, &out, 1);
    }
    return 0;
}

/* Read a %name or @name after its sigil. */
static int
lex_name(struct parser *ps)
{
    if (*ps->p == '"')
        return lex_quoted(ps);
    const char *start = ps->p;
    while (is_name_char((unsigned char)*ps->p))
        ps->p++;
    if (ps->p == start)
        return error_at(ps, ps->line, column(ps, start - 1),
                        "expected a name or a quoted string after '%c'",
                        start[-1]);
    buf_add(&ps->text, start, (size_t)(ps->p - start));
    return 0;
}

/*
 * A number is scanned loosely (sign, letters, digits, dots, an exponent
 * sign) and checked by strtoll or strtod where it is used.
 */
static void
lex_number(struct parser *ps)
{
    if (*ps->p == '-')
        ps->p++;
    while (is_ident_char((unsigned char)*ps->p) ||
           ((*ps->p == '+' || *ps->p == '-') &&
            (ps->p[-1] == 'e' || ps->p[-1] == 'E')))
        ps->p++;
}

static int
next(struct parser *ps)
{
    skip_space(ps);
    struct token *t = &ps->tok;
    t->start = ps->p;
    t->line = ps->line;
    t->col = column(ps, ps->p);
    ps->text.len = 0;

    char c = *ps->p;
    if (c == 0) {
        t->kind = TOK_EOF;
    } else if (is_ident_start((unsigned char)c)) {
        t->kind = TOK_IDENT;
        while (is_ident_char((unsigned char)*ps->p))
            ps->p++;
        buf_add(&ps->text, t->start, (size_t)(ps->p - t->start));
    } else if (is_digit((unsigned char)c) ||
               (c == '-' && (is_digit((unsigned char)ps->p[1]) ||
                             is_ident_start((unsigned char)ps->p[1])))) {
        t->kind = TOK_NUMBER;
        lex_number(ps);
        buf_add(&ps->text, t->start, (size_t)(ps->p - t->start));
    } else if (c == '%' || c == '@') {
        t->kind = c == '%' ? TOK_VALUE : TOK_AT;
        ps->p++;
        TRY(lex_name(ps));
    } else if (c == '"') {
        t->kind = TOK_STRING;
        TRY(lex_quoted(ps));
    } else if (strchr("(){}[]<>,=:?*", c)) {
        t->kind = TOK_PUNCT;
        ps->p++;
        buf_add(&ps->text, &c, 1);
    } else {
        unsigned char u = (unsigned char)c;
        if (u >= 0x20 && u < 0x7f)
            return error_at(ps, t->line, t->col, "unexpected character '%c'",
                            c);
        return error_at(ps, t->line, t->col, "unexpected byte 0x%02x",
                        (unsigned)u);
    }
    t->len = (size_t)(ps->p - t->start);
    buf_add(&ps->text, "", 1);
    t->text = ps->text.data;
    return 0;
}

static bool
is_punct(struct parser *ps, char c)
{
    return ps->tok.kind == TOK_PUNCT && ps->tok.text[0] == c;
}

static bool
is_keyword(struct parser *ps, const char *kw)
{
    return ps->tok.kind == TOK_IDENT && strcmp(ps->tok.text, kw) == 0;
}

static int
expect_punct(struct parser *ps, char c)
{
    if (!is_punct(ps, c)) {
        char what[8];
        snprintf(what, sizeof(what), "'%c'", c);
        return expected(ps, what);
    }
    return next(ps);
}

/* Consume the ',' between list elements; close is the list's last token. */
static int
expect_separator(struct parser *ps, char close)
{
    if (!is_punct(ps, ',')) {
        char what[16];
        snprintf(what, sizeof(what), "',' or '%c'", close);
        return expected(ps, what);
    }
    return next(ps);
}

static int
expect_keyword(struct parser *ps, const char *kw)
{
    if (!is_keyword(ps, kw)) {
        char what[32];
        snprintf(what, sizeof(what), "'%s'", kw);
        return expected(ps, what);
    }
    return next(ps);
}

/* ---- name tables ---- */

static size_t
hash_string(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return (size_t)h;
}

static int32_t
table_find(const struct name_table *t, const char *key)
{
    if (t->cap == 0)
        return IR_NONE;
    size_t mask = t->cap - 1;
    for (size_t i = hash_string(key) & mask;; i = (i + 1) & mask) {
        if (!t->keys[i])
            return IR_NONE;
        if (strcmp(t->keys[i], key) == 0)
            return t->ids[i];
    }
}

static void
table_insert_slot(struct name_table *t, const char *key, int32_t id)
{
    size_t i = hash_string(key) & (t->cap - 1);
    while (t->keys[i])
        i = (i + 1) & (t->cap - 1);
    t->keys[i] = key;
    t->ids[i] = id;
}

/* Insert key, which must outlive the table and not be present yet. */
static void
table_insert(struct name_table *t, const char *key, int32_t id)
{
    if (2 * (t->n + 1) > t->cap) {
        struct name_table old = *t;
        t->cap = old.cap ? 2 * old.cap : 64;
        t->keys = ir_xcalloc(t->cap, sizeof(*t->keys));
        t->ids = ir_xcalloc(t->cap, sizeof(*t->ids));
        for (size_t i = 0; i < old.cap; i++)
            if (old.keys[i])
                table_insert_slot(t, old.keys[i], old.ids[i]);
        free(old.keys);
        free(old.ids);
    }
    table_insert_slot(t, key, id);
    t->n++;
}

static void
table_free(struct name_table *t)
{
    free(t->keys);
    free(t->ids);
}

/* ---- numbers ---- */

static bool
is_number_token(struct parser *ps)
{
    if (ps->tok.kind == TOK_NUMBER)
        return true;
    return is_keyword(ps, "nan") || is_keyword(ps, "inf");
}

/* True if the token is an integer: an optional '-' and decimal digits. */
static bool
token_is_integer(struct parser *ps)
{
    const char *s = ps->tok.text;
    if (ps->tok.kind != TOK_NUMBER)
        return false;
    if (*s == '-')
        s++;
    if (!*s)
        return false;
    for (; *s; s++)
        if (!is_digit((unsigned char)*s))
            return false;
    return true;
}

static int
read_int(struct parser *ps, int64_t *out)
{
    if (!token_is_integer(ps))
        return expected(ps, "an integer");
    errno = 0;
    long long v = strtoll(ps->tok.text, NULL, 10);
    if (errno == ERANGE)
        return error_at(ps, ps->tok.line, ps->tok.col,
                        "integer %s is out of range for i64", ps->tok.text);
    *out = v;
    return next(ps);
}

/* Read an integer in [lo, hi].  The error message calls it what. */
static int
read_int_in(struct parser *ps, int64_t lo, int64_t hi, const char *what,
            int64_t *out)
{
    int line = ps->tok.line, col = ps->tok.col;
    TRY(read_int(ps, out));
    if (*out < lo || *out > hi)
        return error_at(ps, line, col, "%s %lld is out of range [%lld, %lld]",
                        what, (long long)*out, (long long)lo, (long long)hi);
    return 0;
}

static int
read_double(struct parser *ps, double *out)
{
    if (!is_number_token(ps))
        return expected(ps, "a number");
    char *end;
    *out = strtod(ps->tok.text, &end);
    if (*end != 0 || end == ps->tok.text)
        return error_at(ps, ps->tok.line, ps->tok.col, "invalid number '%s'",
                        ps->tok.text);
    if (isinf(*out) && !strstr(ps->tok.text, "inf"))
        return error_at(ps, ps->tok.line, ps->tok.col,
                        "%s is out of range for f64", ps->tok.text);
    return next(ps);
}

/* Read one element of a dense<...> list and append it to ps->scratch. */
static int
read_element(struct parser *ps, enum ir_dtype t)
{
    union {
        uint8_t u8;
        uint16_t u16;
        uint32_t u32;
        uint64_t u64;
        float f;
        double d;
    } e;
    size_t size = ir_dtype_size(t);

    if (ir_dtype_is_float(t)) {
        float f = 0;
        if (!is_number_token(ps))
            return expected(ps, "a number");
        char *end;
        if (t == IR_DTYPE_DOUBLE)
            e.d = strtod(ps->tok.text, &end);
        else
            f = strtof(ps->tok.text, &end);
        if (*end != 0 || end == ps->tok.text)
            return error_at(ps, ps->tok.line, ps->tok.col,
                            "invalid number '%s'", ps->tok.text);
        bool overflow = t == IR_DTYPE_DOUBLE ? isinf(e.d) : isinf(f);
        if (t == IR_DTYPE_FLOAT16 && fabsf(f) >= 65520.0f)
            overflow = true;
        if (overflow && !strstr(ps->tok.text, "inf"))
            return error_at(ps, ps->tok.line, ps->tok.col,
                            "%s is out of range for %s", ps->tok.text,
                            ir_dtype_name(t));
        if (t == IR_DTYPE_FLOAT)
            e.f = f;
        else if (t == IR_DTYPE_FLOAT16)
            e.u16 = ir_float_to_half(f);
        else if (t == IR_DTYPE_BFLOAT16)
            e.u16 = ir_float_to_bf16(f);
        TRY(next(ps));
    } else if (t == IR_DTYPE_UINT64) {
        if (!token_is_integer(ps) || ps->tok.text[0] == '-')
            return expected(ps, "an unsigned integer");
        errno = 0;
        e.u64 = strtoull(ps->tok.text, NULL, 10);
        if (errno == ERANGE)
            return error_at(ps, ps->tok.line, ps->tok.col,
                            "integer %s is out of range for u64", ps->tok.text);
        TRY(next(ps));
    } else {
        int64_t lo, hi, v;
        switch (t) {
        case IR_DTYPE_INT8:
            lo = INT8_MIN;
            hi = INT8_MAX;
            break;
        case IR_DTYPE_UINT8:
        case IR_DTYPE_BOOL:
            lo = 0;
            hi = UINT8_MAX;
            break;
        case IR_DTYPE_INT16:
            lo = INT16_MIN;
            hi = INT16_MAX;
            break;
        case IR_DTYPE_UINT16:
            lo = 0;
            hi = UINT16_MAX;
            break;
        case IR_DTYPE_INT32:
            lo = INT32_MIN;
            hi = INT32_MAX;
            break;
        case IR_DTYPE_UINT32:
            lo = 0;
            hi = UINT32_MAX;
            break;
        default:
            lo = INT64_MIN;
            hi = INT64_MAX;
            break;
        }
        TRY(read_int_in(ps, lo, hi, ir_dtype_name(t), &v));
        if (size == 1)
            e.u8 = (uint8_t)v;
        else if (size == 2)
            e.u16 = (uint16_t)v;
        else if (size == 4)
            e.u32 = (uint32_t)v;
        else
            e.u64 = (uint64_t)v;
    }
    buf_add(&ps->scratch, &e, size);
    return 0;
}

/* ---- types ---- */

static int
read_dtype(struct parser *ps, enum ir_dtype *out)
{
    if (ps->tok.kind != TOK_IDENT)
        return expected(ps, "a dtype such as f32 or i64");
    if (strcmp(ps->tok.text, "undef") == 0) {
        *out = IR_DTYPE_UNDEFINED;
    } else {
        *out = ir_dtype_from_name(ps->tok.text);
        if (*out == IR_DTYPE_UNDEFINED)
            return error_at(ps, ps->tok.line, ps->tok.col,
                            "unknown dtype '%s'; expected f32, f64, f16, "
                            "bf16, i8-i64, u8-u64, bool, string or undef",
                            ps->tok.text);
    }
    return next(ps);
}

static int
read_dim(struct parser *ps, struct ir_shape *s, int i)
{
    if (is_punct(ps, '?')) {
        s->dim[i] = -1;
        return next(ps);
    }
    if (ps->tok.kind == TOK_IDENT || ps->tok.kind == TOK_STRING) {
        int32_t sym = table_find(&ps->syms, ps->tok.text);
        if (sym == IR_NONE)
            return error_at(ps, ps->tok.line, ps->tok.col,
                            "undeclared symbol '%s'; declare it with "
                            "'sym %s = ?' first",
                            ps->tok.text, ps->tok.text);
        s->sym[i] = sym;
        s->dim[i] = -1;
        return next(ps);
    }
    if (ps->tok.kind == TOK_NUMBER)
        return read_int(ps, &s->dim[i]);
    return expected(ps, "a dim (an integer, '?' or a symbol)");
}

static int
read_type(struct parser *ps, enum ir_dtype *dtype, struct ir_shape *s)
{
    TRY(read_dtype(ps, dtype));
    *s = ir_shape_unknown();
    TRY(expect_punct(ps, '['));
    if (is_punct(ps, '*')) {
        TRY(next(ps));
        return expect_punct(ps, ']');
    }
    s->rank = 0;
    if (is_punct(ps, ']'))
        return next(ps);
    for (;;) {
        if (s->rank == IR_MAX_RANK)
            return error_at(ps, ps->tok.line, ps->tok.col,
                            "rank exceeds the maximum of %d", IR_MAX_RANK);
        TRY(read_dim(ps, s, s->rank));
        s->rank++;
        if (is_punct(ps, ']'))
            return next(ps);
        TRY(expect_separator(ps, ']'));
    }
}

/* ---- definitions and references ---- */

/* Add a value named by the current %name token; rejects redefinitions. */
static int
define_value(struct parser *ps, enum ir_value_kind kind, int32_t *out)
{
    if (ps->tok.kind != TOK_VALUE)
        return expected(ps, "a value name such as %x");
    if (table_find(&ps->values, ps->tok.text) != IR_NONE)
        return error_at(ps, ps->tok.line, ps->tok.col,
                        "redefinition of value %%%s", ps->tok.text);
    int32_t v =
        ir_value_add(ps->g, ps->tok.text, kind, IR_DTYPE_UNDEFINED, NULL);
    table_insert(&ps->values, ps->g->values[v].name, v);
    *out = v;
    return next(ps);
}

static void
add_fixup(struct parser *ps, enum fixup_kind kind, int32_t op, int slot)
{
    if (ps->n_fixups == ps->cap_fixups) {
        ps->cap_fixups = ps->cap_fixups ? 2 * ps->cap_fixups : 16;
        ps->fixups =
            ir_xrealloc(ps->fixups, ps->cap_fixups * sizeof(*ps->fixups));
    }
    struct fixup *f = &ps->fixups[ps->n_fixups++];
    f->kind = kind;
    f->op = op;
    f->slot = slot;
    f->name = ir_xstrdup(ps->tok.text);
    f->line = ps->tok.line;
    f->col = ps->tok.col;
}

/*
 * Read a %name reference.  A name not defined yet gets IR_NONE and a fixup
 * of the given kind, resolved once the whole graph is read.
 */
static int
read_ref(struct parser *ps, enum fixup_kind kind, int32_t op, int slot,
         int32_t *out)
{
    if (ps->tok.kind != TOK_VALUE)
        return expected(ps, "a value name such as %x");
    *out = table_find(&ps->values, ps->tok.text);
    if (*out == IR_NONE)
        add_fixup(ps, kind, op, slot);
    return next(ps);
}

static int
resolve_fixups(struct parser *ps)
{
    struct ir_graph *g = ps->g;
    for (size_t i = 0; i < ps->n_fixups; i++) {
        struct fixup *f = &ps->fixups[i];
        int32_t v = table_find(&ps->values, f->name);
        if (v == IR_NONE)
            return error_at(ps, f->line, f->col, "undefined value %%%s",
                            f->name);
        if (f->kind == FIX_OPERAND)
            g->ops[f->op].operands[f->slot] = v;
        else if (f->kind == FIX_TENSOR_ATTR)
            g->ops[f->op].attrs[f->slot].tensor = v;
        else
            ps->outputs[f->slot] = v;
    }
    return 0;
}

/* ---- statements ---- */

static int
parse_sym(struct parser *ps)
{
    TRY(next(ps));
    if (ps->tok.kind != TOK_IDENT && ps->tok.kind != TOK_STRING)
        return expected(ps, "a symbol name");
    if (table_find(&ps->syms, ps->tok.text) != IR_NONE)
        return error_at(ps, ps->tok.line, ps->tok.col,
                        "redefinition of symbol '%s'", ps->tok.text);
    int32_t sym = ir_sym_intern(ps->g, ps->tok.text);
    table_insert(&ps->syms, ps->g->syms[sym], sym);
    TRY(next(ps));
    TRY(expect_punct(ps, '='));
    if (is_punct(ps, '?'))
        return next(ps);
    return read_int_in(ps, 0, INT64_MAX, "symbol bound",
                       &ps->g->sym_bound[sym]);
}

static int
parse_input(struct parser *ps)
{
    int32_t v;
    TRY(next(ps));
    TRY(define_value(ps, IR_VALUE_INPUT, &v));
    TRY(expect_punct(ps, ':'));
    enum ir_dtype t;
    struct ir_shape s;
    TRY(read_type(ps, &t, &s));
    ps->g->values[v].dtype = t;
    ps->g->values[v].shape = s;
    ir_graph_add_input(ps->g, v);
    return 0;
}

static int
parse_dense(struct parser *ps, struct ir_value *v)
{
    int line = ps->tok.line, col = ps->tok.col;
    int64_t numel = ir_shape_numel(&v->shape);
    size_t esize = ir_dtype_size(v->dtype);
    if (numel < 0)
        return error_at(ps, line, col, "dense data needs a static shape");
    if (esize == 0 || v->dtype == IR_DTYPE_STRING)
        return error_at(ps, line, col,
                        "dense data is not supported for dtype %s; "
                        "use bytes<\"...\">",
                        ir_dtype_name(v->dtype));
    TRY(next(ps));
    TRY(expect_punct(ps, '<'));
    ps->scratch.len = 0;
    int64_t count = 0;
    while (!is_punct(ps, '>')) {
        if (count > 0)
            TRY(expect_separator(ps, '>'));
        if (count == numel)
            return error_at(ps, ps->tok.line, ps->tok.col,
                            "too many elements: the shape holds %lld",
                            (long long)numel);
        TRY(read_element(ps, v->dtype));
        count++;
    }
    if (count != numel)
        return error_at(ps, ps->tok.line, ps->tok.col,
                        "%lld elements given, but the shape holds %lld",
                        (long long)count, (long long)numel);
    TRY(next(ps));
    v->data = ir_xmalloc(ps->scratch.len);
    if (ps->scratch.len)
        memcpy(v->data, ps->scratch.data, ps->scratch.len);
    v->nbytes = ps->scratch.len;
    return 0;
}

static int
parse_bytes(struct parser *ps, struct ir_value *v)
{
    TRY(next(ps));
    TRY(expect_punct(ps, '<'));
    if (ps->tok.kind != TOK_STRING)
        return expected(ps, "a string of hex digits");
    const char *s = ps->tok.text;
    size_t n = strlen(s);
    if (n % 2 != 0)
        return error_at(ps, ps->tok.line, ps->tok.col,
                        "bytes need an even number of hex digits");
    unsigned char *data = ir_xmalloc(n / 2);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(data);
            return error_at(ps, ps->tok.line, ps->tok.col,
                            "invalid hex digit in bytes");
        }
        data[i] = (unsigned char)(hi * 16 + lo);
    }
    v->data = data;
    v->nbytes = n / 2;
    TRY(next(ps));
    return expect_punct(ps, '>');
}

static int
parse_elided(struct parser *ps, struct ir_value *v)
{
    int64_t n;
    TRY(next(ps));
    TRY(expect_punct(ps, '<'));
    TRY(read_int_in(ps, ELIDED_HEADER, (int64_t)ELIDED_MAX_BYTES,
                    "elided byte count", &n));
    TRY(expect_keyword(ps, "bytes"));
    TRY(expect_punct(ps, ','));
    TRY(expect_keyword(ps, "fnv1a"));
    const char *h = ps->tok.text;
    if (ps->tok.kind != TOK_NUMBER || h[0] != '0' || h[1] != 'x' ||
        strlen(h) < 3 || strlen(h) > 18 ||
        strspn(h + 2, "0123456789abcdefABCDEF") != strlen(h + 2))
        return expected(ps, "a hash such as 0x0123456789abcdef");
    uint64_t hash = strtoull(h + 2, NULL, 16);
    TRY(next(ps));
    TRY(expect_punct(ps, '>'));

    unsigned char *data = ir_xcalloc((size_t)n, 1);
    memcpy(data, ELIDED_MAGIC, 8);
    memcpy(data + 8, &hash, sizeof(hash));
    v->data = data;
    v->nbytes = (size_t)n;
    return 0;
}

static int
parse_const(struct parser *ps)
{
    int32_t id;
    TRY(next(ps));
    TRY(define_value(ps, IR_VALUE_CONST, &id));
    TRY(expect_punct(ps, ':'));
    enum ir_dtype t;
    struct ir_shape s;
    TRY(read_type(ps, &t, &s));
    struct ir_value *v = &ps->g->values[id];
    v->dtype = t;
    v->shape = s;
    TRY(expect_punct(ps, '='));
    if (is_keyword(ps, "dense"))
        return parse_dense(ps, v);
    if (is_keyword(ps, "bytes"))
        return parse_bytes(ps, v);
    if (is_keyword(ps, "elided"))
        return parse_elided(ps, v);
    if (is_keyword(ps, "null"))
        return next(ps);
    return expected(ps, "dense<...>, bytes<...>, elided<...> or null");
}

/* Element kinds of a list attribute, from a prefix or the elements. */
enum list_kind { LIST_UNKNOWN, LIST_INTS, LIST_FLOATS, LIST_STRINGS };

static void
free_strings(struct parser *ps)
{
    for (size_t i = 0; i < ps->n_strings; i++)
        free(ps->strings[i]);
    ps->n_strings = 0;
}

/*
 * Read one list element.  Every number is stored in ps->scratch as an
 * int64 and a double side by side, so a list that turns out to hold floats
 * after some integers keeps the earlier elements.  typed is true when the
 * list had an ints/floats/strings prefix, which fixes its kind.
 */
static int
read_list_element(struct parser *ps, enum list_kind *kind, bool typed)
{
    if (ps->tok.kind == TOK_STRING) {
        if (*kind != LIST_UNKNOWN && *kind != LIST_STRINGS)
            return expected(ps, "a number");
        *kind = LIST_STRINGS;
        if (ps->n_strings == ps->cap_strings) {
            ps->cap_strings = ps->cap_strings ? 2 * ps->cap_strings : 8;
            ps->strings =
                ir_xrealloc(ps->strings, ps->cap_strings * sizeof(char *));
        }
        ps->strings[ps->n_strings++] = ir_xstrdup(ps->tok.text);
        return next(ps);
    }
    if (*kind == LIST_STRINGS)
        return expected(ps, "a string");
    if (!is_number_token(ps))
        return expected(ps, "a number or a string");

    double d = 0;
    int64_t i = 0;
    if (token_is_integer(ps) && *kind != LIST_FLOATS) {
        TRY(read_int(ps, &i));
        d = (double)i;
        *kind = LIST_INTS;
    } else {
        if (typed && *kind == LIST_INTS)
            return expected(ps, "an integer");
        TRY(read_double(ps, &d));
        *kind = LIST_FLOATS;
    }
    buf_add(&ps->scratch, &i, sizeof(i));
    buf_add(&ps->scratch, &d, sizeof(d));
    return 0;
}

/* Read a list attribute value and set it on op. */
static int
parse_list_attr(struct parser *ps, struct ir_op *op, const char *name)
{
    enum list_kind kind = LIST_UNKNOWN;
    if (is_keyword(ps, "ints"))
        kind = LIST_INTS;
    else if (is_keyword(ps, "floats"))
        kind = LIST_FLOATS;
    else if (is_keyword(ps, "strings"))
        kind = LIST_STRINGS;
    bool typed = kind != LIST_UNKNOWN;
    if (typed)
        TRY(next(ps));
    int line = ps->tok.line, col = ps->tok.col;
    TRY(expect_punct(ps, '['));

    ps->scratch.len = 0;
    free_strings(ps);
    size_t count = 0;
    while (!is_punct(ps, ']')) {
        if (count > 0)
            TRY(expect_separator(ps, ']'));
        if (count >= INT32_MAX / 2)
            return error_at(ps, ps->tok.line, ps->tok.col, "list too long");
        TRY(read_list_element(ps, &kind, typed));
        count++;
    }
    TRY(next(ps));
    if (kind == LIST_UNKNOWN)
        return error_at(ps, line, col,
                        "an empty list needs its type: write ints[], "
                        "floats[] or strings[]");

    struct ir_attr a;
    memset(&a, 0, sizeof(a));
    a.name = (char *)name;
    a.n = (int)count;
    a.tensor = IR_NONE;
    if (kind == LIST_STRINGS) {
        a.kind = IR_ATTR_STRINGS;
        a.strings = ps->strings;
        ir_op_set_attr(op, &a);
        free_strings(ps);
        return 0;
    }
    int64_t *ints = ir_xmalloc(sizeof(int64_t) * (count + 1));
    double *floats = ir_xmalloc(sizeof(double) * (count + 1));
    for (size_t k = 0; k < count; k++) {
        memcpy(&ints[k], ps->scratch.data + k * 16, sizeof(int64_t));
        memcpy(&floats[k], ps->scratch.data + k * 16 + 8, sizeof(double));
    }
    if (kind == LIST_INTS)
        ir_op_set_ints(op, name, ints, (int)count);
    else
        ir_op_set_floats(op, name, floats, (int)count);
    free(ints);
    free(floats);
    return 0;
}

static int
parse_attr(struct parser *ps, int32_t op_id)
{
    struct ir_op *op = &ps->g->ops[op_id];
    if (ps->tok.kind != TOK_IDENT && ps->tok.kind != TOK_STRING)
        return expected(ps, "an attribute name");
    if (op->n_attrs >= ATTRS_MAX)
        return error_at(ps, ps->tok.line, ps->tok.col,
                        "more than %d attributes", ATTRS_MAX);
    if (ir_op_attr(op, ps->tok.text))
        return error_at(ps, ps->tok.line, ps->tok.col,
                        "duplicate attribute '%s'", ps->tok.text);
    char *name = ir_xstrdup(ps->tok.text);
    int rc = next(ps);
    if (rc == 0)
        rc = expect_punct(ps, '=');
    if (rc < 0) {
        free(name);
        return -1;
    }

    if (token_is_integer(ps)) {
        int64_t i;
        rc = read_int(ps, &i);
        if (rc == 0)
            ir_op_set_int(op, name, i);
    } else if (is_number_token(ps)) {
        double d;
        rc = read_double(ps, &d);
        if (rc == 0)
            ir_op_set_float(op, name, d);
    } else if (ps->tok.kind == TOK_STRING) {
        ir_op_set_string(op, name, ps->tok.text);
        rc = next(ps);
    } else if (ps->tok.kind == TOK_VALUE) {
        struct ir_attr a;
        memset(&a, 0, sizeof(a));
        a.name = name;
        a.kind = IR_ATTR_TENSOR;
        int slot = op->n_attrs;
        rc = read_ref(ps, FIX_TENSOR_ATTR, op_id, slot, &a.tensor);
        if (rc == 0)
            ir_op_set_attr(op, &a);
    } else {
        rc = parse_list_attr(ps, op, name);
    }
    free(name);
    return rc;
}

/* Read the operand list of op_id, then replace the op's operands. */
static int
parse_operands(struct parser *ps, int32_t op_id)
{
    TRY(expect_punct(ps, '('));
    ps->scratch.len = 0;
    int n = 0;
    while (!is_punct(ps, ')')) {
        if (n > 0)
            TRY(expect_separator(ps, ')'));
        if (n == INT32_MAX / 8)
            return error_at(ps, ps->tok.line, ps->tok.col, "too many operands");
        int32_t v = IR_NONE;
        if (is_keyword(ps, "_"))
            TRY(next(ps));
        else
            TRY(read_ref(ps, FIX_OPERAND, op_id, n, &v));
        buf_add(&ps->scratch, &v, sizeof(v));
        n++;
    }
    TRY(next(ps));
    struct ir_op *op = &ps->g->ops[op_id];
    free(op->operands);
    op->operands = ir_xmalloc(sizeof(int32_t) * (size_t)(n + 1));
    if (n)
        memcpy(op->operands, ps->scratch.data, sizeof(int32_t) * (size_t)n);
    op->n_operands = n;
    return 0;
}

/* Read the results' types, one per result. */
static int
parse_result_types(struct parser *ps, int32_t op_id)
{
    int n = ps->g->ops[op_id].n_results;
    if (n == 0)
        return 0;
    TRY(expect_punct(ps, ':'));
    for (int i = 0; i < n; i++) {
        if (i > 0)
            TRY(expect_punct(ps, ','));
        enum ir_dtype t;
        struct ir_shape s;
        TRY(read_type(ps, &t, &s));
        struct ir_value *v = &ps->g->values[ps->g->ops[op_id].results[i]];
        v->dtype = t;
        v->shape = s;
    }
    return 0;
}

/* Read the optional trailer: @name, opset N and dead. */
static int
parse_op_trailer(struct parser *ps, int32_t op_id)
{
    if (ps->tok.kind == TOK_AT) {
        if (ps->tok.text[0]) {
            struct ir_op *op = &ps->g->ops[op_id];
            free(op->name);
            op->name = ir_xstrdup(ps->tok.text);
        }
        TRY(next(ps));
    }
    if (is_keyword(ps, "opset")) {
        int64_t v;
        TRY(next(ps));
        TRY(read_int_in(ps, 0, INT32_MAX, "opset", &v));
        ps->g->ops[op_id].opset = (int)v;
    }
    if (is_keyword(ps, "dead")) {
        ps->g->ops[op_id].dead = true;
        TRY(next(ps));
    }
    return 0;
}

/* Read an op statement; the current token is its first result or kind. */
static int
parse_op(struct parser *ps)
{
    struct ir_graph *g = ps->g;
    ps->scratch.len = 0;
    if (ps->tok.kind == TOK_VALUE) {
        for (;;) {
            int32_t v = IR_NONE;
            if (ps->scratch.len / sizeof(v) >= INT32_MAX / 8)
                return error_at(ps, ps->tok.line, ps->tok.col,
                                "too many results");
            TRY(define_value(ps, IR_VALUE_RESULT, &v));
            buf_add(&ps->scratch, &v, sizeof(v));
            if (!is_punct(ps, ','))
                break;
            TRY(next(ps));
        }
        TRY(expect_punct(ps, '='));
    }
    if (ps->tok.kind != TOK_IDENT)
        return expected(ps, "an op such as MatMul");
    enum ir_op_kind kind = ir_op_kind_from_name(ps->tok.text);
    if (kind == IR_OP_COUNT)
        return error_at(ps, ps->tok.line, ps->tok.col, "unknown op '%s'",
                        ps->tok.text);
    int n_results = (int)(ps->scratch.len / sizeof(int32_t));
    int32_t id = ir_op_add(g, kind, NULL, g->opset, NULL, 0,
                           (const int32_t *)ps->scratch.data, n_results);
    TRY(next(ps));

    TRY(parse_operands(ps, id));
    if (is_punct(ps, '{')) {
        TRY(next(ps));
        for (int i = 0; !is_punct(ps, '}'); i++) {
            if (i > 0)
                TRY(expect_separator(ps, '}'));
            TRY(parse_attr(ps, id));
        }
        TRY(next(ps));
    }
    TRY(parse_result_types(ps, id));
    return parse_op_trailer(ps, id);
}

static int
parse_output(struct parser *ps)
{
    TRY(next(ps));
    for (;;) {
        if (ps->n_outputs == ps->cap_outputs) {
            ps->cap_outputs = ps->cap_outputs ? 2 * ps->cap_outputs : 8;
            ps->outputs =
                ir_xrealloc(ps->outputs, ps->cap_outputs * sizeof(int32_t));
        }
        if (ps->n_outputs >= INT32_MAX / 8)
            return error_at(ps, ps->tok.line, ps->tok.col, "too many outputs");
        int slot = (int)ps->n_outputs++;
        TRY(read_ref(ps, FIX_OUTPUT, IR_NONE, slot, &ps->outputs[slot]));
        if (!is_punct(ps, ','))
            return 0;
        TRY(next(ps));
    }
}

static int
parse_graph(struct parser *ps)
{
    TRY(next(ps));
    TRY(expect_keyword(ps, "graph"));
    if (ps->tok.kind != TOK_AT)
        return expected(ps, "a graph name such as @main");
    ps->g = ir_graph_new(ps->tok.text);
    TRY(next(ps));
    TRY(expect_keyword(ps, "opset"));
    int64_t opset;
    TRY(read_int_in(ps, 0, INT32_MAX, "opset", &opset));
    ps->g->opset = (int)opset;
    TRY(expect_punct(ps, '{'));

    while (!is_punct(ps, '}')) {
        if (ps->tok.kind == TOK_EOF)
            return expected(ps, "'}' at the end of the graph");
        if (is_keyword(ps, "sym"))
            TRY(parse_sym(ps));
        else if (is_keyword(ps, "input"))
            TRY(parse_input(ps));
        else if (is_keyword(ps, "const"))
            TRY(parse_const(ps));
        else if (is_keyword(ps, "output"))
            TRY(parse_output(ps));
        else if (ps->tok.kind == TOK_VALUE || ps->tok.kind == TOK_IDENT)
            TRY(parse_op(ps));
        else
            return expected(ps, "a statement");
    }
    TRY(next(ps));
    if (ps->tok.kind != TOK_EOF)
        return expected(ps, "end of file after the graph");

    TRY(resolve_fixups(ps));
    for (size_t i = 0; i < ps->n_outputs; i++)
        ir_graph_add_output(ps->g, ps->outputs[i]);
    ir_graph_fill_uses(ps->g);
    return 0;
}

struct ir_graph *
ir_parse(const char *text, const char *filename)
{
    struct parser ps;
    memset(&ps, 0, sizeof(ps));
    ps.file = filename ? filename : "<input>";
    ps.p = text;
    ps.line = 1;
    ps.line_start = text;

    int rc = parse_graph(&ps);
    struct ir_graph *g = ps.g;
    if (rc < 0) {
        ir_graph_free(g);
        g = NULL;
    }

    free(ps.text.data);
    free(ps.scratch.data);
    table_free(&ps.values);
    table_free(&ps.syms);
    for (size_t i = 0; i < ps.n_fixups; i++)
        free(ps.fixups[i].name);
    free(ps.fixups);
    free(ps.outputs);
    free_strings(&ps);
    free(ps.strings);
    return g;
}
