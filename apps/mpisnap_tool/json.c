/* A small streaming JSON writer on stdout, indented by two spaces. */
#include <math.h>
#include <stdio.h>

#include "tool.h"

enum { MAXDEPTH = 32 };
static int depth, count[MAXDEPTH];

static void str(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", stdout);
        else if (*p == '\t')
            fputs("\\t", stdout);
        else if (*p < 0x20 || *p >= 0x7f)
            printf("\\u%04x", *p); /* names are ASCII; keep it valid */
        else
            putchar(*p);
    }
    putchar('"');
}

/* Comma, newline and indentation before a value, then "key": */
static void item(const char *key)
{
    if (depth > 0) {
        if (count[depth - 1]++)
            putchar(',');
        printf("\n%*s", 2 * depth, "");
    }
    if (key) {
        str(key);
        fputs(": ", stdout);
    }
}

static void open_(const char *key, char c)
{
    item(key);
    putchar(c);
    if (depth < MAXDEPTH)
        count[depth] = 0;
    depth++;
}

static void close_(char c)
{
    depth--;
    if (depth < MAXDEPTH && count[depth])
        printf("\n%*s", 2 * depth, "");
    putchar(c);
}

void js_begin_obj(const char *key)
{
    open_(key, '{');
}

void js_end_obj(void)
{
    close_('}');
}

void js_begin_arr(const char *key)
{
    open_(key, '[');
}

void js_end_arr(void)
{
    close_(']');
}

void js_str(const char *key, const char *v)
{
    item(key);
    if (v)
        str(v);
    else
        fputs("null", stdout);
}

void js_int(const char *key, long long v)
{
    item(key);
    printf("%lld", v);
}

void js_u64(const char *key, uint64_t v)
{
    item(key);
    printf("%llu", (unsigned long long)v);
}

void js_num(const char *key, double v)
{
    item(key);
    if (isfinite(v))
        printf("%.17g", v);
    else
        fputs("null", stdout);
}

void js_bool(const char *key, int v)
{
    item(key);
    fputs(v ? "true" : "false", stdout);
}

void js_raw(const char *key, const char *literal)
{
    item(key);
    fputs(literal, stdout);
}

void js_done(void)
{
    putchar('\n');
}
