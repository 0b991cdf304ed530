"""Batch inference over many images with deeper and Ray Data: files (a directory, or URIs that
pyarrow can read: s3://, gs://, …) -> Ray Data -> one deeper model per actor (one actor per GPU)
-> the top-k labels of every image, written to Parquet.

It runs unchanged on a laptop (Ray starts locally) and on a Ray cluster (--address, or the
RAY_ADDRESS environment variable). When Ray sees GPUs, each actor asks for one (num_gpus=1) and
there are as many actors as GPUs; with none (a CPU-only machine: llvmpipe is not a GPU to Ray)
the actors ask for no GPU and --actors sets how many run.

  pip install deeper "ray[data]" pyarrow         (deeper: `maturin build --release` in python/)
  python examples/ray_batch_inference.py data/digits --net lenet5 --out digits.parquet
  python examples/ray_batch_inference.py s3://bucket/photos --net resnet50 \
      --weights resnet50.safetensors --batch 16 --out s3://bucket/labels --address auto

Output columns: path, label (the top-1 label), top_labels, top_classes, top_probs (lists, best
first). The images are decoded and preprocessed by deeper, exactly as `deeper run` does.
"""

import argparse
import logging
import sys
import time

import ray

IMAGE_EXTENSIONS = ["png", "jpg", "jpeg", "PNG", "JPG", "JPEG"]


class Classifier:
    """One deeper model per actor, compiled once; called on batches of encoded images."""

    def __init__(self, net, weights, batch, top):
        import deeper

        self.model = deeper.Model(net, weights=weights, batch=batch)
        self.top = top

    def __call__(self, batch):
        preds = self.model.classify(list(batch["bytes"]), top=self.top)
        return {
            "path": batch["path"],
            "label": [p[0][0] for p in preds],
            "top_labels": [[q[0] for q in p] for p in preds],
            "top_classes": [[q[1] for q in p] for p in preds],
            "top_probs": [[q[2] for q in p] for p in preds],
        }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", nargs="+", help="image files, directories or URIs")
    ap.add_argument("--net", default="lenet5", help="network name (deeper.NETWORKS)")
    ap.add_argument("--weights", default=None, help="safetensors file (lenet5: built in)")
    ap.add_argument("--batch", type=int, default=8, help="images per model call")
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("--out", required=True, help="Parquet output directory (or URI)")
    ap.add_argument("--address", default=None, help="Ray cluster address (default: local)")
    ap.add_argument("--actors", type=int, default=None,
                    help="model actors (default: one per GPU Ray sees, else 1)")
    ap.add_argument("--actor-cpus", type=float, default=1.0, help="CPUs each actor reserves")
    a = ap.parse_args(argv)

    ray.init(address=a.address, ignore_reinit_error=True, log_to_driver=False,
             logging_level=logging.WARNING)
    ray.data.DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    gpus = int(ray.cluster_resources().get("GPU", 0))
    actors = a.actors or max(gpus, 1)
    num_gpus = 1 if gpus > 0 else 0
    print(f"ray: {gpus} GPU(s) visible; {actors} actor(s), num_gpus={num_gpus} each",
          flush=True)

    start = time.time()
    ds = ray.data.read_binary_files(a.inputs, include_paths=True,
                                    file_extensions=IMAGE_EXTENSIONS)
    ds = ds.map_batches(
        Classifier,
        fn_constructor_kwargs={"net": a.net, "weights": a.weights, "batch": a.batch,
                               "top": a.top},
        batch_size=a.batch,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_gpus=num_gpus,
        num_cpus=a.actor_cpus,
    )
    ds.write_parquet(a.out)
    seconds = time.time() - start
    n = ray.data.read_parquet(a.out).count()
    print(f"{n} images in {seconds:.1f} s: {n / seconds:.1f} images/s with {actors} "
          f"actor(s) -> {a.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
