/* Typed test asserts: on failure print file:line, the expressions and both
 * values, then exit(1).  (libuv's ASSERT_EQ style.) */
#ifndef MPISNAP_TEST_ASSERT_H
#define MPISNAP_TEST_ASSERT_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a failed assertion does after printing.  A test may define it before
 * including this file: the MPI tests (tests/common/mpitest.h) record the
 * failure and go on, so that every rank can agree on the result. */
#ifndef ASSERT_ON_FAILURE
#define ASSERT_ON_FAILURE() exit(1)
#endif

#define ASSERT_FAIL_(...)                                                      \
    do {                                                                       \
        fprintf(stderr, "%s:%d: assertion failed: ", __FILE__, __LINE__);      \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        ASSERT_ON_FAILURE();                                                   \
    } while (0)

#define ASSERT_TRUE(a)                                                         \
    do {                                                                       \
        if (!(a))                                                              \
            ASSERT_FAIL_("%s", #a);                                            \
    } while (0)

#define ASSERT_EQ_INT(a, b)                                                    \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_)                                                          \
            ASSERT_FAIL_("%s == %s (%lld != %lld)", #a, #b, a_, b_);           \
    } while (0)

/* a OP b on integers, e.g. ASSERT_CMP_INT(n, >=, 1). */
#define ASSERT_CMP_INT(a, op, b)                                               \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (!(a_ op b_))                                                       \
            ASSERT_FAIL_("%s %s %s (%lld vs %lld)", #a, #op, #b, a_, b_);      \
    } while (0)

#define ASSERT_NE_INT(a, b) ASSERT_CMP_INT(a, !=, b)

/* a OP b on doubles, e.g. ASSERT_CMP_DBL(elapsed, >=, 0.15). */
#define ASSERT_CMP_DBL(a, op, b)                                               \
    do {                                                                       \
        double a_ = (a), b_ = (b);                                             \
        if (!(a_ op b_))                                                       \
            ASSERT_FAIL_("%s %s %s (%.17g vs %.17g)", #a, #op, #b, a_, b_);    \
    } while (0)

#define ASSERT_EQ_U64(a, b)                                                    \
    do {                                                                       \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                       \
        if (a_ != b_)                                                          \
            ASSERT_FAIL_("%s == %s (%" PRIu64 " != %" PRIu64 ")", #a, #b, a_,  \
                         b_);                                                  \
    } while (0)

#define ASSERT_EQ_DBL(a, b)                                                    \
    do {                                                                       \
        double a_ = (a), b_ = (b);                                             \
        if (a_ != b_)                                                          \
            ASSERT_FAIL_("%s == %s (%.17g != %.17g)", #a, #b, a_, b_);         \
    } while (0)

#define ASSERT_STREQ(a, b)                                                     \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                 \
            ASSERT_FAIL_("%s == %s (\"%s\" != \"%s\")", #a, #b,                \
                         a_ ? a_ : "(null)", b_ ? b_ : "(null)");              \
    } while (0)

/* Prints the first differing byte. */
#define ASSERT_MEMEQ(a, b, n)                                                  \
    do {                                                                       \
        const unsigned char *a_ = (const void *)(a), *b_ = (const void *)(b);  \
        size_t n_ = (n);                                                       \
        for (size_t i_ = 0; i_ < n_; i_++)                                     \
            if (a_[i_] != b_[i_])                                              \
                ASSERT_FAIL_("%s == %s over %zu bytes (byte %zu: 0x%02x != "   \
                             "0x%02x)",                                        \
                             #a, #b, n_, i_, a_[i_], b_[i_]);                  \
    } while (0)

/* The haystack contains the needle. */
#define ASSERT_STRSTR(hay, needle)                                             \
    do {                                                                       \
        const char *h_ = (hay), *n_ = (needle);                                \
        if (!h_ || !strstr(h_, n_))                                            \
            ASSERT_FAIL_("\"%s\" contains \"%s\"", h_ ? h_ : "(null)", n_);    \
    } while (0)

#endif
