/*
 * classify.c: deeper's C ABI end to end. Builds a network, classifies images, prints the top 5
 * per image. tests/c_programs.rs compiles it with -std=c99 -Wall -Wextra -pedantic -Werror and runs
 * it on LeNet-5's built-in weights; it doubles as the README's C example.
 *
 *     classify NETWORK WEIGHTS|- IMAGE...      ("-": built-in or seeded random weights)
 */
#include "deeper.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what) {
    fprintf(stderr, "error: %s: %s\n", what, deeper_last_error());
    return 1;
}

/* Classifies argc images as one batch on `model`; prints the top 5 of each. */
static int classify(DeeperModel *model, int argc, char **images) {
    uint32_t shape[4];
    if (deeper_model_input_shape(model, shape) != DEEPER_OK) return fail("input shape");
    size_t per_image = (size_t)shape[1] * shape[2] * shape[3];
    uint32_t classes = deeper_model_classes(model);
    float *input = malloc(sizeof(float) * per_image * (size_t)argc);
    float *logits = malloc(sizeof(float) * classes * (size_t)argc);
    int rc = 0;
    if (!input || !logits) { fprintf(stderr, "error: out of memory\n"); rc = 1; goto done; }
    for (int i = 0; i < argc; i++) {
        if (deeper_model_load_image(model, images[i], input + i * per_image, per_image) != DEEPER_OK) {
            rc = fail(images[i]);
            goto done;
        }
    }
    if (deeper_model_run(model, input, per_image * (size_t)argc, logits, (size_t)classes * (size_t)argc) != DEEPER_OK) {
        rc = fail("run");
        goto done;
    }
    for (int i = 0; i < argc; i++) {
        uint32_t index[5];
        float prob[5];
        uint32_t k = classes < 5 ? classes : 5;
        if (deeper_top_k(logits + (size_t)i * classes, classes, k, index, prob) != DEEPER_OK) {
            rc = fail("top_k");
            goto done;
        }
        printf("%s:\n", images[i]);
        for (uint32_t j = 0; j < k; j++)
            printf("  %u. %6.2f%%  %4u  %s\n", j + 1, prob[j] * 100.0, index[j], deeper_label(classes, index[j]));
    }
done:
    free(input);
    free(logits);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s NETWORK WEIGHTS|- IMAGE...\n", argv[0]);
        return 2;
    }
    const char *weights = strcmp(argv[2], "-") == 0 ? NULL : argv[2];
    DeeperGpu *gpu = NULL;
    DeeperModel *model = NULL;
    if (deeper_gpu_open(&gpu) != DEEPER_OK) return fail("gpu");
    printf("deeper %s on %s\n", deeper_version(), deeper_gpu_description(gpu));
    if (deeper_model_new(gpu, argv[1], weights, (uint32_t)(argc - 3), 0, &model) != DEEPER_OK) {
        deeper_gpu_free(gpu);
        return fail(argv[1]);
    }
    deeper_gpu_free(gpu); /* the model keeps the device alive */
    printf("%s, weights: %s\n", argv[1], deeper_model_weights(model));
    int rc = classify(model, argc - 3, argv + 3);
    deeper_model_free(model);
    return rc;
}
