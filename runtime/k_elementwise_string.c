/*
 * Casts between strings and numbers.  A string tensor contains one pointer to
 * a NUL-terminated string per element.  Numbers print as numpy's str()
 * prints them, the shortest digits that read back to the same value, and
 * strings parse in the "C" locale whatever the process's locale is: neither
 * direction ever writes or reads a locale's decimal point.
 */
#include "k_elementwise.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of one formatted number, NUL included; "-1.2345678901234567e-308" is
 * the longest. */
#define NUMBER_SLOT 32
/* The decimal exponent is clamped to +-EXP_LIMIT after the mantissa's digits
 * are counted in.  With at most MAX_DIGITS + 1 digits, the clamped value still
 * overflows or underflows in strtod. */
#define EXP_LIMIT 100000
/* The exponent written in a string is read up to this, far more than the
 * digits any string can contain. */
#define EXP_READ_LIMIT ((int64_t)1 << 56)
/* Digits kept from a parsed mantissa, more than the 767 significant digits
 * of the longest exact double. */
#define MAX_DIGITS 800

static bool
is_float_type(int32_t t)
{
    return t == RT_FLOAT || t == RT_DOUBLE || t == RT_FLOAT16 ||
           t == RT_BFLOAT16;
}

/* Whether "<m>e<e10>" reads back as v in dtype t. */
static bool
reads_back(uint64_t m, int e10, int32_t t, double v)
{
    char buf[48];
    snprintf(buf, sizeof(buf), "%llue%d", (unsigned long long)m, e10);
    switch (t) {
    case RT_FLOAT:
        return strtof(buf, NULL) == (float)v;
    case RT_FLOAT16:
        return rt_f16_from_double(strtod(buf, NULL)) == rt_f16_from_double(v);
    case RT_BFLOAT16:
        return rt_bf16_from_double(strtod(buf, NULL)) == rt_bf16_from_double(v);
    default:
        return strtod(buf, NULL) == v;
    }
}

/*
 * The shortest digits that read back as v (> 0 and finite) in dtype t:
 * the value is 0.d1d2... * 10^(*point).  Of several candidates of one
 * length the closest to v wins, as with numpy's Dragon4.  printf rounds
 * correctly, so its p-digit result is the closest.  Next to a power of
 * two the gaps to the neighbours differ, so there a neighbour of that
 * result can read back when the result itself does not.
 */
static int
shortest_digits(double v, int32_t t, char *digits, int *point)
{
    int max = 5; /* float16 and bfloat16 */
    if (t == RT_DOUBLE)
        max = 17;
    else if (t == RT_FLOAT)
        max = 9;
    for (int p = 1; p <= max; p++) {
        char buf[64];
        snprintf(buf, sizeof(buf), "%.*e", p - 1, v);
        uint64_t m = 0;
        const char *s = buf;
        for (; *s && *s != 'e'; s++)
            if (*s >= '0' && *s <= '9')
                m = m * 10 + (uint64_t)(*s - '0');
        int e = *s == 'e' ? atoi(s + 1) : 0;
        uint64_t lo = 1, hi;
        for (int i = 1; i < p; i++)
            lo *= 10;
        hi = lo * 10;
        uint64_t cands[3] = {m, m + 1, m - 1};
        for (int c = 0; c < 3; c++) {
            if (cands[c] < lo || cands[c] >= hi)
                continue;
            if (p < max && !reads_back(cands[c], e - (p - 1), t, v))
                continue;
            int n = snprintf(digits, 24, "%llu", (unsigned long long)cands[c]);
            while (n > 1 && digits[n - 1] == '0')
                digits[--n] = 0;
            *point = e + 1;
            return n;
        }
    }
    return 0; /* not reached: max digits always read back */
}

/*
 * Write v, a value of dtype t, as numpy's str() writes it: "nan", "inf",
 * positional ("0.5", "3.0") when 1e-4 <= |v| < 1e16, otherwise scientific
 * with a two-digit exponent at least ("1e-05", "1.5e+20").
 */
static void
format_float(double v, int32_t t, char *out)
{
    if (isnan(v)) {
        strcpy(out, "nan");
        return;
    }
    char *o = out;
    if (signbit(v))
        *o++ = '-';
    double a = fabs(v);
    if (isinf(a)) {
        strcpy(o, "inf");
        return;
    }
    if (a == 0) {
        strcpy(o, "0.0");
        return;
    }
    char d[24];
    int point = 0, n = shortest_digits(a, t, d, &point);
    if (a >= 1e-4 && a < 1e16) {
        if (point <= 0) {
            *o++ = '0';
            *o++ = '.';
            for (int i = 0; i < -point; i++)
                *o++ = '0';
            memcpy(o, d, (size_t)n);
            o += n;
        } else {
            for (int i = 0; i < point; i++)
                *o++ = i < n ? d[i] : '0';
            *o++ = '.';
            if (n > point) {
                memcpy(o, d + point, (size_t)(n - point));
                o += n - point;
            } else {
                *o++ = '0';
            }
        }
        *o = 0;
        return;
    }
    *o++ = d[0];
    if (n > 1) {
        *o++ = '.';
        memcpy(o, d + 1, (size_t)(n - 1));
        o += n - 1;
    }
    int e = point - 1;
    snprintf(o, NUMBER_SLOT - (size_t)(o - out), "e%c%02d", e < 0 ? '-' : '+',
             e < 0 ? -e : e);
}

int
rt_cast_to_string(struct rt_ctx *ctx, const struct rt_node *node, const void *x,
                  int32_t from, const char **y, int64_t n)
{
    if (from == RT_BOOL || from == RT_STRING || rt_dtype_size(from) == 0)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "Cast from dtype %d to string is not supported",
                       (int)from);
    if (n == 0)
        return RT_OK;
    char *slots = rt_strings_alloc(ctx, (size_t)n * NUMBER_SLOT);
    if (!slots)
        return rt_fail(ctx, node, RT_ERR_MEMORY,
                       "no memory for %lld strings of up to %d bytes",
                       (long long)n, NUMBER_SLOT);
    for (int64_t i = 0; i < n; i++) {
        char *s = slots + (size_t)i * NUMBER_SLOT;
        if (from == RT_FLOAT16)
            format_float(rt_f16_to_double(((const uint16_t *)x)[i]), from, s);
        else if (from == RT_BFLOAT16)
            format_float(rt_bf16_to_double(((const uint16_t *)x)[i]), from, s);
        else if (is_float_type(from))
            format_float(rt_load_f64(x, from, i), from, s);
        else if (from == RT_UINT64)
            snprintf(s, NUMBER_SLOT, "%llu",
                     (unsigned long long)((const uint64_t *)x)[i]);
        else
            snprintf(s, NUMBER_SLOT, "%lld",
                     (long long)rt_load_i64(x, from, i));
        y[i] = s;
    }
    return RT_OK;
}

/* A parsed number: a special value, an integer, or a decimal fraction. */
struct number {
    enum { NUM_NAN, NUM_INF, NUM_INT, NUM_DECIMAL } kind;
    bool negative;
    uint64_t int_value;         /* NUM_INT: an integer that fits in 64 bits */
    char text[MAX_DIGITS + 32]; /* NUM_DECIMAL: "<digits>e<exp>" */
};

static bool
match_word(const char **s, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i < n; i++) {
        char c = (*s)[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return false;
    }
    *s += n;
    return true;
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

/*
 * Parse s: optional spaces, a sign, then "inf", "infinity" or "nan" in any
 * case, or digits with an optional fraction and exponent ("1", "-2.5",
 * ".5", "1E8"), then optional spaces.  Returns false for anything else.
 */
static bool
parse_number(const char *s, struct number *num)
{
    while (is_space(*s))
        s++;
    num->negative = *s == '-';
    if (*s == '+' || *s == '-')
        s++;
    if (match_word(&s, "infinity") || match_word(&s, "inf")) {
        num->kind = NUM_INF;
    } else if (match_word(&s, "nan")) {
        num->kind = NUM_NAN;
    } else {
        /* Digits past MAX_DIGITS only matter when they break a tie, so a
         * nonzero one among them becomes a final 1 (a sticky digit). */
        char digits[MAX_DIGITS + 2];
        int n = 0;
        int64_t dropped = 0, frac = 0, seen = 0;
        bool is_int = true, sticky = false;
        for (; *s >= '0' && *s <= '9'; s++, seen++) {
            if (n == 0 && *s == '0')
                continue;
            if (n < MAX_DIGITS) {
                digits[n++] = *s;
            } else {
                dropped++;
                sticky |= *s != '0';
            }
        }
        if (*s == '.') {
            is_int = false;
            for (s++; *s >= '0' && *s <= '9'; s++, seen++) {
                if (n == 0 && *s == '0') {
                    frac++;
                } else if (n < MAX_DIGITS) {
                    digits[n++] = *s;
                    frac++;
                } else {
                    sticky |= *s != '0';
                }
            }
        }
        if (seen == 0)
            return false;
        int64_t e10 = 0;
        if (*s == 'e' || *s == 'E') {
            is_int = false;
            s++;
            bool neg = *s == '-';
            if (*s == '+' || *s == '-')
                s++;
            if (*s < '0' || *s > '9')
                return false;
            for (; *s >= '0' && *s <= '9'; s++)
                if (e10 < EXP_READ_LIMIT)
                    e10 = e10 * 10 + (*s - '0');
            if (neg)
                e10 = -e10;
        }
        if (sticky) {
            digits[n++] = '1';
            frac++;
        }
        digits[n] = 0;
        num->kind = NUM_DECIMAL;
        if (is_int && dropped == 0 && n <= 20) {
            uint64_t v = 0;
            bool fits = true;
            for (int i = 0; i < n && fits; i++) {
                uint64_t d = (uint64_t)(digits[i] - '0');
                fits = v <= (UINT64_MAX - d) / 10;
                v = v * 10 + d;
            }
            if (fits) {
                num->kind = NUM_INT;
                num->int_value = v;
            }
        }
        int64_t exponent = e10 - frac + dropped;
        if (exponent > EXP_LIMIT)
            exponent = EXP_LIMIT;
        else if (exponent < -EXP_LIMIT)
            exponent = -EXP_LIMIT;
        snprintf(num->text, sizeof(num->text), "%se%lld", n ? digits : "0",
                 (long long)exponent);
    }
    while (is_space(*s))
        s++;
    return *s == 0;
}

/* The number as a double, rounded once. */
static double
number_to_double(const struct number *num)
{
    double v;
    if (num->kind == NUM_NAN)
        v = NAN;
    else if (num->kind == NUM_INF)
        v = INFINITY;
    else
        v = strtod(num->text, NULL);
    return num->negative ? -v : v;
}

/* Write the number into element i of y, of dtype to. */
static void
store_number(const struct number *num, void *y, int32_t to, int64_t i)
{
    if (to == RT_FLOAT) {
        float f = num->kind == NUM_NAN   ? NAN
                  : num->kind == NUM_INF ? INFINITY
                                         : strtof(num->text, NULL);
        ((float *)y)[i] = num->negative ? -f : f;
        return;
    }
    if (is_float_type(to) || num->kind != NUM_INT) {
        double v = number_to_double(num);
        rt_cast_from_double(&v, to, (char *)y + (size_t)i * rt_dtype_size(to));
        return;
    }
    /* An integer string converts exactly, saturating at the type's ends. */
    uint64_t u = num->int_value;
    int64_t s;
    if (!num->negative)
        s = u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)u;
    else
        s = u > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)u;
    if (to == RT_UINT64) {
        ((uint64_t *)y)[i] = num->negative ? 0 : u;
        return;
    }
    if (to == RT_INT64) {
        ((int64_t *)y)[i] = s;
        return;
    }
    double v = (double)s;
    rt_cast_from_double(&v, to, (char *)y + (size_t)i * rt_dtype_size(to));
}

/* Copy at most 40 bytes of s into out, escaping what is not printable. */
static void
quote(const char *s, char *out, size_t size)
{
    size_t at = 0;
    for (; *s && at + 8 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (at >= 40) {
            strcpy(out + at, "...");
            return;
        }
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
            out[at++] = (char)c;
        else
            at += (size_t)snprintf(out + at, size - at, "\\x%02x", c);
    }
    out[at] = 0;
}

int
rt_cast_from_string(struct rt_ctx *ctx, const struct rt_node *node,
                    const char *const *x, void *y, int32_t to, int64_t n)
{
    if (to == RT_BOOL || to == RT_STRING || rt_dtype_size(to) == 0)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "Cast from string to dtype %d is not supported",
                       (int)to);
    struct number num;
    for (int64_t i = 0; i < n; i++) {
        if (!x[i])
            return rt_fail(ctx, node, RT_ERR_RUNTIME,
                           "input string %lld is a NULL pointer", (long long)i);
        if (!parse_number(x[i], &num)) {
            char q[64];
            quote(x[i], q, sizeof(q));
            return rt_fail(ctx, node, RT_ERR_RUNTIME,
                           "input string %lld is \"%s\", which is not a "
                           "number",
                           (long long)i, q);
        }
        store_number(&num, y, to, i);
    }
    return RT_OK;
}
