"""Own heads, labels and features, as `deeper run --classes/--labels/--features` has them: a
10-class torchvision ResNet-18 at 64 px (its weight file sets the head; its logits judged against
float64 as test_model.py judges the others), labels in classify, the penultimate layer's output
against PyTorch's with `fc = Identity`, and the errors."""
import copy

import numpy as np
import pytest

import deeper

SIZE = 64


@pytest.fixture(scope="module")
def head10(tmp_path_factory):
    """torchvision's resnet18(num_classes=10) with make_fixtures's random weights: a dict of its
    weight file (metadata: 64 px preprocessing), a batch of 2, PyTorch's float32 and float64
    logits and its penultimate features (`fc = Identity`), and a folder for other files."""
    import make_fixtures
    import safetensors_io
    import torch
    import torchvision

    torch.manual_seed(10)
    model = torchvision.models.resnet18(weights=None, num_classes=10).float().eval()
    make_fixtures.randomise(model, "resnet18", SIZE)
    d = tmp_path_factory.mktemp("head10")
    weights = d / "resnet18-10.safetensors"
    safetensors_io.save(safetensors_io.state_dict_arrays(model.state_dict()), str(weights),
                        {"resize_size": SIZE + 9, "crop_size": SIZE})
    x = torch.randn(2, 3, SIZE, SIZE)
    with torch.no_grad():
        logits = model(x).numpy()
        exact = copy.deepcopy(model).double()(x.double()).numpy()
        model.fc = torch.nn.Identity()
        features = model(x).numpy()
    return {"weights": weights, "x": x.numpy(), "logits": logits, "exact": exact,
            "features": features, "dir": d}


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def labels_file(folder, names):
    path = folder / f"labels{len(names)}.txt"
    path.write_text("\n".join(names) + "\n")
    return path


def test_weight_file_sets_the_head_and_matches_torch(head10):
    m = deeper.Model("resnet18", weights=head10["weights"], batch=2)
    assert m.classes == 10 and m.input_shape == (2, 3, SIZE, SIZE)
    assert m.features is None and m.labels is None
    got = m(head10["x"])
    assert got.dtype == np.float32 and got.shape == (2, 10)
    ours, torch_err = rel(got, head10["exact"]), rel(head10["logits"], head10["exact"])
    bound = max(1e-5, 1.5 * torch_err)
    print(f"resnet18-10@{SIZE}: deeper vs f64 {ours:.2e}, torch f32 vs f64 {torch_err:.2e}")
    assert ours <= bound, f"{ours:.3e} from float64, bound {bound:.3e}"
    assert np.argmax(got, 1).tolist() == np.argmax(head10["logits"], 1).tolist()
    same = deeper.Model("resnet18", weights=head10["weights"], batch=2, classes=10)
    np.testing.assert_array_equal(same(head10["x"]), got)


def test_labels_name_the_classes_in_classify(head10):
    from PIL import Image

    names = [f"kind-{c}" for c in range(10)]
    images = []
    for i in range(3):
        rgb = np.random.default_rng(i).integers(0, 256, (80, 90, 3), dtype=np.uint8)
        images.append(head10["dir"] / f"img{i}.png")
        Image.fromarray(rgb, "RGB").save(images[-1])
    plain = deeper.Model("resnet18", weights=head10["weights"], batch=2)
    named = deeper.Model("resnet18", weights=head10["weights"], batch=2,
                         labels=labels_file(head10["dir"], names))
    assert named.labels == names and named.classes == 10
    want, got = plain.classify(images, top=4), named.classify(images, top=4)
    assert len(got) == 3 and all(len(p) == 4 for p in got)
    for w, g in zip(want, got):
        assert [c for _, c, _ in g] == [c for _, c, _ in w]
        assert [l for l, _, _ in w] == [str(c) for _, c, _ in w]
        assert [l for l, _, _ in g] == [names[c] for _, c, _ in g]
        np.testing.assert_array_equal([p for _, _, p in g], [p for _, _, p in w])


def test_features_are_the_penultimate_layer(head10):
    m = deeper.Model("resnet18", weights=head10["weights"], batch=2, features="flatten")
    assert m.features == "flatten" and m.classes == 10 and "features='flatten'" in repr(m)
    got = m(head10["x"])
    assert got.shape == (2, 512) and got.dtype == np.float32
    err = rel(got, head10["features"])
    print(f"resnet18-10@{SIZE} flatten: rel L2 {err:.2e} from PyTorch")
    assert err < 1e-4
    assert m(head10["x"][1:]).shape == (1, 512)
    with pytest.raises(ValueError, match="classify needs a model built without features="):
        m.classify([b"not read"])
    planes = deeper.Model("resnet18", weights="random", size=32, features="layer4.1.add")
    assert planes(np.zeros((1, 3, 32, 32), np.float32)).shape == (1, 512, 1, 1)


def test_random_weights_take_any_head():
    m = deeper.Model("resnet18", weights="random", size=32, classes=7)
    assert m.classes == 7 and m(np.zeros((1, 3, 32, 32), np.float32)).shape == (1, 7)
    assert deeper.Model("lenet5", classes=10).classes == 10


def one_line(e):
    msg = str(e.value)
    assert msg and "\n" not in msg
    return msg


def test_errors_are_value_errors_with_deepers_message(head10):
    w, d = head10["weights"], head10["dir"]
    with pytest.raises(ValueError) as e:
        deeper.Model("resnet18", weights=w, features="avgpol")
    assert "no layer 'avgpol'" in one_line(e) and "nearest: avgpool" in one_line(e)
    with pytest.raises(ValueError) as e:
        deeper.Model("resnet18", weights=w, labels=labels_file(d, list("abcdefghi")))
    assert "9 labels for a network with 10 classes" in one_line(e)
    with pytest.raises(ValueError) as e:
        deeper.Model("resnet18", weights=w, classes=5)
    assert "has 10 classes, not the 5 asked for" in one_line(e)
    with pytest.raises(ValueError) as e:
        deeper.Model("lenet5", classes=3)
    assert "built-in weights have 10 classes" in one_line(e)
    with pytest.raises(ValueError) as e:
        deeper.Model("resnet18", weights="random", classes=0)
    assert "classes is 0" in one_line(e)
    with pytest.raises(ValueError) as e:
        deeper.Model("resnet18", weights=w, features="flatten",
                     labels=labels_file(d, [str(c) for c in range(10)]))
    assert "give one or the other" in one_line(e)
    with pytest.raises(FileNotFoundError):
        deeper.Model("resnet18", weights=w, labels=d / "missing.txt")
