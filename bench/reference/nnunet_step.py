"""Time nnU-Net v2 training steps on this machine: the 3d_fullres network of a planned dataset
(its nnUNetPlans.json), deep supervision on, one step = forward, loss, backward and an SGD
step on a batch of the plan's size and patch, as nnUNetTrainer runs them (without data
augmentation, which nnU-Net runs in other processes). Prints one line
`RESULT nnunet-step ... seconds_per_step=S`, the median of the timed steps after one warm-up.

  .venv/bin/python bench/reference/nnunet_step.py PLANS.json --threads 2 --steps 3
"""
import argparse
import statistics
import time

import torch
from nnunetv2.utilities.get_network_from_plans import get_network_from_plans
from nnunetv2.utilities.plans_handling.plans_handler import PlansManager


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("plans")
    ap.add_argument("--configuration", default="3d_fullres")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--heads", type=int, default=3, help="output channels: background, artery, vein")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cm = PlansManager(a.plans).get_configuration(a.configuration)
    net = get_network_from_plans(cm.network_arch_class_name, cm.network_arch_init_kwargs,
                                 cm.network_arch_init_kwargs_req_import, 1, a.heads,
                                 allow_init=True, deep_supervision=True)
    opt = torch.optim.SGD(net.parameters(), lr=1e-2, momentum=0.99, nesterov=True)
    x = torch.randn(cm.batch_size, 1, *cm.patch_size)
    times = []
    for step in range(a.steps + 1):
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        outputs = net(x)
        loss = sum(o.float().square().mean() for o in outputs)
        loss.backward()
        opt.step()
        if step > 0:
            times.append(time.perf_counter() - t)
    params = sum(p.numel() for p in net.parameters())
    print(f"RESULT nnunet-step configuration={a.configuration} batch={cm.batch_size} "
          f"patch={'x'.join(map(str, cm.patch_size))} parameters={params} threads={a.threads} "
          f"steps={len(times)} seconds_per_step={statistics.median(times):.2f}")


if __name__ == "__main__":
    main()
