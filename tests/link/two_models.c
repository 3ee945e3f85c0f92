/*
 * Links two generated libraries into one program: the tiny model compiled
 * for sequence length 8 under the prefix first_ and for length 5 under
 * second_.  Each library must report its own shapes, give the same result
 * when run twice, and differ from the other on different inputs.
 */
#include "first.h"
#include "second.h"

#include <stdio.h>
#include <string.h>

static int
run_first(float *hidden, float *pooled)
{
    int64_t ids[8] = {3, 1, 4, 1, 5, 9, 2, 6};
    int64_t mask[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    int64_t shape[2] = {1, 8};
    struct onnxc_tensor in[2] = {{ids, shape, 2, ONNXC_INT64},
                                 {mask, shape, 2, ONNXC_INT64}};
    struct onnxc_tensor out[2] = {
        {hidden, first_output_shape(0), 3, ONNXC_FLOAT},
        {pooled, first_output_shape(1), 2, ONNXC_FLOAT}};
    first_session_t *s;
    if (first_create(1, &s) != ONNXC_OK)
        return 1;
    int rc = first_run(s, in, 2, out, 2);
    if (rc)
        fprintf(stderr, "first_run: %s\n", first_last_error(s));
    first_destroy(s);
    return rc;
}

static int
run_second(float *hidden, float *pooled)
{
    int64_t ids[5] = {3, 1, 4, 1, 5};
    int64_t mask[5] = {1, 1, 1, 1, 1};
    int64_t shape[2] = {1, 5};
    struct onnxc_tensor in[2] = {{ids, shape, 2, ONNXC_INT64},
                                 {mask, shape, 2, ONNXC_INT64}};
    struct onnxc_tensor out[2] = {
        {hidden, second_output_shape(0), 3, ONNXC_FLOAT},
        {pooled, second_output_shape(1), 2, ONNXC_FLOAT}};
    second_session_t *s;
    if (second_create(2, &s) != ONNXC_OK)
        return 1;
    int rc = second_run(s, in, 2, out, 2);
    if (rc)
        fprintf(stderr, "second_run: %s\n", second_last_error(s));
    second_destroy(s);
    return rc;
}

int
main(void)
{
    float h1[8 * 32], p1[32], h1b[8 * 32], p1b[32];
    float h2[5 * 32], p2[32], h2b[5 * 32], p2b[32];
    if (first_input_shape(0)[1] != 8 || second_input_shape(0)[1] != 5) {
        fprintf(stderr, "each library must report its own input shape\n");
        return 1;
    }
    if (run_first(h1, p1) || run_second(h2, p2) || run_first(h1b, p1b) ||
        run_second(h2b, p2b))
        return 1;
    if (memcmp(h1, h1b, sizeof(h1)) || memcmp(h2, h2b, sizeof(h2)) ||
        memcmp(p1, p1b, sizeof(p1)) || memcmp(p2, p2b, sizeof(p2))) {
        fprintf(stderr, "repeated runs differ\n");
        return 1;
    }
    if (memcmp(p1, p2, sizeof(p1)) == 0) {
        fprintf(stderr, "the two models gave the same pooled output\n");
        return 1;
    }
    printf("two models linked and ran: first %s[0]=%.5f, second "
           "%s[0]=%.5f\n",
           first_output_name(1), p1[0], second_output_name(1), p2[0]);
    return 0;
}
