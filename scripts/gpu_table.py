"""One markdown table of deeper beside PyTorch: end-to-end milliseconds per network and batch
and the ratio PyTorch time / deeper time (1.0x = as fast as PyTorch; above 1, deeper is
faster), from the raw documents of a gpu-check run.

    python3 scripts/gpu_table.py [--header "text"] FILE... > table.md

Each FILE may hold any number of JSON documents, one after another: `deeper bench <net>
--json` documents, `deeper bench all --json` documents (`{"networks": [...]}`) and
scripts/torch_bench.py lines (`"framework": "pytorch"`). A later document for the same
network and batch replaces an earlier one; missing measurements show as a dash. Standard
library only (no torch needed).
"""
import argparse
import json
import math
import sys


def documents(text):
    """Every JSON document in `text`, in order (pretty-printed ones included)."""
    dec = json.JSONDecoder()
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return
        doc, i = dec.raw_decode(text, i)
        yield doc


def rows(doc):
    """(framework, row) pairs of one document."""
    if isinstance(doc, dict) and isinstance(doc.get("networks"), list):
        for n in doc["networks"]:
            yield "deeper", n
    elif isinstance(doc, dict) and doc.get("framework") == "pytorch":
        yield "pytorch", doc
    elif isinstance(doc, dict) and "network" in doc and "end_to_end_ms" in doc:
        yield "deeper", doc


def load(paths):
    """{framework: {(network, batch): row}}, the networks in first-seen order, the devices."""
    data = {"deeper": {}, "pytorch": {}}
    order, devices = [], {"deeper": set(), "pytorch": set()}
    for path in paths:
        with open(path) as f:
            text = f.read()
        try:
            docs = list(documents(text))
        except json.JSONDecodeError as e:
            print(f"gpu_table: {path}: {e} (the documents before it are used)", file=sys.stderr)
            docs = []
            for d in documents(text[: e.pos]):
                docs.append(d)
        for doc in docs:
            for fw, r in rows(doc):
                data[fw][(r["network"], r["batch"])] = r
                devices[fw].add(r.get("device", "?"))
                if r["network"] not in order:
                    order.append(r["network"])
    return data, order, devices


def ms(v):
    return "—" if v is None else (f"{v:.2f}" if v < 100 else f"{v:.0f}")


def table(data, order, devices, header=None):
    batches = sorted({b for fw in data.values() for (_, b) in fw})
    out = []
    if header:
        out += [header, ""]
    out.append(f"deeper: {', '.join(sorted(devices['deeper'])) or '—'}; "
               f"PyTorch: {', '.join(sorted(devices['pytorch'])) or '—'}. End to end (host input "
               "to logits on the host), median ms; ratio = PyTorch ms / deeper ms (1.0x = as "
               "fast as PyTorch, above 1 deeper is faster).")
    out.append("")
    cols = ["network"]
    for b in batches:
        cols += [f"PyTorch b{b}", f"deeper b{b}", f"ratio b{b}"]
    out.append("| " + " | ".join(cols) + " |")
    out.append("|---|" + "---:|" * (len(cols) - 1))
    ratios = {b: [] for b in batches}
    for net in order:
        cells = [net]
        for b in batches:
            t = data["pytorch"].get((net, b), {}).get("end_to_end_ms")
            d = data["deeper"].get((net, b), {}).get("end_to_end_ms")
            r = t / d if t and d else None
            if r:
                ratios[b].append(r)
            cells += [ms(t), ms(d), "—" if r is None else f"{r:.2f}×"]
        out.append("| " + " | ".join(cells) + " |")
    cells = ["geometric mean"]
    for b in batches:
        g = math.exp(sum(map(math.log, ratios[b])) / len(ratios[b])) if ratios[b] else None
        cells += ["", "", "—" if g is None else f"{g:.2f}×"]
    out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--header", help="a line (or paragraph) printed above the table")
    a = ap.parse_args()
    data, order, devices = load(a.files)
    if not order:
        sys.exit("gpu_table: no measurements in " + ", ".join(a.files))
    sys.stdout.write(table(data, order, devices, a.header))


if __name__ == "__main__":
    main()
