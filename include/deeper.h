/*
 * deeper.h: the C ABI of deeper (the classic convolutional networks on any GPU).
 *
 * Link with the library `cargo build --release` writes: target/release/libdeeper.so (Linux),
 * libdeeper.dylib (macOS), deeper.dll (Windows), e.g.
 *     cc -std=c99 app.c -Iinclude -Ltarget/release -ldeeper -Wl,-rpath,$PWD/target/release
 *
 * Every function that can fail returns a DeeperStatus; after a failure, deeper_last_error()
 * gives a one-line message (kept per thread until the next call). Nothing aborts the caller.
 * The functions that cannot fail return other types: strings (deeper_version, deeper_last_error,
 * deeper_label; deeper_gpu_description, deeper_model_weights, deeper_model_unexpected_keys,
 * which are NULL for a NULL handle), a count (deeper_model_classes, 0 for a NULL handle), or
 * nothing (deeper_gpu_free, deeper_model_free).
 * Handles are freed by their *_free function; a model keeps its GPU alive, so GPU and model
 * handles can be freed in any order. Tensors are float32, NCHW, contiguous. The definitions are
 * in src/ffi/.
 *
 * Threads: every function may be called from any thread. deeper_model_run may be called on ONE
 * model from several threads at once: each call runs on an execution context of its own (its
 * activation buffers; the weights are shared), at most 4 at a time (more callers wait), and
 * returns exactly what a lone call would. Free a handle only when no call on it is running.
 *
 * Waits: no call waits for the GPU without end. A wait longer than DEEPER_TIMEOUT seconds
 * (environment, read by deeper_gpu_open; default 60, 600 on a software adapter such as
 * llvmpipe) returns DEEPER_ERROR_TIMEOUT; a GPU that is lost (reset, removed) makes every
 * later call on it return DEEPER_ERROR_DEVICE_LOST; open a new GPU and model to go on.
 */
#ifndef DEEPER_H
#define DEEPER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum DeeperStatus {
    DEEPER_OK = 0,
    /* A NULL pointer, a string that is not UTF-8, a buffer of the wrong length. */
    DEEPER_ERROR_INVALID_ARGUMENT = 1,
    /* The library refused: unknown network, missing weight, no adapter, device limit, ... */
    DEEPER_ERROR = 2,
    /* An internal bug, caught before it crossed into C. */
    DEEPER_ERROR_PANIC = 3,
    /* The GPU device was lost (reset, removed, driver crash): open a new GPU and model. */
    DEEPER_ERROR_DEVICE_LOST = 4,
    /* A wait for the GPU (or for a free execution context) ran past its limit. */
    DEEPER_ERROR_TIMEOUT = 5
} DeeperStatus;

/* An open GPU: adapter, device, queue, pipeline cache. */
typedef struct DeeperGpu DeeperGpu;
/* A network compiled for one GPU at a fixed batch and input size, with its preprocessing. */
typedef struct DeeperModel DeeperModel;

/* The library version, e.g. "0.1.0" (static). */
const char *deeper_version(void);

/* The message of the last call on this thread that returned a DeeperStatus: "" if it
 * returned DEEPER_OK, except after a deeper_model_new whose weight file has keys the network
 * does not ("warning: N unexpected key(s) ignored: ..."). Valid until the next such call on
 * this thread. */
const char *deeper_last_error(void);

/* Opens the GPU deeper would pick (the environment variables DEEPER_BACKEND and
 * DEEPER_ADAPTER choose, as for the CLI). */
DeeperStatus deeper_gpu_open(DeeperGpu **out);

/* The adapter in one line (name, backend, driver); owned by gpu. NULL if gpu is NULL. */
const char *deeper_gpu_description(const DeeperGpu *gpu);

/* Frees a GPU handle (NULL is ignored). Models built on it stay valid. */
void deeper_gpu_free(DeeperGpu *gpu);

/* Builds `network` (lenet5, alexnet, alexnet-paper, vgg11, vgg13, vgg16, vgg19, vgg16-bn,
 * vgg19-bn, resnet18, resnet34, resnet50, resnet101, resnet152, nin, googlenet,
 * googlenet-paper), loads `weights` (a safetensors file, e.g. from
 * scripts/export_torchvision.py; NULL = the built-in trained weights for lenet5, seeded random
 * weights for the others) and compiles it on `gpu` for `batch` images of size x size pixels
 * (0 = what the network's preprocessing produces: 224, 227 for alexnet-paper, 32 for lenet5,
 * or the weight file's crop_size). Each convolution and linear layer runs the kernel cached
 * for this device and layer shape, else on a discrete or integrated GPU the fastest one timed
 * now (a few seconds once, one progress line on stderr, then cached), else (a CPU adapter
 * such as llvmpipe) the selection rule; DEEPER_AUTOTUNE=1 tunes on any adapter,
 * DEEPER_AUTOTUNE=0 never (the rule), any other value fails with DEEPER_ERROR. Keys of the
 * weight file that the network does not have are ignored with a warning: the call returns
 * DEEPER_OK and deeper_last_error() holds the warning (deeper_model_unexpected_keys lists
 * them); with DEEPER_MODEL_STRICT (deeper_model_new_ex) they are an error. */
DeeperStatus deeper_model_new(const DeeperGpu *gpu, const char *network, const char *weights,
                              uint32_t batch, uint32_t size, DeeperModel **out);

/* Flags of deeper_model_new_ex. */
typedef enum DeeperModelFlags {
    /* Refuse (DEEPER_ERROR, the keys in the message) a weight file with keys the network does
     * not have, as `deeper run --strict` does, instead of ignoring them with a warning. */
    DEEPER_MODEL_STRICT = 1
} DeeperModelFlags;

/* deeper_model_new with `flags`: 0 or DEEPER_MODEL_STRICT (other bits: invalid argument). */
DeeperStatus deeper_model_new_ex(const DeeperGpu *gpu, const char *network, const char *weights,
                                 uint32_t batch, uint32_t size, uint32_t flags,
                                 DeeperModel **out);

/* The model's input shape [N, C, H, W] into shape[0..3]. */
DeeperStatus deeper_model_input_shape(const DeeperModel *model, uint32_t shape[4]);

/* Outputs per image: 1000 for the ImageNet networks, 10 for lenet5 (0 if model is NULL). */
uint32_t deeper_model_classes(const DeeperModel *model);

/* Where the weights came from: the file's path, "built-in (lenet5)", or "random(SEED)" (random
 * weights: the predictions mean nothing). Owned by model; NULL if model is NULL. */
const char *deeper_model_weights(const DeeperModel *model);

/* The keys of the weight file that the network does not have (ignored), comma-separated and
 * sorted; "" when none. Owned by model; NULL if model is NULL. */
const char *deeper_model_unexpected_keys(const DeeperModel *model);

/* Decodes a PNG or JPEG image and preprocesses it as the network expects (torchvision's
 * resize, centre crop and normalisation; grayscale 28 -> 32 for lenet5) into one sample of
 * len = C*H*W floats. Fails if the image does not preprocess to the model's input size. */
DeeperStatus deeper_model_load_image(const DeeperModel *model, const char *path,
                                     float *sample, size_t len);

/* Runs the network: input_len = N*C*H*W floats in, logits_len = N*classes floats out.
 * torchvision's GoogLeNet transform_input is applied when the weight file asks for it.
 * May be called on one model from several threads at once (see "Threads" above). */
DeeperStatus deeper_model_run(const DeeperModel *model, const float *input, size_t input_len,
                              float *logits, size_t logits_len);

/* Frees a model (NULL is ignored) and returns its GPU memory at once. */
void deeper_model_free(DeeperModel *model);

/* The k most probable of one image's `classes` logits, best first: class indices into
 * index[0..k-1], softmax probabilities into prob[0..k-1]; needs 1 <= k <= classes. */
DeeperStatus deeper_top_k(const float *logits, size_t classes, uint32_t k, uint32_t *index,
                          float *prob);

/* The label of class `index` of a network with `classes` outputs: ImageNet's class names for
 * 1000, the number otherwise, e.g. lenet5's digits (static). NULL when index >= classes, or
 * (other than 1000 classes) index >= 4096. */
const char *deeper_label(uint32_t classes, uint32_t index);

#ifdef __cplusplus
}
#endif

#endif /* DEEPER_H */
