/*
 * Runs the tiny BERT-like model through its generated API: create a
 * session, feed token ids and a mask, print part of each output.
 */
#include "tiny.h"

#include <stdio.h>

int
main(void)
{
    int64_t ids[8] = {1, 7, 12, 31, 4, 9, 22, 2};
    int64_t mask[8] = {1, 1, 1, 1, 1, 1, 0, 0};
    int64_t in_shape[2] = {1, 8};
    struct onnxc_tensor inputs[2] = {
        {ids, in_shape, 2, ONNXC_INT64},
        {mask, in_shape, 2, ONNXC_INT64},
    };

    float hidden[1 * 8 * 32], pooled[1 * 32];
    struct onnxc_tensor outputs[2] = {
        {hidden, tiny_output_shape(0), tiny_output_rank(0), ONNXC_FLOAT},
        {pooled, tiny_output_shape(1), tiny_output_rank(1), ONNXC_FLOAT},
    };
    if (sizeof(hidden) / sizeof(float) != 8 * 32 ||
        tiny_output_shape(0)[2] != 32) {
        fprintf(stderr, "unexpected output shape\n");
        return 1;
    }

    tiny_session_t *s;
    if (tiny_create(1, &s) != ONNXC_OK) {
        fprintf(stderr, "tiny_create failed\n");
        return 1;
    }
    if (tiny_run(s, inputs, 2, outputs, 2) != ONNXC_OK) {
        fprintf(stderr, "tiny_run failed: %s\n", tiny_last_error(s));
        tiny_destroy(s);
        return 1;
    }
    for (int32_t i = 0; i < tiny_num_outputs(); i++) {
        const float *data = outputs[i].data;
        printf("%s:", tiny_output_name(i));
        for (int k = 0; k < 4; k++)
            printf(" %.5f", data[k]);
        printf(" ...\n");
    }

    /* A wrong input shape is an error with a message, not a crash. */
    int64_t bad_shape[2] = {1, 9};
    inputs[0].shape = bad_shape;
    int rc = tiny_run(s, inputs, 2, outputs, 2);
    printf("wrong shape: status %d: %s\n", rc, tiny_last_error(s));
    tiny_destroy(s);
    return rc == ONNXC_ERR_SHAPE ? 0 : 1;
}
