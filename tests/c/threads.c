/*
 * threads.c: one deeper model shared by several C threads (deeper.h: deeper_model_run may be
 * called on one model from several threads at once). Computes each of K inputs' logits
 * alone first, then runs THREADS threads x RUNS calls on the same model, each call on one of
 * the K inputs, and counts the results that differ bit for bit from the lone call's.
 * tests/c_programs.rs compiles it with -std=c99 -Wall -Wextra -pedantic -Werror -pthread.
 *
 *     threads NETWORK SIZE      (seeded random weights; prints "wrong: N of M")
 */
#define _POSIX_C_SOURCE 200809L
#include "deeper.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { K = 5, THREADS = 4, RUNS = 25 };

static DeeperModel *model;
static size_t in_len, out_len;
static float *inputs[K], *want[K];

/* Deterministic inputs in [-1, 1). */
static void fill(float *x, size_t n, unsigned seed) {
    unsigned s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) / 8388608.0f - 1.0f;
    }
}

static void *worker(void *arg) {
    size_t t = (size_t)arg, wrong = 0;
    float *got = malloc(sizeof(float) * out_len);
    if (!got) return (void *)(size_t)-1;
    for (size_t i = 0; i < RUNS; i++) {
        size_t k = (3 * t + i) % K;
        if (deeper_model_run(model, inputs[k], in_len, got, out_len) != DEEPER_OK) {
            fprintf(stderr, "error: thread %zu: %s\n", t, deeper_last_error());
            wrong++;
        } else if (memcmp(got, want[k], sizeof(float) * out_len) != 0) {
            wrong++;
        }
    }
    free(got);
    return (void *)wrong;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s NETWORK SIZE\n", argv[0]);
        return 2;
    }
    DeeperGpu *gpu = NULL;
    if (deeper_gpu_open(&gpu) != DEEPER_OK) {
        fprintf(stderr, "error: gpu: %s\n", deeper_last_error());
        return 1;
    }
    if (deeper_model_new(gpu, argv[1], NULL, 1, (uint32_t)atoi(argv[2]), &model) != DEEPER_OK) {
        fprintf(stderr, "error: %s: %s\n", argv[1], deeper_last_error());
        return 1;
    }
    deeper_gpu_free(gpu);
    uint32_t shape[4];
    deeper_model_input_shape(model, shape);
    in_len = (size_t)shape[0] * shape[1] * shape[2] * shape[3];
    out_len = deeper_model_classes(model);
    for (unsigned k = 0; k < K; k++) {
        inputs[k] = malloc(sizeof(float) * in_len);
        want[k] = malloc(sizeof(float) * out_len);
        if (!inputs[k] || !want[k]) return 1;
        fill(inputs[k], in_len, k);
        if (deeper_model_run(model, inputs[k], in_len, want[k], out_len) != DEEPER_OK) {
            fprintf(stderr, "error: run: %s\n", deeper_last_error());
            return 1;
        }
    }
    pthread_t threads[THREADS];
    for (size_t t = 0; t < THREADS; t++)
        if (pthread_create(&threads[t], NULL, worker, (void *)t) != 0) return 1;
    size_t wrong = 0;
    for (size_t t = 0; t < THREADS; t++) {
        void *r;
        pthread_join(threads[t], &r);
        wrong += (size_t)r;
    }
    printf("wrong: %zu of %d\n", wrong, THREADS * RUNS);
    deeper_model_free(model);
    for (unsigned k = 0; k < K; k++) {
        free(inputs[k]);
        free(want[k]);
    }
    return wrong == 0 ? 0 : 1;
}
