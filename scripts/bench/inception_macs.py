#!/usr/bin/env python3
"""Multiply-adds of the FID Inception-v3 at 299x299, by kernel shape, and what is left for GEMMs
once the stride-1 layers run through dimr-eval's Winograd kernels.

`dimr-eval bench inception` uses the two totals (its `directMultiplyAdds` and
`winogradGemmMultiplyAdds`) for the speed ceilings it prints. Plain Python, no dependencies:

    python3 scripts/bench/inception_macs.py
"""
from collections import defaultdict

layers = []  # (kernel class, multiply-adds)


def conv(cin, cout, kh, kw, size, stride=1):
    kind = f"{kh}x{kw}" + (" stride 2" if stride == 2 else "")
    layers.append((kind, cin * cout * kh * kw * size * size))


# Stem: 299 → 149 → 147 → 147, max pool → 73, 1x1 and 3x3 → 71, max pool → 35.
conv(3, 32, 3, 3, 149, stride=2)
conv(32, 32, 3, 3, 147)
conv(32, 64, 3, 3, 147)
conv(64, 80, 1, 1, 73)
conv(80, 192, 3, 3, 71)


def mixed_5(cin, pool_features):           # 35x35
    conv(cin, 64, 1, 1, 35)
    conv(cin, 48, 1, 1, 35); conv(48, 64, 5, 5, 35)
    conv(cin, 64, 1, 1, 35); conv(64, 96, 3, 3, 35); conv(96, 96, 3, 3, 35)
    conv(cin, pool_features, 1, 1, 35)


mixed_5(192, 32); mixed_5(256, 64); mixed_5(288, 64)
# Mixed_6a: 35 → 17
conv(288, 384, 3, 3, 17, stride=2)
conv(288, 64, 1, 1, 35); conv(64, 96, 3, 3, 35); conv(96, 96, 3, 3, 17, stride=2)


def mixed_6(c7):                           # 17x17
    conv(768, 192, 1, 1, 17)
    conv(768, c7, 1, 1, 17); conv(c7, c7, 1, 7, 17); conv(c7, 192, 7, 1, 17)
    conv(768, c7, 1, 1, 17); conv(c7, c7, 7, 1, 17); conv(c7, c7, 1, 7, 17)
    conv(c7, c7, 7, 1, 17); conv(c7, 192, 1, 7, 17)
    conv(768, 192, 1, 1, 17)


for c7 in (128, 160, 160, 192):
    mixed_6(c7)
# Mixed_7a: 17 → 8
conv(768, 192, 1, 1, 17); conv(192, 320, 3, 3, 8, stride=2)
conv(768, 192, 1, 1, 17); conv(192, 192, 1, 7, 17); conv(192, 192, 7, 1, 17); conv(192, 192, 3, 3, 8, stride=2)


def mixed_7(cin):                          # 8x8
    conv(cin, 320, 1, 1, 8)
    conv(cin, 384, 1, 1, 8); conv(384, 384, 1, 3, 8); conv(384, 384, 3, 1, 8)
    conv(cin, 448, 1, 1, 8); conv(448, 384, 3, 3, 8); conv(384, 384, 1, 3, 8); conv(384, 384, 3, 1, 8)
    conv(cin, 192, 1, 1, 8)


mixed_7(1280); mixed_7(2048)

# GEMM multiplies per output pixel: direct kernel taps vs the Winograd tile's points per output.
winograd = {  # kind: (direct taps, points / outputs per tile)
    "3x3": (9, 36 / 16),   # F(4x4, 3x3)
    "5x5": (25, 64 / 16),  # F(4x4, 5x5)
    "1x7": (7, 12 / 6), "7x1": (7, 12 / 6),   # F(6, 7)
    "1x3": (3, 6 / 4), "3x1": (3, 6 / 4),     # F(4, 3)
}
by_kind = defaultdict(int)
for kind, macs in layers:
    by_kind[kind] += macs
total = sum(by_kind.values())
left = 0.0
print(f"{'kernel':12s} {'direct GMAC':>12s} {'share':>6s} {'GEMM GMAC':>10s}")
for kind, macs in sorted(by_kind.items(), key=lambda item: -item[1]):
    gemm = macs / winograd[kind][0] * winograd[kind][1] if kind in winograd else macs
    left += gemm
    print(f"{kind:12s} {macs / 1e9:12.3f} {100 * macs / total:5.1f}% {gemm / 1e9:10.3f}")
print(f"direct multiply-adds per image:            {total}")
print(f"GEMM multiply-adds left after Winograd:    {round(left)}")
