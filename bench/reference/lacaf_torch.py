"""PyTorch eager counterpart of pavseg's fusion network, for timing and golden values.

pavseg's network (src/model/) written in plain PyTorch with the same state_dict names: a
3-D U-Net backbone (CLIP-Driven Universal Model layout), per-class text adapters with
self-attention across classes, an image adapter, cross-attention (Q from text, K from text +
image, V from image) and a controller that generates three 1x1x1 convolutions per class.
Weights are random: this measures the cost of the architecture, it segments nothing.

Modes (each prints one line `RESULT <mode> <seconds> s key=value ...`, the median of --reps
timed runs after one untimed warm-up):
  window   one forward pass of a --size^3 window, batch 1, no_grad, eval mode
  train    one training step: forward, 1/2 (soft Dice + BCE), backward, AdamW (lr 8e-4, wd 1e-5)
  sliding  MONAI sliding_window_inference over a --shape volume (Gaussian blending)
  flops    the arithmetic of one --size^3 forward pass, counted by torch's FlopCounterMode
           (a multiply-add counts 2); prints `RESULT flops <GFLOP> GFLOP ...`

Match --base, --norm, --text-dim and --fusion-residual to pavseg's network before comparing;
`pavseg bench infer` and `pavseg bench train` pass them.
Example: .venv/bin/python bench/reference/lacaf_torch.py window --size 96 --threads 2
"""
import argparse
import statistics
import time

import torch
from torch import nn
from torch.nn import functional as F

# Dynamic head: 8 -> 8 -> 8 -> 1 channels, weights then biases (153 numbers per class).
HEAD = 8
HEAD_SPLIT = (HEAD * HEAD, HEAD * HEAD, HEAD, HEAD, HEAD, 1)


def norm_layer(kind, channels):
    if kind == "instance":
        return nn.InstanceNorm3d(channels, affine=True)
    return nn.BatchNorm3d(channels)


def conv_norm_relu(cin, cout, norm):
    """`<i>.0` conv 3x3x3, `<i>.1` norm, then ReLU (no parameters)."""
    return nn.Sequential(nn.Conv3d(cin, cout, 3, padding=1), norm_layer(norm, cout), nn.ReLU(inplace=True))


def two_convs(cin, mid, cout, norm):
    return nn.Sequential(conv_norm_relu(cin, mid, norm), conv_norm_relu(mid, cout, norm))


class Backbone(nn.Module):
    """Four encoder stages (the last at 1/8 resolution, 16 x base channels) and three decoder
    stages with transposed-conv upsampling and skip connections, ending at 2 x base channels."""

    def __init__(self, in_ch, base, norm):
        super().__init__()
        enc_widths = [(in_ch, base, 2 * base), (2 * base, 2 * base, 4 * base),
                      (4 * base, 4 * base, 8 * base), (8 * base, 8 * base, 16 * base)]
        self.enc = nn.ModuleList(two_convs(a, b, c, norm) for a, b, c in enc_widths)
        up_widths = [16 * base, 8 * base, 4 * base]
        self.up = nn.ModuleList(nn.ConvTranspose3d(c, c, 2, stride=2) for c in up_widths)
        skip_widths = [8 * base, 4 * base, 2 * base]
        self.dec = nn.ModuleList(two_convs(u + s, s, s, norm) for u, s in zip(up_widths, skip_widths))

    def forward(self, x):
        skips = []
        for stage in self.enc[:-1]:
            x = stage(x)
            skips.append(x)
            x = F.max_pool3d(x, 2)
        deep = self.enc[-1](x)
        x = deep
        for up, dec in zip(self.up, self.dec):
            x = dec(torch.cat([up(x), skips.pop()], dim=1))
        return deep, x


class TextAdapter(nn.Module):
    """Bottleneck MLP D -> D/r -> D with a LayerNorm (one embedding has no batch to normalise)."""

    def __init__(self, dim, ratio):
        super().__init__()
        self.down = nn.Linear(dim, dim // ratio)
        self.up = nn.Linear(dim // ratio, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, t):
        return self.norm(self.up(F.relu(self.down(t))))


class Lacaf(nn.Module):
    def __init__(self, in_ch=2, classes=4, text_dim=384, base=32, norm="instance", heads=8, ratio=4,
                 groups=16, fusion_residual=False):
        super().__init__()
        self.classes, self.fusion_residual = classes, fusion_residual
        self.backbone = Backbone(in_ch, base, norm)
        # The frozen prompt embeddings (pavseg keeps them in the plugin's embeddings file).
        self.register_buffer("text", torch.randn(classes, text_dim))
        self.text_adapters = nn.ModuleList(TextAdapter(text_dim, ratio) for _ in range(classes))
        self.text_self_attn = nn.MultiheadAttention(text_dim, heads, batch_first=True)
        deep = 16 * base
        self.image_adapter = nn.Sequential(nn.GroupNorm(groups, deep), nn.ReLU(), nn.AdaptiveAvgPool3d(1),
                                           nn.Flatten(), nn.Linear(deep, text_dim))
        self.q = nn.Linear(text_dim, text_dim)
        self.k = nn.Linear(text_dim, text_dim)
        self.v = nn.Linear(text_dim, text_dim)
        self.controller = nn.Sequential(nn.Linear(text_dim, text_dim), nn.ReLU(),
                                        nn.Linear(text_dim, sum(HEAD_SPLIT)))
        self.precls = nn.Sequential(nn.GroupNorm(groups, 2 * base), nn.ReLU(), nn.Conv3d(2 * base, HEAD, 1))

    def head_parameters(self, deep):
        """Controller output per (window, class): B x K x 153."""
        ht = torch.stack([adapter(t) for adapter, t in zip(self.text_adapters, self.text)])[None]
        ht = ht + self.text_self_attn(ht, ht, ht, need_weights=False)[0]
        b = deep.shape[0]
        hv = self.image_adapter(deep)[:, None, :].expand(b, self.classes, -1)
        ht = ht.expand(b, -1, -1)
        scores = self.q(ht) @ self.k(ht + hv).transpose(1, 2) / ht.shape[-1] ** 0.5
        fused = scores.softmax(-1) @ self.v(hv)
        if self.fusion_residual:
            fused = fused + ht
        return self.controller(fused)

    def forward(self, x):
        deep, dec = self.backbone(x)
        params = self.head_parameters(deep)
        b, k = params.shape[:2]
        w1, w2, w3, b1, b2, b3 = params.split(HEAD_SPLIT, dim=2)
        spatial = dec.shape[2:]
        # All windows and classes as groups of one grouped convolution per layer.
        f = self.precls(dec).reshape(1, b * HEAD, *spatial)
        f = F.relu(F.conv3d(f, w1.reshape(b * k * HEAD, HEAD, 1, 1, 1), b1.reshape(-1), groups=b))
        f = F.relu(F.conv3d(f, w2.reshape(b * k * HEAD, HEAD, 1, 1, 1), b2.reshape(-1), groups=b * k))
        f = F.conv3d(f, w3.reshape(b * k, HEAD, 1, 1, 1), b3.reshape(-1), groups=b * k)
        return f.reshape(b, k, *spatial)


def dice_bce(logits, target):
    """1/2 (mean soft Dice loss over window and class + BCE with logits), smoothing 1."""
    prob = torch.sigmoid(logits)
    dims = (2, 3, 4)
    dice = 1 - (2 * (prob * target).sum(dims) + 1) / (prob.sum(dims) + target.sum(dims) + 1)
    return 0.5 * (dice.mean() + F.binary_cross_entropy_with_logits(logits, target))


def median_seconds(fn, reps, device):
    def once():
        t = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - t

    once()
    return statistics.median(once() for _ in range(max(1, reps)))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["window", "train", "sliding", "flops"])
    p.add_argument("--size", type=int, default=96, help="window / patch side in voxels")
    p.add_argument("--batch", type=int, default=2, help="patches per training step")
    p.add_argument("--in-ch", type=int, default=2)
    p.add_argument("--classes", type=int, default=4)
    p.add_argument("--text-dim", type=int, default=384)
    p.add_argument("--base", type=int, default=32, help="base width (32 = the paper's network)")
    p.add_argument("--norm", choices=["instance", "batch"], default="instance")
    p.add_argument("--fusion-residual", action="store_true", help="H_f = H_t^a + AV (pavseg's default)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--shape", type=int, nargs=3, default=[300, 512, 512], help="sliding: volume k j i")
    p.add_argument("--overlap", type=float, default=0.5)
    p.add_argument("--device", default="cpu")
    return p.parse_args()


def main():
    a = parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    device = torch.device(a.device)
    net = Lacaf(a.in_ch, a.classes, a.text_dim, a.base, a.norm, fusion_residual=a.fusion_residual).to(device)
    n_params = sum(p.numel() for p in net.parameters())
    s = a.size
    common = f"params={n_params} threads={a.threads} device={device.type}"
    if a.mode == "window":
        net.eval()
        x = torch.randn(1, a.in_ch, s, s, s, device=device)
        with torch.no_grad():
            sec = median_seconds(lambda: net(x), a.reps, device)
        print(f"RESULT window {sec:.3f} s size={s} {common}")
    elif a.mode == "flops":
        from torch.utils.flop_counter import FlopCounterMode

        net.eval()
        x = torch.randn(1, a.in_ch, s, s, s, device=device)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            net(x)
        print(f"RESULT flops {counter.get_total_flops() / 1e9:.3f} GFLOP size={s} {common}")
    elif a.mode == "train":
        net.train()
        opt = torch.optim.AdamW(net.parameters(), lr=8e-4, weight_decay=1e-5)
        x = torch.randn(a.batch, a.in_ch, s, s, s, device=device)
        y = (torch.rand(a.batch, a.classes, s, s, s, device=device) > 0.95).float()

        def step():
            opt.zero_grad(set_to_none=True)
            dice_bce(net(x), y).backward()
            opt.step()

        sec = median_seconds(step, a.reps, device)
        print(f"RESULT train {sec:.3f} s batch={a.batch} size={s} {common}")
    else:
        from monai.inferers import sliding_window_inference

        net.eval()
        x = torch.randn(1, a.in_ch, *a.shape, device=device)
        with torch.no_grad():
            sec = median_seconds(lambda: sliding_window_inference(x, (s, s, s), 1, net, overlap=a.overlap,
                                                                  mode="gaussian"), a.reps, device)
        shape = ",".join(map(str, a.shape))
        print(f"RESULT sliding {sec:.3f} s shape={shape} window={s} overlap={a.overlap} {common}")


if __name__ == "__main__":
    main()
